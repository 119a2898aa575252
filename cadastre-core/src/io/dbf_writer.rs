//! A streaming dBase III (`.dbf`) writer: the header with a zero record count first, rows as
//! they come through one reused row buffer, the count patched in at the end. The header
//! date is given, not read from the clock, so equal input gives equal bytes.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::WriteError;
use super::TextEncoding;

/// Bytes buffered before the table is written out.
const BUFFER: usize = 1 << 20;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `C`: text in the table's encoding, left-aligned.
    Character,
    /// `N`: a decimal number with a fixed number of decimals, right-aligned.
    Numeric,
    /// `D`: a date as `YYYYMMDD`.
    Date,
}

impl FieldKind {
    fn code(self) -> u8 {
        match self {
            Self::Character => b'C',
            Self::Numeric => b'N',
            Self::Date => b'D',
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Character => "text",
            Self::Numeric => "number",
            Self::Date => "date",
        }
    }
}

/// A column: name (1 to 10 ASCII characters), kind, width in bytes and decimals.
///
/// ```
/// use cadastre_core::io::{Field, FieldKind};
/// const ZD: [Field; 3] = [Field::text("ZDDM", 19), Field::number("ZDMJ", 15, 2), Field::date("JGRQ")];
/// assert_eq!((ZD[1].kind, ZD[1].width, ZD[1].decimals), (FieldKind::Numeric, 15, 2));
/// assert_eq!(ZD[2].width, 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// Column name.
    pub name: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// Width in bytes (1..=254 for text, the encoded length of the longest value).
    pub width: u8,
    /// Decimal places (numbers only).
    pub decimals: u8,
}

impl Field {
    /// A text column `width` bytes wide.
    pub const fn text(name: &'static str, width: u8) -> Self {
        Self { name, kind: FieldKind::Character, width, decimals: 0 }
    }

    /// A numeric column `width` characters wide with `decimals` places.
    pub const fn number(name: &'static str, width: u8, decimals: u8) -> Self {
        Self { name, kind: FieldKind::Numeric, width, decimals }
    }

    /// A date column (`YYYYMMDD`).
    pub const fn date(name: &'static str) -> Self {
        Self { name, kind: FieldKind::Date, width: 8, decimals: 0 }
    }
}

/// One value of a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Text, for a text column, or `YYYYMMDD` for a date column.
    Text(&'a str),
    /// A number, for a numeric column.
    Number(f64),
    /// No value: the column is left blank.
    Null,
}

/// The "last update" date of a DBF header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DbfDate {
    /// Year, 1900..=2155.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
}

impl DbfDate {
    /// The date the toolkit writes unless told otherwise: fixed, so equal data gives equal files.
    pub const FIXED: DbfDate = DbfDate { year: 2026, month: 1, day: 1 };
}

impl Default for DbfDate {
    fn default() -> Self {
        Self::FIXED
    }
}

/// A `.dbf` being written.
pub(crate) struct DbfWriter {
    out: BufWriter<File>,
    path: PathBuf,
    fields: Vec<Field>,
    encoding: TextEncoding,
    date: DbfDate,
    records: u32,
    /// The row being built: validated completely before anything is written.
    row: Vec<u8>,
    number: String,
}

impl DbfWriter {
    /// Creates `path` with the given columns.
    pub(crate) fn create(
        path: &Path,
        fields: &[Field],
        encoding: TextEncoding,
        date: DbfDate,
    ) -> Result<Self, WriteError> {
        check_fields(fields)?;
        let file = File::create(path).map_err(WriteError::io(path))?;
        let mut w = Self {
            out: BufWriter::with_capacity(BUFFER, file),
            path: path.to_path_buf(),
            fields: fields.to_vec(),
            encoding,
            date,
            records: 0,
            row: Vec::new(),
            number: String::new(),
        };
        let h = w.header();
        w.out.write_all(&h).map_err(WriteError::io(path))?;
        Ok(w)
    }

    fn header(&self) -> Vec<u8> {
        let header_len = 32 + 32 * self.fields.len() + 1;
        let record_len = 1 + self.fields.iter().map(|f| usize::from(f.width)).sum::<usize>();
        let mut h = vec![0u8; header_len];
        h[0] = 0x03; // dBASE III without memo
        h[1] = u8::try_from(self.date.year.saturating_sub(1900)).unwrap_or(u8::MAX);
        h[2] = self.date.month;
        h[3] = self.date.day;
        h[4..8].copy_from_slice(&self.records.to_le_bytes());
        // Both fit: `check_fields` bounds the field count and the widths.
        h[8..10].copy_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
        h[10..12].copy_from_slice(&u16::try_from(record_len).unwrap_or(u16::MAX).to_le_bytes());
        h[29] = self.encoding.language_driver();
        for (i, f) in self.fields.iter().enumerate() {
            let d = &mut h[32 + 32 * i..64 + 32 * i];
            d[..f.name.len()].copy_from_slice(f.name.as_bytes());
            d[11] = f.kind.code();
            d[16] = f.width;
            d[17] = if f.kind == FieldKind::Numeric { f.decimals } else { 0 };
        }
        h[header_len - 1] = 0x0D;
        h
    }

    /// Builds the next row from `cells` (one per field, in order) without writing it: a
    /// value that does not fit is an error before the record's geometry is written.
    pub(crate) fn prepare(&mut self, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        if cells.len() != self.fields.len() {
            return Err(WriteError::RecordLength { expected: self.fields.len(), found: cells.len() });
        }
        if self.records == u32::MAX {
            return Err(WriteError::TooLarge(self.path.clone()));
        }
        self.row.clear();
        self.row.push(b' '); // not deleted
        for (f, cell) in self.fields.iter().zip(cells) {
            let width = usize::from(f.width);
            match (f.kind, *cell) {
                (_, Cell::Null) => self.row.resize(self.row.len() + width, b' '),
                (FieldKind::Numeric, Cell::Number(x)) => {
                    self.number.clear();
                    write_fixed(&mut self.number, x, f.decimals);
                    let s = self.number.as_bytes();
                    if s.len() > width {
                        return Err(too_long(f, &self.number, s.len()));
                    }
                    self.row.resize(self.row.len() + width - s.len(), b' ');
                    self.row.extend_from_slice(s);
                }
                (FieldKind::Character | FieldKind::Date, Cell::Text(t)) => {
                    let (bytes, _, unmappable) = self.encoding.encoding().encode(t);
                    if unmappable {
                        let encoding = self.encoding.encoding().name();
                        return Err(WriteError::Unencodable { field: f.name, value: t.to_owned(), encoding });
                    }
                    if bytes.len() > width {
                        return Err(too_long(f, t, bytes.len()));
                    }
                    self.row.extend_from_slice(&bytes);
                    self.row.resize(self.row.len() + width - bytes.len(), b' ');
                }
                (kind, Cell::Text(_)) | (kind @ (FieldKind::Character | FieldKind::Date), Cell::Number(_)) => {
                    let found = if matches!(cell, Cell::Text(_)) { "text" } else { "number" };
                    return Err(WriteError::WrongKind { field: f.name, expected: kind.name(), found });
                }
            }
        }
        Ok(())
    }

    /// Writes the row [`prepare`](Self::prepare) built.
    pub(crate) fn commit(&mut self) -> Result<(), WriteError> {
        self.out.write_all(&self.row).map_err(WriteError::io(&self.path))?;
        self.records += 1;
        Ok(())
    }

    /// Bytes held in memory: the output buffer's contents and the row scratch space.
    pub(crate) fn buffered(&self) -> usize {
        self.out.buffer().len() + self.row.capacity() + self.number.capacity()
    }

    /// Writes the end-of-file mark and the final record count.
    pub(crate) fn finish(mut self) -> Result<(), WriteError> {
        let e = WriteError::io(&self.path);
        self.out.write_all(&[0x1A]).map_err(&e)?;
        let h = self.header();
        self.out.seek(SeekFrom::Start(0)).map_err(&e)?;
        self.out.write_all(&h).map_err(&e)?;
        self.out.flush().map_err(&e)
    }
}

fn too_long(f: &Field, value: &str, bytes: usize) -> WriteError {
    WriteError::FieldTooLong { field: f.name, value: value.to_owned(), bytes, width: usize::from(f.width) }
}

fn check_fields(fields: &[Field]) -> Result<(), WriteError> {
    let bad = |f: &Field, reason| Err(WriteError::BadField { field: f.name.to_owned(), reason });
    // The header length is a u16: 32 bytes per field after a 32-byte prefix.
    if fields.len() > 2046 {
        return Err(WriteError::BadField { field: String::new(), reason: "more than 2046 fields" });
    }
    let mut record_len = 1usize;
    for f in fields {
        if f.name.is_empty() || f.name.len() > 10 || !f.name.is_ascii() || f.name.contains('\0') {
            return bad(f, "names are 1 to 10 ASCII characters");
        }
        if f.width == 0 || (f.kind == FieldKind::Character && f.width > 254) {
            return bad(f, "text fields are 1 to 254 bytes wide, numbers at least 1");
        }
        if f.kind == FieldKind::Numeric && f.decimals >= f.width {
            return bad(f, "a number needs more width than decimals");
        }
        record_len += usize::from(f.width);
    }
    if record_len > usize::from(u16::MAX) {
        return Err(WriteError::BadField { field: String::new(), reason: "records longer than 65535 bytes" });
    }
    Ok(())
}

/// Powers of ten that are exact as `f64`.
const POW10: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// Appends `x` with `decimals` places, exactly as `format!("{x:.decimals$}")` writes it (the
/// exact binary value rounded half to even), by integer arithmetic unless the value lies
/// within rounding noise of a tie: the formatter's exact path is slow, and this runs for
/// every numeric cell of a million-row table.
pub(crate) fn write_fixed(out: &mut String, x: f64, decimals: u8) {
    let d = usize::from(decimals);
    if let Some(&scale) = POW10.get(d) {
        let scaled = x * scale;
        // Below 1e15 the rounded value and its digits are exact integers.
        if scaled.abs() < 1e15 {
            let frac = (scaled - scaled.trunc()).abs();
            // `scaled` is within |scaled|·2⁻⁵³ of the exact product: away from a tie, both
            // round to the same integer. A negative value rounding to zero keeps its sign.
            let clear_of_tie = (frac - 0.5).abs() > 4.0 * f64::EPSILON * scaled.abs() + f64::MIN_POSITIVE;
            let r = scaled.round();
            if clear_of_tie && !(r == 0.0 && x.is_sign_negative()) {
                // |r| < 1e15: exact in i64.
                #[allow(clippy::cast_possible_truncation)]
                let v = r as i64;
                let (sign, v) = if v < 0 { ("-", v.unsigned_abs()) } else { ("", v.unsigned_abs()) };
                let p = 10u64.pow(u32::from(decimals));
                let _ = write!(out, "{sign}{}", v / p);
                if d > 0 {
                    let _ = write!(out, ".{:0d$}", v % p);
                }
                return;
            }
        }
    }
    let _ = write!(out, "{x:.d$}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixed(x: f64, d: u8) -> String {
        let mut s = String::new();
        write_fixed(&mut s, x, d);
        s
    }

    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        for (x, d) in [
            (123.456, 2),
            (0.125, 2),
            (2.5, 0),
            (3.5, 0),
            (1.005, 2),
            (-2.346, 2),
            (-0.004, 2),
            (-0.0, 0),
            (7.0, 2),
            (1e20, 2),
            (1e300, 2),
            (f64::NAN, 2),
            (f64::INFINITY, 0),
            (400_000.125, 2),
            (12_345_678.9, 9),
            (0.1, 12),
        ] {
            assert_eq!(fixed(x, d), format!("{x:.prec$}", prec = usize::from(d)), "{x} with {d}");
        }
    }

    proptest! {
        #[test]
        fn fast_path_agrees_with_the_formatter(m in -1.0e12f64..1.0e12, d in 0u8..10, hundredths in -1.0e7f64..1.0e7) {
            prop_assert_eq!(fixed(m, d), format!("{m:.prec$}", prec = usize::from(d)));
            // Values on the 0.01 grid, as areas are recorded, and half-way points between them.
            let v = hundredths.round() / 100.0;
            let half = (hundredths.round() + 0.5) / 100.0;
            for x in [v, half] {
                prop_assert_eq!(fixed(x, 2), format!("{x:.2}"));
            }
        }
    }

    #[test]
    fn fields_the_format_cannot_hold_are_refused() {
        for bad in [Field::text("", 1), Field::text("NAME_TOO_LONG", 5), Field::text("区", 5), Field::text("A", 0)] {
            assert!(matches!(check_fields(&[bad]), Err(WriteError::BadField { .. })), "{bad:?}");
        }
        assert!(check_fields(&[Field::number("N", 2, 2)]).is_err());
        assert!(check_fields(&[Field::text("ZL", 254), Field::number("ZDMJ", 255, 2), Field::date("D")]).is_ok());
    }
}
