//! The CJK font of printed sheets: read from the system at run time (never
//! bundled), embedded subsetted by krilla, measured with skrifa for layout.

use super::PrintError;
use skrifa::{instance::LocationRef, instance::Size, MetadataProvider};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where Debian's `fonts-noto-cjk` puts Noto Sans CJK.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// Face of the collection with Simplified Chinese glyph forms (JP 0, KR 1, SC 2, TC 3, HK 4).
pub const DEFAULT_FACE: u32 = 2;

/// A loaded font: the file's bytes, the face index, and the krilla handle.
#[derive(Clone)]
pub struct PrintFont {
    data: Arc<Vec<u8>>,
    index: u32,
    pub(crate) font: krilla::text::Font,
    path: PathBuf,
}

impl std::fmt::Debug for PrintFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrintFont({}, face {})", self.path.display(), self.index)
    }
}

impl PrintFont {
    /// Noto Sans CJK SC from [`DEFAULT_FONT`].
    pub fn system_default() -> Result<Self, PrintError> {
        Self::load(Path::new(DEFAULT_FONT), DEFAULT_FACE)
    }

    /// A font file (TTF/OTF, or a TTC/OTC collection with the face `index`).
    /// The font must have Chinese glyphs.
    pub fn load(path: &Path, index: u32) -> Result<Self, PrintError> {
        let bytes = std::fs::read(path).map_err(|e| PrintError::Font {
            path: path.to_path_buf(),
            reason: if e.kind() == std::io::ErrorKind::NotFound {
                "not found; install Noto Sans CJK (Debian: apt-get install fonts-noto-cjk) or pass --font FILE"
                    .to_string()
            } else {
                e.to_string()
            },
        })?;
        let data = Arc::new(bytes);
        let bad = |reason: &str| PrintError::Font { path: path.to_path_buf(), reason: reason.to_string() };
        let face = skrifa::FontRef::from_index(data.as_slice(), index)
            .map_err(|_| bad(&format!("not a font file, or it has no face {index}")))?;
        if ["宗", "地", "图", "面", "积"].iter().any(|c| c.chars().any(|ch| face.charmap().map(ch).is_none())) {
            return Err(bad("the font has no Chinese glyphs (use a CJK font such as Noto Sans CJK)"));
        }
        let font = krilla::text::Font::new(krilla::Data::from(data.clone()), index)
            .ok_or_else(|| bad("krilla cannot read this font"))?;
        Ok(PrintFont { data, index, font, path: path.to_path_buf() })
    }

    /// Width of `text` set at `size` (any unit: the result is in the same unit).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(face) = skrifa::FontRef::from_index(self.data.as_slice(), self.index) else { return 0.0 };
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars().map(|c| charmap.map(c).and_then(|g| metrics.advance_width(g)).unwrap_or(size * 0.5)).sum()
    }
}
