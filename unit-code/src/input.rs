//! Reading lists of codes for the command line: plain lines or one CSV
//! column, UTF-8 (with or without BOM) or GBK, with errors that name the line.

/// Text encoding of an input file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8; a leading byte-order mark is ignored.
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK / GB18030, as written by Chinese Windows tools and Excel.
    #[value(name = "gbk", alias = "gb18030")]
    Gbk,
}

/// Input that cannot be read as a list of codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// Bytes that are not valid in the encoding.
    #[error("line {line}: not valid {encoding} text (try --encoding {hint})")]
    Encoding {
        /// 1-based line number.
        line: usize,
        /// The encoding expected.
        encoding: &'static str,
        /// The other encoding, to suggest.
        hint: &'static str,
    },
    /// The CSV has no such column.
    #[error("column {name:?} not found; columns found: {}", found.join(", "))]
    MissingColumn {
        /// The column asked for.
        name: String,
        /// The header row.
        found: Vec<String>,
    },
    /// The CSV cannot be parsed.
    #[error("CSV line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: u64,
        /// The parser's message.
        message: String,
    },
}

/// Decode a whole input, dropping a UTF-8 byte-order mark.
///
/// ```
/// use unit_code::input::{decode, Encoding};
/// assert_eq!(decode(b"\xEF\xBB\xBFabc\n", Encoding::Utf8).unwrap(), "abc\n");
/// let err = decode(b"ok\n\xFF\n", Encoding::Utf8).unwrap_err();
/// assert_eq!(err.to_string(), "line 2: not valid UTF-8 text (try --encoding gbk)");
/// ```
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, InputError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match encoding {
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => {
                Err(InputError::Encoding { line: line_of(bytes, e.valid_up_to()), encoding: "UTF-8", hint: "gbk" })
            }
        },
        Encoding::Gbk => {
            // GBK trail bytes are never 0x0A, so splitting on '\n' is safe and
            // lets the error name the line.
            let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
            for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
                match encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(line) {
                    Some(text) => out.push_str(&text),
                    None => return Err(InputError::Encoding { line: i + 1, encoding: "GBK", hint: "utf-8" }),
                }
            }
            Ok(out)
        }
    }
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The codes of a plain list: one per line, whitespace (including CR and
/// full-width spaces) trimmed, blank lines skipped. Yields `(line, code)`.
pub fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty())
}

/// The values of column `name` of a CSV with a header row, as `(line, code)`.
/// The name matches exactly, else ignoring ASCII case. Blank cells and rows
/// too short to have the column are skipped.
///
/// ```
/// use unit_code::input::csv_column;
/// let csv = "id,BDCDYH\n1,411702600021GB00001F00070027\n2, \n";
/// let codes = csv_column(csv, "bdcdyh").unwrap();
/// assert_eq!(codes, vec![(2, "411702600021GB00001F00070027".to_owned())]);
/// assert!(csv_column(csv, "ZDDM").unwrap_err().to_string().contains("id, BDCDYH"));
/// ```
pub fn csv_column(text: &str, name: &str) -> Result<Vec<(usize, String)>, InputError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_error)?.clone();
    let found: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
    let index = found
        .iter()
        .position(|h| h == name.trim())
        .or_else(|| found.iter().position(|h| h.eq_ignore_ascii_case(name.trim())))
        .ok_or_else(|| InputError::MissingColumn { name: name.to_owned(), found: found.clone() })?;
    let mut codes = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, csv::Position::line);
        if let Some(value) = record.get(index).map(str::trim).filter(|v| !v.is_empty()) {
            codes.push((usize::try_from(line).unwrap_or(usize::MAX), value.to_owned()));
        }
    }
    Ok(codes)
}

fn csv_error(e: csv::Error) -> InputError {
    let line = e.position().map_or(0, csv::Position::line);
    InputError::Csv { line, message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_trim_and_skip_blanks() {
        let text = "  a \r\n\r\n\u{3000}b\u{3000}\n\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(got, [(1, "a"), (3, "b")]);
    }

    #[test]
    fn bad_utf8_names_the_line() {
        let e = decode(b"a\nb\nc\xC3(\n", Encoding::Utf8).unwrap_err();
        assert_eq!(e, InputError::Encoding { line: 3, encoding: "UTF-8", hint: "gbk" });
    }

    #[test]
    fn gbk_decodes_chinese() {
        // "宗地" in GBK.
        let bytes = b"ZDDM,\xD7\xDA\xB5\xD8\n340824104207JA00024,x\n";
        let text = decode(bytes, Encoding::Gbk).unwrap();
        assert!(text.starts_with("ZDDM,宗地\n"));
        let e = decode(b"ok\n\x81\n", Encoding::Gbk).unwrap_err();
        assert!(matches!(e, InputError::Encoding { line: 2, .. }));
    }

    #[test]
    fn csv_column_with_quotes_and_short_rows() {
        let csv = "名称,BDCDYH\n\"a, b\",X1\nshort\n\"c\",\" X2 \"\n";
        let got = csv_column(csv, "BDCDYH").unwrap();
        assert_eq!(got, [(2, "X1".to_owned()), (4, "X2".to_owned())]);
    }

    #[test]
    fn missing_column_lists_columns() {
        let e = csv_column("名称,ZDDM\n", "BDCDYH").unwrap_err();
        assert_eq!(e.to_string(), "column \"BDCDYH\" not found; columns found: 名称, ZDDM");
    }
}
