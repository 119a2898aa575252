//! DBF text encodings: names from .cpg files and detection from the bytes.

use encoding_rs::{Encoding, GBK, UTF_8, WINDOWS_1252};

/// Map a .cpg / user-supplied code-page name to an encoding.
pub(crate) fn from_name(name: &str) -> Option<&'static Encoding> {
    let trimmed = name.trim().trim_start_matches('\u{feff}').trim();
    let lower = trimmed.to_ascii_lowercase();
    // ESRI writes "ANSI 1250", "OEM 936" etc.; strip the prefix to get the code page.
    let key = lower
        .strip_prefix("ansi")
        .or_else(|| lower.strip_prefix("oem"))
        .map_or(lower.as_str(), str::trim);
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
