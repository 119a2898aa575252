//! A small streaming dBase III writer with a chosen text encoding (GBK or
//! UTF-8) and a fixed header date, so equal input gives equal bytes.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::config::{Error, TextEncoding};

/// Date written into DBF headers (last update), fixed for reproducible files.
pub const HEADER_DATE: (u16, u8, u8) = (2025, 6, 30);

/// A column: name (≤ 10 ASCII chars), type, width and decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: &'static str,
    /// `C` character, `N` numeric, `D` date.
    pub kind: u8,
    /// Width in bytes.
    pub width: u8,
    /// Decimals (N only).
    pub decimals: u8,
}

/// Character field.
#[must_use]
pub const fn text(name: &'static str, width: u8) -> Field {
    Field { name, kind: b'C', width, decimals: 0 }
}
/// Numeric field.
#[must_use]
pub const fn num(name: &'static str, width: u8, decimals: u8) -> Field {
    Field { name, kind: b'N', width, decimals }
}
/// Date field (`YYYYMMDD`).
#[must_use]
pub const fn date(name: &'static str) -> Field {
    Field { name, kind: b'D', width: 8, decimals: 0 }
}

/// A value for one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Text (C) or `YYYYMMDD` (D).
    Text(&'a str),
    /// Number (N).
    Num(f64),
}

/// Streaming DBF writer.
pub struct DbfWriter {
    out: BufWriter<File>,
    path: PathBuf,
    fields: &'static [Field],
    encoding: TextEncoding,
    records: u32,
    row: Vec<u8>,
}

impl DbfWriter {
    /// Creates `path` with the given columns.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be created.
    pub fn create(path: &Path, fields: &'static [Field], encoding: TextEncoding) -> Result<Self, Error> {
        let file = File::create(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let mut w = Self {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            fields,
            encoding,
            records: 0,
            row: Vec::new(),
        };
        let h = w.header();
        w.write_raw(&h)?;
        Ok(w)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.out.write_all(bytes).map_err(|source| Error::Io { path: self.path.clone(), source })
    }

    fn header(&self) -> Vec<u8> {
        let header_len = 32 + 32 * self.fields.len() + 1;
        let record_len = 1 + self.fields.iter().map(|f| usize::from(f.width)).sum::<usize>();
        let mut h = vec![0_u8; header_len];
        h[0] = 0x03;
        h[1] = (HEADER_DATE.0 - 1900) as u8;
        h[2] = HEADER_DATE.1;
        h[3] = HEADER_DATE.2;
        h[4..8].copy_from_slice(&self.records.to_le_bytes());
        h[8..10].copy_from_slice(&(header_len as u16).to_le_bytes());
        h[10..12].copy_from_slice(&(record_len as u16).to_le_bytes());
        h[29] = self.encoding.language_driver();
        for (i, f) in self.fields.iter().enumerate() {
            let d = &mut h[32 + 32 * i..64 + 32 * i];
            d[..f.name.len()].copy_from_slice(f.name.as_bytes());
            d[11] = f.kind;
            d[16] = f.width;
            d[17] = f.decimals;
        }
        h[header_len - 1] = 0x0D;
        h
    }

    /// Appends one record; `values` must match the columns in order.
    ///
    /// # Errors
    /// [`Error::FieldTooLong`] if a text does not fit its column,
    /// [`Error::Io`] on a write failure.
    pub fn write(&mut self, values: &[Value<'_>]) -> Result<(), Error> {
        self.row.clear();
        self.row.push(b' ');
        for (f, v) in self.fields.iter().zip(values) {
            let w = usize::from(f.width);
            match (f.kind, v) {
                (b'N', Value::Num(x)) => {
                    let s = fixed(*x, f.decimals);
                    if s.len() > w {
                        return Err(Error::FieldTooLong { field: f.name, value: s.clone(), bytes: s.len(), width: w });
                    }
                    self.row.resize(self.row.len() + w - s.len(), b' ');
                    self.row.extend_from_slice(s.as_bytes());
                }
                (_, Value::Text(t)) => {
                    let (bytes, _, _) = self.encoding.encoding().encode(t);
                    if bytes.len() > w {
                        return Err(Error::FieldTooLong {
                            field: f.name,
                            value: (*t).to_string(),
                            bytes: bytes.len(),
                            width: w,
                        });
                    }
                    self.row.extend_from_slice(&bytes);
                    self.row.resize(self.row.len() + w - bytes.len(), b' ');
                }
                (_, Value::Num(x)) => {
                    let s = x.to_string();
                    self.row.extend_from_slice(&s.as_bytes()[..s.len().min(w)]);
                    self.row.resize(self.row.len() + w - s.len().min(w), b' ');
                }
            }
        }
        let row = std::mem::take(&mut self.row);
        let r = self.write_raw(&row);
        self.row = row;
        r?;
        self.records += 1;
        Ok(())
    }

    /// Writes the end-of-file mark and the final record count.
    ///
    /// # Errors
    /// [`Error::Io`] on a write failure.
    pub fn finish(mut self) -> Result<(), Error> {
        self.write_raw(&[0x1A])?;
        let h = self.header();
        let path = self.path.clone();
        let e = |source| Error::Io { path: path.clone(), source };
        self.out.seek(SeekFrom::Start(0)).map_err(e)?;
        self.out.write_all(&h).map_err(e)?;
        self.out.flush().map_err(e)
    }
}

/// Formats `x` with `decimals` places, rounding half away from zero.
/// Integer arithmetic: `format!("{:.2}")` takes a slow exact path for many
/// values, and this runs once per numeric cell of a million-row table.
fn fixed(x: f64, decimals: u8) -> String {
    let scale = 10_i64.pow(u32::from(decimals));
    let scaled = (x * scale as f64).round();
    if !scaled.is_finite() || scaled.abs() >= 9.0e17 {
        return format!("{x:.prec$}", prec = usize::from(decimals));
    }
    let v = scaled as i64;
    let (sign, v) = if v < 0 { ("-", -v) } else { ("", v) };
    if decimals == 0 {
        format!("{sign}{v}")
    } else {
        format!("{sign}{}.{:0d$}", v / scale, v % scale, d = usize::from(decimals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: [Field; 3] = [text("ZL", 20), num("ZDMJ", 10, 2), date("JGRQ")];

    #[test]
    fn gbk_text_reads_back_with_dbase_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.dbf");
        let mut w = DbfWriter::create(&path, &FIELDS, TextEncoding::Gbk).expect("create");
        w.write(&[Value::Text("西湖区文三路88号"), Value::Num(123.456), Value::Text("20200131")]).expect("write");
        w.finish().expect("finish");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(bytes[29], 0x4D);
        assert_eq!(u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]), 1);
        let (gbk, _, _) = encoding_rs::GBK.encode("西湖区文三路88号");
        assert!(bytes.windows(gbk.len()).any(|w| w == &gbk[..]));
        assert!(bytes.ends_with(b"    123.4620200131\x1A"));
    }

    #[test]
    fn fixed_formats_like_format_macro_for_rounded_values() {
        for (x, d, want) in [
            (123.456, 2, "123.46"),
            (0.5, 0, "1"),
            (-2.346, 2, "-2.35"),
            (-0.004, 2, "0.00"),
            (7.0, 2, "7.00"),
            (1e20, 2, "100000000000000000000.00"),
        ] {
            assert_eq!(fixed(x, d), want, "{x}");
        }
    }

    #[test]
    fn too_long_text_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = DbfWriter::create(&dir.path().join("t.dbf"), &FIELDS, TextEncoding::Utf8).expect("create");
        let r = w.write(&[Value::Text("一二三四五六七"), Value::Num(1.0), Value::Text("20200101")]);
        assert!(matches!(r, Err(Error::FieldTooLong { field: "ZL", bytes: 21, width: 20, .. })), "{r:?}");
    }
}
