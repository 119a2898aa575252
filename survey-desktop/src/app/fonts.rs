//! Chinese text: "Noto Sans CJK SC" loaded from the system (Debian `fonts-noto-cjk`).
//!
//! The face is chosen by name, not left to automatic fallback, which may pick the
//! Japanese face of the same collection and draw some characters in Japanese forms.

use egui::{FontData, FontDefinitions, FontFamily};

/// Families tried in order.
const FAMILIES: &[&str] =
    &["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimHei", "WenQuanYi Micro Hei"];

/// The CJK font found: its bytes, face index and where it came from.
pub struct CjkFont {
    /// Font file contents.
    pub data: Vec<u8>,
    /// Face index within a collection (.ttc).
    pub index: u32,
    /// Family and file, for the log.
    pub description: String,
}

/// Environment variable naming a font file to use instead of the search below;
/// `none` withholds every CJK font (the screenshot test shows what users without
/// one see: boxes instead of Chinese glyphs).
pub const FONT_ENV: &str = "SURVEY_DESKTOP_CJK_FONT";

/// Find a Simplified Chinese font on this system.
pub fn find_cjk_font() -> Option<CjkFont> {
    if let Some(chosen) = std::env::var_os(FONT_ENV) {
        if chosen == "none" {
            return None;
        }
        let path = std::path::PathBuf::from(chosen);
        let data = std::fs::read(&path).ok()?;
        return Some(CjkFont { data, index: 0, description: format!("from {} ({FONT_ENV})", path.display()) });
    }
    let mut db = fontdb::Database::new();
    // The Debian path first: scanning every system font costs a noticeable start-up delay.
    let debian = std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    if debian.is_file() {
        let _ = db.load_font_file(debian);
    }
    if db.is_empty() {
        db.load_system_fonts();
    }
    for family in FAMILIES {
        let query = fontdb::Query {
            families: &[fontdb::Family::Name(family)],
            weight: fontdb::Weight::NORMAL,
            ..fontdb::Query::default()
        };
        let Some(id) = db.query(&query) else { continue };
        let Some((source, index)) = db.face_source(id) else { continue };
        let (data, path) = match source {
            fontdb::Source::File(path) => match std::fs::read(&path) {
                Ok(d) => (d, path.display().to_string()),
                Err(_) => continue,
            },
            fontdb::Source::Binary(b) | fontdb::Source::SharedFile(_, b) => ((*b).as_ref().to_vec(), "memory".into()),
        };
        return Some(CjkFont { data, index, description: format!("{family} (face {index}) from {path}") });
    }
    None
}

/// Install the CJK font after egui's default fonts. Returns a message for the status
/// bar when none was found (Chinese then shows as empty boxes).
pub fn install(ctx: &egui::Context) -> Result<String, String> {
    let mut fonts = FontDefinitions::default();
    let Some(font) = find_cjk_font() else {
        return Err("no Chinese font found: install fonts-noto-cjk (Debian) or Noto Sans CJK SC; Chinese text shows as boxes / 未找到中文字体".into());
    };
    let mut data = FontData::from_owned(font.data);
    data.index = font.index;
    fonts.font_data.insert("cjk".into(), std::sync::Arc::new(data));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts.families.entry(family).or_default().push("cjk".into());
    }
    ctx.set_fonts(fonts);
    Ok(font.description)
}
