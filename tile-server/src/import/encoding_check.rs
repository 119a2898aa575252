//! Before anything is written: can every layer's text be decoded? The reader would
//! otherwise find out only when it reaches the layer, after the layers before it
//! were committed. Streams the .dbf record by record (constant memory).

use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs::{Encoding, GBK, UTF_8};

use super::ImportError;

/// Character fields of a .dbf: (offset in the record, length).
fn char_fields(header: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 1; // the deletion flag
    for d in header[32..].chunks_exact(32) {
        if d[0] == 0x0D {
            break;
        }
        let len = usize::from(d[16]);
        if d[11] == b'C' {
            out.push((offset, len));
        }
        offset += len;
    }
    out
}

fn clean(enc: &'static Encoding, bytes: &[u8]) -> bool {
    enc.decode_without_bom_handling_and_without_replacement(bytes).is_some()
}

/// Fails when no encoding reads the text: not the forced one (never fails then), not the
/// .cpg's, not UTF-8, not GBK; the same candidates the loader tries.
pub fn check_dbf_text(dbf: &Path, cpg: Option<&str>, forced: Option<&'static Encoding>) -> Result<(), ImportError> {
    if forced.is_some() {
        return Ok(());
    }
    let err = |d: String| ImportError::input(dbf, d);
    let file = std::fs::File::open(dbf).map_err(|e| err(e.to_string()))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut head = [0u8; 32];
    r.read_exact(&mut head).map_err(|_| err("truncated .dbf header".into()))?;
    let header_len = usize::from(u16::from_le_bytes([head[8], head[9]]));
    let record_len = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let records = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let mut header = vec![0u8; header_len.max(32)];
    header[..32].copy_from_slice(&head);
    r.read_exact(&mut header[32..]).map_err(|_| err("truncated .dbf field list".into()))?;
    let fields = char_fields(&header);
    let declared = cpg.and_then(cadastre_core::io::encoding_from_name);
    let mut candidates: Vec<(&'static Encoding, bool)> = vec![(UTF_8, true), (GBK, true)];
    if let Some(enc) = declared {
        candidates.push((enc, true));
    }
    let mut rec = vec![0u8; record_len];
    for _ in 0..records {
        if r.read_exact(&mut rec).is_err() {
            break; // a short file is the reader's to report, record by record
        }
        for &(off, len) in &fields {
            let Some(raw) = rec.get(off..off + len) else { continue };
            if raw.is_ascii() {
                continue;
            }
            for c in candidates.iter_mut().filter(|c| c.1) {
                c.1 = clean(c.0, raw.trim_ascii());
            }
            if candidates.iter().all(|c| !c.1) {
                return Err(err("the text is neither valid UTF-8 nor GBK (nor what the .cpg says); pass --encoding \
                     (e.g. --encoding latin1)"
                    .into()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbf(values: &[&[u8]]) -> Vec<u8> {
        let mut d = vec![0u8; 32];
        d[0] = 3;
        d[4..8].copy_from_slice(&(values.len() as u32).to_le_bytes());
        d[8..10].copy_from_slice(&65u16.to_le_bytes());
        d[10..12].copy_from_slice(&11u16.to_le_bytes());
        let mut f = [0u8; 32];
        f[..2].copy_from_slice(b"ZL");
        f[11] = b'C';
        f[16] = 10;
        d.extend(f);
        d.push(0x0D);
        for v in values {
            d.push(b' ');
            let mut cell = v.to_vec();
            cell.resize(10, b' ');
            d.extend(cell);
        }
        d
    }

    #[test]
    fn gbk_utf8_pass_latin1_fails_unless_forced() {
        let dir = std::env::temp_dir().join(format!("enc-check-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("x.dbf");
        let write = |v: &[&[u8]]| std::fs::write(&p, dbf(v)).unwrap_or_else(|e| panic!("{e}"));
        write(&[b"\xb2\xe2\xca\xd4", b"abc"]); // 测试 in GBK
        assert!(check_dbf_text(&p, None, None).is_ok());
        write(&["测试".as_bytes()]);
        assert!(check_dbf_text(&p, Some("UTF-8"), None).is_ok());
        write(&[b"Caf\xe9 \xff\xfe"]);
        assert!(check_dbf_text(&p, None, None).is_err());
        assert!(check_dbf_text(&p, None, Some(encoding_rs::WINDOWS_1252)).is_ok());
        assert!(check_dbf_text(&p, Some("latin1"), None).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
