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

/// A DBF file held in memory.
#[derive(Debug)]
pub(crate) struct Dbf {
    data: Vec<u8>,
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

impl Dbf {
    /// Parse the header; errors are plain messages (the caller adds the path).
    pub(crate) fn parse(data: Vec<u8>) -> Result<Self, String> {
        if data.len() < 32 {
            return Err(format!("truncated: {} bytes, a .dbf header is at least 32", data.len()));
        }
        let declared_records = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let header_len = u16::from_le_bytes([data[8], data[9]]) as usize;
        let record_len = u16::from_le_bytes([data[10], data[11]]) as usize;
        let ldid = data[29];
        if header_len < 33 || header_len > data.len() {
            return Err(format!("bad header length {header_len} (file has {} bytes)", data.len()));
        }
        if record_len == 0 {
            return Err("record length 0 in header".into());
        }
        let mut fields = Vec::new();
        let mut offset = 1; // deletion flag
        let mut at = 32;
        // Descriptors end at 0x0D; some writers omit it, so also stop at the header end.
        while at + 32 <= header_len && data[at] != 0x0D {
            let d = &data[at..at + 32];
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
        let available = (data.len() - header_len) / record_len;
        let records = declared_records.min(available);
        Ok(Self { data, fields, header_len, record_len, records, declared_records, ldid })
    }

    /// A table with no fields and no records (for a shapefile without .dbf).
    pub(crate) fn empty() -> Self {
        Self {
            data: Vec::new(),
            fields: Vec::new(),
            header_len: 0,
            record_len: 1,
            records: 0,
            declared_records: 0,
            ldid: 0,
        }
    }

    /// Raw bytes of a record (including the deletion flag).
    pub(crate) fn record(&self, i: usize) -> Option<&[u8]> {
        if i >= self.records {
            return None;
        }
        let start = self.header_len + i * self.record_len;
        self.data.get(start..start + self.record_len)
    }

    /// Raw bytes of one field of one record, trailing blanks and NULs removed.
    pub(crate) fn raw<'a>(&self, record: &'a [u8], field: &DbfField) -> &'a [u8] {
        let bytes = record.get(field.offset..field.offset + field.len).unwrap_or(&[]);
        let end = bytes.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |p| p + 1);
        let start = bytes[..end].iter().position(|&b| b != b' ').unwrap_or(end);
        &bytes[start..end]
    }

    /// Every non-ASCII text byte run (field names and character values), for encoding detection.
    pub(crate) fn text_samples(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let names = self.fields.iter().map(|f| f.name.as_slice());
        let values = (0..self.records).flat_map(move |i| {
            let rec = self.record(i).unwrap_or(&[]);
            self.fields.iter().filter(|f| f.kind == b'C').map(move |f| self.raw(rec, f))
        });
        names.chain(values).filter(|b| !b.is_ascii())
    }

    /// Decode one field value.
    pub(crate) fn value(&self, record: &[u8], field: &DbfField, enc: &'static encoding_rs::Encoding) -> Value {
        let raw = self.raw(record, field);
        if raw.is_empty() {
            return Value::Null;
        }
        match field.kind {
            b'N' | b'F' => {
                let text = String::from_utf8_lossy(raw);
                match text.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => Value::Number(v),
                    // "****" (overflow) and the like: keep the text so the caller can report it.
                    _ => Value::Text(text.into_owned()),
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
            let r0 = dbf.record(0).expect("record 0");
            assert_eq!(dbf.value(r0, &dbf.fields[0], encoding_rs::UTF_8), Value::Text("330106001001GB00001".into()));
            assert_eq!(dbf.value(r0, &dbf.fields[1], encoding_rs::UTF_8), Value::Number(123.45));
            let r1 = dbf.record(1).expect("record 1");
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
        assert!(dbf.record(2).is_none());
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
                let _ = dbf.text_samples().count();
                for i in 0..dbf.records {
                    if let Some(rec) = dbf.record(i) {
                        for f in &dbf.fields {
                            let _ = dbf.value(rec, f, encoding_rs::GBK);
                        }
                    }
                }
            }
        }
    }
}
