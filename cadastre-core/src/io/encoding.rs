//! DBF text encodings: names from .cpg files and detection from the bytes when reading,
//! [`TextEncoding`] when writing.

use encoding_rs::{Encoding, GBK, UTF_8, WINDOWS_1252};

/// DBF text encoding of written shapefiles.
///
/// ```
/// use cadastre_core::io::TextEncoding;
/// assert_eq!((TextEncoding::Gbk.cpg(), TextEncoding::Gbk.language_driver()), ("GBK", 0x4D));
/// assert_eq!(TextEncoding::Utf8.encoding().name(), "UTF-8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// GBK (code page 936), what most Chinese GIS software expects; `.cpg` = `GBK`.
    #[default]
    Gbk,
    /// UTF-8; `.cpg` = `UTF-8`.
    Utf8,
}

impl TextEncoding {
    /// The encoding text is written in.
    pub fn encoding(self) -> &'static Encoding {
        match self {
            Self::Gbk => GBK,
            Self::Utf8 => UTF_8,
        }
    }

    /// The `.cpg` sidecar's content (what [`from_name`] reads back).
    pub fn cpg(self) -> &'static str {
        match self {
            Self::Gbk => "GBK",
            Self::Utf8 => "UTF-8",
        }
    }

    /// The dBase language driver id of the DBF header (byte 29): 0x4D is GBK (code page
    /// 936); UTF-8 has none, readers go by the `.cpg`.
    pub fn language_driver(self) -> u8 {
        match self {
            Self::Gbk => 0x4D,
            Self::Utf8 => 0x00,
        }
    }
}

/// Map a .cpg / user-supplied code-page name to an encoding.
pub(crate) fn from_name(name: &str) -> Option<&'static Encoding> {
    let trimmed = name.trim().trim_start_matches('\u{feff}').trim();
    let lower = trimmed.to_ascii_lowercase();
    // ESRI writes "ANSI 1250", "OEM 936" etc.; strip the prefix to get the code page.
    let key = lower.strip_prefix("ansi").or_else(|| lower.strip_prefix("oem")).map_or(lower.as_str(), str::trim);
    let by_number = match key {
        "936" | "cp936" | "gbk" | "gb2312" | "gb_2312" | "gb18030" | "54936" => Some(GBK),
        "65001" | "utf-8" | "utf8" => Some(UTF_8),
        "1252" | "cp1252" | "latin1" | "latin-1" | "88591" | "8859_1" | "iso-8859-1" | "iso88591" => {
            // Latin-1 is read as windows-1252 (a superset for printable text), as browsers do.
            Some(WINDOWS_1252)
        }
        _ => None,
    };
    if by_number.is_some() {
        return by_number;
    }
    if let Ok(n) = key.parse::<u16>() {
        if let Some(label) = windows_code_page_label(n) {
            return Encoding::for_label(label.as_bytes());
        }
    }
    Encoding::for_label(key.as_bytes())
}

fn windows_code_page_label(n: u16) -> Option<&'static str> {
    Some(match n {
        874 => "windows-874",
        932 => "shift_jis",
        949 => "euc-kr",
        950 => "big5",
        1250..=1258 => match n {
            1250 => "windows-1250",
            1251 => "windows-1251",
            1253 => "windows-1253",
            1254 => "windows-1254",
            1255 => "windows-1255",
            1256 => "windows-1256",
            1257 => "windows-1257",
            _ => "windows-1258",
        },
        _ => return None,
    })
}

/// The encoding chosen for a DBF and, when it was not simply the declared one, why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chosen {
    /// The encoding to decode text with.
    pub encoding: &'static Encoding,
    /// Set when the encoding was guessed (no .cpg, .cpg not understood or lying).
    pub guessed: Option<String>,
}

/// The non-ASCII text of a table, checked without holding it all in memory.
pub(crate) trait TextSamples {
    /// Whether `pred` holds for every non-ASCII text byte run (true when there is none).
    fn all(&self, pred: &(dyn Fn(&[u8]) -> bool + Sync)) -> bool;
}

impl TextSamples for super::dbf::Dbf {
    fn all(&self, pred: &(dyn Fn(&[u8]) -> bool + Sync)) -> bool {
        self.all_text(pred)
    }
}

#[cfg(test)]
impl TextSamples for Vec<&[u8]> {
    fn all(&self, pred: &(dyn Fn(&[u8]) -> bool + Sync)) -> bool {
        self.iter().filter(|b| !b.is_ascii()).all(|b| pred(b))
    }
}

fn decodes_cleanly(enc: &'static Encoding, samples: &dyn TextSamples) -> bool {
    if enc == UTF_8 {
        return samples.all(&|s| std::str::from_utf8(s).is_ok());
    }
    samples.all(&|s| decodes_without_errors(enc, s))
}

/// Whether `bytes` are text in `enc` (what [`choose`] asks of every value for the `.cpg`).
pub(crate) fn fits(enc: &'static Encoding, bytes: &[u8]) -> bool {
    if bytes.is_ascii() {
        true
    } else if enc == UTF_8 {
        std::str::from_utf8(bytes).is_ok()
    } else {
        decodes_without_errors(enc, bytes)
    }
}

/// Whether `bytes` are valid text in `enc`, decoded through a small stack buffer: the whole
/// .dbf is checked against its .cpg, and a `String` per non-ASCII value was a million
/// allocations per layer for nothing.
fn decodes_without_errors(enc: &'static Encoding, bytes: &[u8]) -> bool {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut out = [0u8; 512];
    let mut rest = bytes;
    loop {
        let (result, read, _) = decoder.decode_to_utf8_without_replacement(rest, &mut out, true);
        match result {
            encoding_rs::DecoderResult::InputEmpty => return true,
            encoding_rs::DecoderResult::Malformed(..) => return false,
            encoding_rs::DecoderResult::OutputFull => rest = rest.get(read..).unwrap_or_default(),
        }
    }
}

/// Choose the DBF text encoding.
///
/// Order: `forced` (the user's `--encoding`); the `.cpg` when the text decodes cleanly
/// in it; the DBF language-driver byte 0x4D (GBK); then detection: strict UTF-8, else
/// GBK when every text decodes cleanly, else an error asking for `--encoding`.
/// `samples` checks the non-ASCII text byte runs of the file (once per candidate).
pub(crate) fn choose(
    forced: Option<&'static Encoding>,
    cpg: Option<&str>,
    ldid: u8,
    samples: &dyn TextSamples,
) -> Result<Chosen, String> {
    if let Some(encoding) = forced {
        return Ok(Chosen { encoding, guessed: None });
    }
    let mut reason = None;
    if let Some(cpg) = cpg {
        let shown: String = cpg.trim().chars().take(40).collect();
        match from_name(cpg) {
            Some(enc) if decodes_cleanly(enc, samples) => return Ok(Chosen { encoding: enc, guessed: None }),
            Some(enc) => reason = Some(format!(".cpg says {shown:?} but the text is not valid {}", enc.name())),
            None => reason = Some(format!(".cpg {shown:?} names no known encoding")),
        }
    }
    if samples.all(&|_| false) {
        // Pure ASCII: every candidate reads it the same way.
        return Ok(Chosen { encoding: UTF_8, guessed: None });
    }
    if ldid == 0x4D && reason.is_none() && decodes_cleanly(GBK, samples) {
        return Ok(Chosen { encoding: GBK, guessed: None });
    }
    let why = reason.unwrap_or_else(|| "no .cpg".to_owned());
    if decodes_cleanly(UTF_8, samples) {
        return Ok(Chosen { encoding: UTF_8, guessed: Some(format!("{why}; the text is valid UTF-8")) });
    }
    if decodes_cleanly(GBK, samples) {
        return Ok(Chosen {
            encoding: GBK,
            guessed: Some(format!("{why}; the text is not UTF-8 but decodes cleanly as GBK")),
        });
    }
    Err(format!("{why}, and the text is neither valid UTF-8 nor GBK (perhaps Latin-1 or another code page)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GBK_TEXT: &[u8] = b"\xb2\xe2\xca\xd4\xd6\xd0\xce\xc4"; // 测试中文
    const UTF8_TEXT: &[u8] = "测试中文".as_bytes();
    const LATIN1_TEXT: &[u8] = b"Caf\xe9 "; // "Café " in Latin-1

    fn run(cpg: Option<&str>, text: &'static [u8]) -> Result<Chosen, String> {
        choose(None, cpg, 0, &vec![text])
    }

    #[test]
    fn validation_without_allocating_agrees_with_decoding() {
        let long_gbk: Vec<u8> = GBK_TEXT.iter().copied().cycle().take(GBK_TEXT.len() * 200).collect();
        let mut cut = long_gbk.clone();
        cut.pop(); // ends inside a two-byte character
        let samples: [&[u8]; 7] = [GBK_TEXT, UTF8_TEXT, LATIN1_TEXT, &long_gbk, &cut, b"\x81", b"plain"];
        for enc in [GBK, UTF_8, WINDOWS_1252] {
            for s in samples {
                let whole = enc.decode_without_bom_handling_and_without_replacement(s).is_some();
                assert_eq!(decodes_without_errors(enc, s), whole, "{} {s:?}", enc.name());
            }
        }
        assert!(decodes_without_errors(GBK, &long_gbk) && !decodes_without_errors(GBK, &cut));
    }

    #[test]
    fn code_page_names_map_to_encodings() {
        for n in ["GBK", "cp936", "936", " 936\r\n", "OEM 936", "gb2312"] {
            assert_eq!(from_name(n), Some(GBK), "{n}");
        }
        for n in ["UTF-8", "utf8", "65001", "\u{feff}UTF-8"] {
            assert_eq!(from_name(n), Some(UTF_8), "{n}");
        }
        for n in ["ISO-8859-1", "latin1", "1252", "ANSI 1252"] {
            assert_eq!(from_name(n), Some(WINDOWS_1252), "{n}");
        }
        assert_eq!(from_name("ANSI 1250").map(Encoding::name), Some("windows-1250"));
        assert_eq!(from_name("<html><body>"), None);
    }

    #[test]
    fn declared_cpg_is_used_when_the_text_fits() {
        assert_eq!(run(Some("936"), GBK_TEXT), Ok(Chosen { encoding: GBK, guessed: None }));
        assert_eq!(run(Some("UTF-8"), UTF8_TEXT), Ok(Chosen { encoding: UTF_8, guessed: None }));
    }

    #[test]
    fn lying_cpg_falls_back_to_detection_and_says_so() {
        let c = run(Some("UTF-8"), GBK_TEXT).expect("GBK detected");
        assert_eq!(c.encoding, GBK);
        assert!(c.guessed.as_deref().is_some_and(|g| g.contains(".cpg says")), "{c:?}");
        let c = run(Some("<html>"), UTF8_TEXT).expect("UTF-8 detected");
        assert_eq!(c.encoding, UTF_8);
        assert!(c.guessed.is_some());
    }

    #[test]
    fn no_cpg_detects_utf8_then_gbk_then_gives_up() {
        assert_eq!(run(None, UTF8_TEXT).map(|c| c.encoding), Ok(UTF_8));
        assert_eq!(run(None, GBK_TEXT).map(|c| c.encoding), Ok(GBK));
        let err = run(None, LATIN1_TEXT).expect_err("Latin-1 is ambiguous");
        assert!(err.contains("neither valid UTF-8 nor GBK"), "{err}");
    }

    #[test]
    fn forced_encoding_wins() {
        let c = choose(Some(WINDOWS_1252), None, 0, &vec![LATIN1_TEXT]).expect("forced");
        assert_eq!(c.encoding, WINDOWS_1252);
    }

    #[test]
    fn ascii_needs_no_guess() {
        assert_eq!(choose(None, None, 0, &vec![b"ZDDM".as_slice()]), Ok(Chosen { encoding: UTF_8, guessed: None }));
    }
}
