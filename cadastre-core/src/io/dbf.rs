//! A defensive dBASE (`.dbf`) reader that keeps text as bytes until the encoding is
//! known, so the encoding can be chosen from `.cpg` or detected from the data.

/// One field descriptor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DbfField {
    /// Name as raw bytes (may be GBK: Chinese field names occur).
    pub name: Vec<u8>,
    /// dBASE type letter (C, N, F, L, D, M...).
    pub kind: u8,
    /// Offset in the record (after the deletion flag).
    pub offset: usize,
    /// Width in bytes.
    pub len: usize,
}

/// Where the records are: in memory (tests, small tables) or in the file, read a chunk of
/// records at a time into a buffer the caller reuses (a county's .dbf is hundreds of MB, and
/// every freshly touched page costs system time).
#[derive(Debug)]
enum Source {
    Memory(Vec<u8>),
    File(std::fs::File),
}

/// A DBF table: header parsed, records read on demand.
#[derive(Debug)]
pub(crate) struct Dbf {
    source: Source,
    /// Field descriptors.
    pub fields: Vec<DbfField>,
    header_len: usize,
    record_len: usize,
    /// Records present (may be fewer than the header claims; see `declared_records`).
    pub records: usize,
    /// Record count in the header.
    pub declared_records: usize,
    /// Language driver id byte (0x4D = GBK/936).
    pub ldid: u8,
}

/// A decoded attribute value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// Empty / blank / unparsable numeric stays text-free.
    Null,
    /// Character, date or memo-pointer text.
    Text(String),
    /// Numeric (N/F/integer) value.
    Number(f64),
    /// Logical value.
    Bool(bool),
}

/// Why a .dbf could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Reading failed.
    Io(std::io::Error),
    /// The header is inconsistent.
    Corrupt(String),
}

/// The records `first..` of a table, as loaded by [`Dbf::load`].
pub(crate) struct Records<'a> {
    bytes: &'a [u8],
    first: usize,
    record_len: usize,
}

impl<'a> Records<'a> {
    /// Raw bytes of record `i` (an index in the whole table), including the deletion flag.
    pub(crate) fn get(&self, i: usize) -> Option<&'a [u8]> {
        let k = i.checked_sub(self.first)?;
        let start = k.checked_mul(self.record_len)?;
        self.bytes.get(start..start.checked_add(self.record_len)?)
    }
}

/// The little-endian u16 at `at` (the caller has checked the bounds).
fn le_u16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Header fields parsed from the first bytes; `head` holds at least 32 bytes.
struct Header {
    fields: Vec<DbfField>,
    header_len: usize,
    record_len: usize,
    records: usize,
    declared_records: usize,
    ldid: u8,
}

/// Parse the header: `head` is the start of the file (at least `header_len` bytes when the
/// file is that long), `file_len` the whole file's length.
fn parse_header(head: &[u8], file_len: usize) -> Result<Header, String> {
    if file_len < 32 || head.len() < 32 {
        return Err(format!("truncated: {file_len} bytes, a .dbf header is at least 32"));
    }
    let declared_records = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let header_len = le_u16(head, 8);
    let record_len = le_u16(head, 10);
    let ldid = head[29];
    if header_len < 33 || header_len > file_len || header_len > head.len() {
        return Err(format!("bad header length {header_len} (file has {file_len} bytes)"));
    }
    if record_len == 0 {
        return Err("record length 0 in header".into());
    }
    let mut fields = Vec::new();
    let mut offset = 1; // deletion flag
    let mut at = 32;
    // Descriptors end at 0x0D; some writers omit it, so also stop at the header end.
    while at + 32 <= header_len && head[at] != 0x0D {
        let d = &head[at..at + 32];
        let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        let name: Vec<u8> = d[..name_end].to_vec();
        let len = d[16] as usize;
        let kind = d[11];
        fields.push(DbfField { name, kind, offset, len });
        offset += len;
        at += 32;
    }
    if offset > record_len {
        return Err(format!("fields need {offset} bytes per record but the header says {record_len}"));
    }
    let available = (file_len - header_len) / record_len;
    let records = declared_records.min(available);
    Ok(Header { fields, header_len, record_len, records, declared_records, ldid })
}

impl Dbf {
    fn with(source: Source, h: Header) -> Self {
        let Header { fields, header_len, record_len, records, declared_records, ldid } = h;
        Self { source, fields, header_len, record_len, records, declared_records, ldid }
    }

    /// Parse a table held in memory; errors are plain messages (the caller adds the path).
    #[cfg(test)]
    pub(crate) fn parse(data: Vec<u8>) -> Result<Self, String> {
        let h = parse_header(&data, data.len())?;
        Ok(Self::with(Source::Memory(data), h))
    }

    /// Open a .dbf file: only the header is read now, records by [`Dbf::load`].
    pub(crate) fn open(path: &std::path::Path) -> Result<Self, OpenError> {
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(OpenError::Io)?;
        let file_len = usize::try_from(file.metadata().map_err(OpenError::Io)?.len()).unwrap_or(usize::MAX);
        // The header length is a u16, so this never reads more than 64 KiB.
        let mut head = vec![0u8; file_len.min(32)];
        file.read_exact(&mut head).map_err(OpenError::Io)?;
        if head.len() == 32 {
            let want = le_u16(&head, 8).clamp(32, file_len);
            head.resize(want, 0);
            file.read_exact(&mut head[32..]).map_err(OpenError::Io)?;
        }
        let h = parse_header(&head, file_len).map_err(OpenError::Corrupt)?;
        Ok(Self::with(Source::File(file), h))
    }

    /// A table with no fields and no records (for a shapefile without .dbf).
    pub(crate) fn empty() -> Self {
        Self {
            source: Source::Memory(Vec::new()),
            fields: Vec::new(),
            header_len: 0,
            record_len: 1,
            records: 0,
            declared_records: 0,
            ldid: 0,
        }
    }

    /// Records `first..end` (clamped to the records present), read into `buf` when the table
    /// is a file; `buf` is meant to be reused from chunk to chunk.
    pub(crate) fn load<'a>(&'a self, first: usize, end: usize, buf: &'a mut Vec<u8>) -> std::io::Result<Records<'a>> {
        let end = end.min(self.records);
        let first = first.min(end);
        let start = self.header_len + first * self.record_len;
        let len = (end - first) * self.record_len;
        let bytes: &'a [u8] = match &self.source {
            Source::Memory(data) => data.get(start..start + len).unwrap_or(&[]),
            Source::File(file) => {
                use std::os::unix::fs::FileExt;
                // Grown, never shrunk or zero-filled again: the read overwrites it.
                if buf.len() < len {
                    buf.resize(len, 0);
                }
                file.read_exact_at(&mut buf[..len], start as u64)?;
                &buf[..len]
            }
        };
        Ok(Records { bytes, first, record_len: self.record_len })
    }

    /// Whether `pred` holds for every non-ASCII text byte run (field names and character
    /// values), for encoding detection. Reads the table in chunks, checking in parallel.
    /// A read error ends the scan with `true`: the real read reports it.
    pub(crate) fn all_text(&self, pred: &(dyn Fn(&[u8]) -> bool + Sync)) -> bool {
        use rayon::prelude::*;
        if !self.fields.iter().map(|f| f.name.as_slice()).filter(|b| !b.is_ascii()).all(pred) {
            return false;
        }
        let text: Vec<&DbfField> = self.fields.iter().filter(|f| f.kind == b'C').collect();
        if text.is_empty() {
            return true;
        }
        const CHUNK: usize = 1 << 16;
        let mut buf = Vec::new();
        let mut first = 0;
        while first < self.records {
            let end = (first + CHUNK).min(self.records);
            let Ok(recs) = self.load(first, end, &mut buf) else { return true };
            let ok = (first..end).into_par_iter().all(|i| {
                let rec = recs.get(i).unwrap_or(&[]);
                text.iter().map(|f| self.raw(rec, f)).filter(|b| !b.is_ascii()).all(pred)
            });
            if !ok {
                return false;
            }
            first = end;
        }
        true
    }

    /// Raw bytes of one field of one record, trailing blanks and NULs removed.
    pub(crate) fn raw<'a>(&self, record: &'a [u8], field: &DbfField) -> &'a [u8] {
        let bytes = record.get(field.offset..field.offset + field.len).unwrap_or(&[]);
        let end = bytes.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |p| p + 1);
        let start = bytes[..end].iter().position(|&b| b != b' ').unwrap_or(end);
        &bytes[start..end]
    }

    /// Decode one character field, and whether its text fits `enc` (what the `.cpg` check of
    /// [`super::encoding::choose`] asks of every text value), decoding it only once.
    pub(crate) fn text_value_checked(
        &self,
        record: &[u8],
        field: &DbfField,
        enc: &'static encoding_rs::Encoding,
    ) -> (Value, bool) {
        let raw = self.raw(record, field);
        if raw.is_ascii() {
            return (self.value(record, field, enc), true);
        }
        // `value` sniffs a byte-order mark; without one it decodes exactly like this.
        if raw.starts_with(b"\xEF\xBB\xBF") || raw.starts_with(b"\xFE\xFF") || raw.starts_with(b"\xFF\xFE") {
            return (self.value(record, field, enc), super::encoding::fits(enc, raw));
        }
        let (text, had_errors) = enc.decode_without_bom_handling(raw);
        (Value::Text(text.into_owned()), !had_errors)
    }

    /// Decode one field value.
    pub(crate) fn value(&self, record: &[u8], field: &DbfField, enc: &'static encoding_rs::Encoding) -> Value {
        let raw = self.raw(record, field);
        if raw.is_empty() {
            return Value::Null;
        }
        match field.kind {
            b'N' | b'F' => {
                // Numbers are ASCII: parsed straight from the bytes, text made only when not a number.
                let parsed = std::str::from_utf8(raw).ok().and_then(|t| t.trim().parse::<f64>().ok());
                match parsed {
                    Some(v) if v.is_finite() => Value::Number(v),
                    // "****" (overflow) and the like: keep the text so the caller can report it.
                    _ => Value::Text(String::from_utf8_lossy(raw).into_owned()),
                }
            }
            b'L' => match raw[0] {
                b'T' | b't' | b'Y' | b'y' => Value::Bool(true),
                b'F' | b'f' | b'N' | b'n' => Value::Bool(false),
                _ => Value::Null,
            },
            _ => {
                let (text, _, _) = enc.decode(raw);
                Value::Text(text.into_owned())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny DBF writer for tests: fields (name, type, len), rows of raw byte strings.
    pub(crate) fn build(fields: &[(&[u8], u8, u8)], rows: &[Vec<&[u8]>], terminator: bool) -> Vec<u8> {
        let header_len = 32 + 32 * fields.len() + usize::from(terminator);
        let record_len = 1 + fields.iter().map(|f| f.2 as usize).sum::<usize>();
        let mut d = vec![0u8; 32];
        d[0] = 3;
        d[4..8].copy_from_slice(&(rows.len() as u32).to_le_bytes());
        d[8..10].copy_from_slice(&(header_len as u16).to_le_bytes());
        d[10..12].copy_from_slice(&(record_len as u16).to_le_bytes());
        for (name, kind, len) in fields {
            let mut f = [0u8; 32];
            f[..name.len()].copy_from_slice(name);
            f[11] = *kind;
            f[16] = *len;
            d.extend(f);
        }
        if terminator {
            d.push(0x0D);
        }
        for row in rows {
            d.push(b' ');
            for ((_, _, len), v) in fields.iter().zip(row) {
                let mut cell = vec![b' '; *len as usize];
                cell[..v.len()].copy_from_slice(v);
                d.extend(cell);
            }
        }
        d.push(0x1A);
        d
    }

    #[test]
    fn reads_values_with_and_without_terminator() {
        for term in [true, false] {
            let data = build(
                &[(b"ZDDM", b'C', 19), (b"ZDMJ", b'N', 12)],
                &[vec![b"330106001001GB00001", b"123.45"], vec![b"", b"****"]],
                term,
            );
            let dbf = Dbf::parse(data).expect("valid");
            assert_eq!(dbf.fields.len(), 2);
            assert_eq!(dbf.records, 2);
            let mut buf = Vec::new();
            let recs = dbf.load(0, 2, &mut buf).expect("in memory");
            let r0 = recs.get(0).expect("record 0");
            assert_eq!(dbf.value(r0, &dbf.fields[0], encoding_rs::UTF_8), Value::Text("330106001001GB00001".into()));
            assert_eq!(dbf.value(r0, &dbf.fields[1], encoding_rs::UTF_8), Value::Number(123.45));
            let r1 = recs.get(1).expect("record 1");
            assert_eq!(dbf.value(r1, &dbf.fields[0], encoding_rs::UTF_8), Value::Null);
            assert_eq!(dbf.value(r1, &dbf.fields[1], encoding_rs::UTF_8), Value::Text("****".into()));
        }
    }

    #[test]
    fn truncated_records_are_counted_not_read_past_the_end() {
        let mut data = build(&[(b"A", b'C', 10)], &[vec![b"x"], vec![b"y"], vec![b"z"]], true);
        data.truncate(data.len() - 8);
        let dbf = Dbf::parse(data).expect("header fine");
        assert_eq!(dbf.declared_records, 3);
        assert_eq!(dbf.records, 2);
        let mut buf = Vec::new();
        let recs = dbf.load(0, 3, &mut buf).expect("in memory");
        assert!(recs.get(1).is_some());
        assert!(recs.get(2).is_none());
    }

    #[test]
    fn a_file_reads_like_memory_in_chunks() {
        let rows: Vec<Vec<&[u8]>> =
            (0..5).map(|i| vec![[b"A", b"B", b"C", b"D", b"E"][i].as_slice(), b"\xb2\xe2"]).collect();
        let data = build(&[(b"K", b'C', 3), (b"ZL", b'C', 4)], &rows, true);
        let dir = std::env::temp_dir().join(format!("cadastre-dbf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("t.dbf");
        std::fs::write(&path, &data).expect("write");
        let file = Dbf::open(&path).expect("opens");
        let mem = Dbf::parse(data).expect("parses");
        assert_eq!((file.records, file.fields.clone()), (mem.records, mem.fields.clone()));
        let (mut b1, mut b2) = (Vec::new(), Vec::new());
        for (first, end) in [(0, 2), (2, 4), (4, 9)] {
            let (f, m) = (file.load(first, end, &mut b1).expect("reads"), mem.load(first, end, &mut b2).expect("mem"));
            for i in first..end {
                assert_eq!(f.get(i), m.get(i), "record {i}");
            }
            assert!(f.get(first.saturating_sub(1)).is_none() || first == 0);
        }
        assert!(file.all_text(&|b| b == b"\xb2\xe2"));
        assert!(!file.all_text(&|_| false));
        // A header claiming more bytes than the file has is an error, not a huge read.
        let mut short = build(&[(b"K", b'C', 3)], &[], true);
        short[8] = 0xFF;
        short[9] = 0x7F;
        std::fs::write(&path, &short).expect("write");
        assert!(matches!(Dbf::open(&path), Err(OpenError::Corrupt(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(Dbf::parse(vec![1, 2, 3]).is_err());
        let mut data = build(&[(b"A", b'C', 10)], &[], true);
        data[8] = 0xFF;
        data[9] = 0xFF;
        assert!(Dbf::parse(data).is_err());
    }

    proptest::proptest! {
        /// Corrupted DBF headers and records never panic: parse, then read every value.
        #[test]
        fn corrupted_dbf_never_panics(at in 0usize..160, patch in proptest::collection::vec(proptest::num::u8::ANY, 1..8)) {
            let mut data = build(
                &[(b"ZDDM", b'C', 19), (b"ZDMJ", b'N', 12), (b"OK", b'L', 1)],
                &[vec![b"330106001001GB00001", b"123.45", b"T"], vec![b"\xb2\xe2", b"1", b"?"]],
                true,
            );
            let at = at % data.len();
            for (i, b) in patch.iter().enumerate() {
                if let Some(x) = data.get_mut(at + i) { *x = *b; }
            }
            if let Ok(dbf) = Dbf::parse(data) {
                let _ = dbf.all_text(&|_| true);
                let mut buf = Vec::new();
                let recs = dbf.load(0, dbf.records, &mut buf).expect("in memory");
                for i in 0..dbf.records {
                    if let Some(rec) = recs.get(i) {
                        for f in &dbf.fields {
                            let _ = dbf.value(rec, f, encoding_rs::GBK);
                        }
                    }
                }
            }
        }
    }
}
