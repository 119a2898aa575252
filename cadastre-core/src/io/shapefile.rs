//! One shapefile layer (.shp + .dbf, optional .cpg, .prj; the .shx is not needed)
//! read into a [`RawLayer`].

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use std::os::unix::fs::FileExt;

use super::dbf::{Dbf, OpenError, Value};
use super::mapping::{RawFeature, RawLayer};
use super::shp::{self, RawShape};
use super::{encoding, LoadError, LoadOptions};
use crate::crs::Crs;
use crate::model::{Layer, LoadIssue, LoadIssueKind};

/// Records decoded per chunk: the raw attribute values of a whole county-sized layer never sit in
/// memory next to the mapped model objects (this was most of the loader's peak memory).
const CHUNK: usize = 1 << 16;

/// What reading one shapefile gives besides its features (which go to the `consume` callback).
#[derive(Debug)]
pub(crate) struct ShapefileRead {
    /// Layer-level issues (encoding guessed, count mismatch, no .prj).
    pub issues: Vec<LoadIssue>,
    /// The CRS the .prj declares, if there is one (what [`Crs::from_wkt`] makes of an
    /// unreadable one, reported in `issues`).
    pub crs: Option<Crs>,
    /// The .prj is there but holds no readable coordinate system.
    pub crs_unreadable: bool,
    /// The `.cpg`, taken on trust, does not fit the text: the read stopped (see [`read`]).
    pub cpg_rejected: bool,
}

/// A sibling file with another extension; stem and extension matched case-insensitively
/// (`ZD.SHP` beside `zd.dbf` happens).
pub(crate) fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    let stem = shp.file_stem()?;
    let dir = shp.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let exact = dir.join(stem).with_extension(ext);
    if exact.is_file() {
        return Some(exact);
    }
    let lower = stem.to_string_lossy().to_lowercase();
    std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        p.file_stem().is_some_and(|s| s.to_string_lossy().to_lowercase() == lower)
            && p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case(ext))
            && p.is_file()
    })
}

enum ScanError {
    Io(std::io::Error),
    Shp(shp::ShpError),
}

/// Record boundaries of a .shp file, read through a small buffer (only the 8-byte record
/// headers are looked at; the contents are skipped).
fn scan_spans(file: &std::fs::File, len: usize, declared: usize) -> Result<Vec<(usize, usize)>, ScanError> {
    use std::io::{BufReader, Read, Seek, SeekFrom};
    let mut reader = BufReader::with_capacity(1 << 20, file);
    reader.seek(SeekFrom::Start(0)).map_err(ScanError::Io)?;
    let mut at = 0usize;
    let mut io_error = None;
    let spans = shp::record_spans_with(len, declared, |pos| {
        let mut h = [0u8; 8];
        let skip = i64::try_from(pos - at).unwrap_or(i64::MAX);
        match reader.seek_relative(skip).and_then(|()| reader.read_exact(&mut h)) {
            Ok(()) => {
                at = pos + 8;
                Ok(h)
            }
            Err(e) => {
                io_error = Some(e);
                Err(shp::ShpError(String::new()))
            }
        }
    });
    match (spans, io_error) {
        (_, Some(e)) => Err(ScanError::Io(e)),
        (Ok(spans), None) => Ok(spans),
        (Err(e), None) => Err(ScanError::Shp(e)),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io { path: path.to_path_buf(), source })
}

fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = read_file(path)?;
    Ok(String::from_utf8_lossy(&bytes).trim_start_matches('\u{feff}').trim().to_owned())
}

/// Read one shapefile layer, handing its features to `consume` in record order, in chunks
/// (at least one call, possibly with no features, so that an empty layer is still mapped).
///
/// With `trust_cpg`, a `.cpg` naming a known encoding is used without first scanning the whole
/// table for text that does not fit it (the scan decoded every text field a second time): the
/// text is checked as it is decoded, and if some of it does not fit, the read stops with
/// [`ShapefileRead::cpg_rejected`] set, after handing over the chunks before it. The caller
/// then drops what it got and reads again without `trust_cpg`, which chooses the encoding as
/// before. Only for callers that can drop chunks (not for streaming importers).
pub(crate) fn read(
    shp_path: &Path,
    layer: Layer,
    options: &LoadOptions,
    trust_cpg: bool,
    consume: &mut dyn FnMut(&mut RawLayer),
) -> Result<ShapefileRead, LoadError> {
    read_chunked(shp_path, layer, options, trust_cpg, options.chunk_records.unwrap_or(CHUNK).max(1), consume)
}

/// [`read`] with a chunk size (tests use small ones).
fn read_chunked(
    shp_path: &Path,
    layer: Layer,
    options: &LoadOptions,
    trust_cpg: bool,
    chunk: usize,
    consume: &mut dyn FnMut(&mut RawLayer),
) -> Result<ShapefileRead, LoadError> {
    let corrupt = |path: &Path, detail: String| LoadError::Corrupt { path: path.to_path_buf(), detail };
    fn io_err(path: &Path) -> impl Fn(std::io::Error) -> LoadError + '_ {
        move |source| LoadError::Io { path: path.to_path_buf(), source }
    }
    // Neither file is read whole: the .shp is scanned once for its record boundaries, then
    // both are read a chunk of records at a time into reused buffers.
    let shp_file = std::fs::File::open(shp_path).map_err(io_err(shp_path))?;
    let shp_len = usize::try_from(shp_file.metadata().map_err(io_err(shp_path))?.len()).unwrap_or(usize::MAX);
    let mut head = vec![0u8; shp_len.min(100)];
    shp_file.read_exact_at(&mut head, 0).map_err(io_err(shp_path))?;
    let header = shp::read_header(&head).map_err(|e| corrupt(shp_path, e.0))?;
    let spans = scan_spans(&shp_file, shp_len, header.declared_len).map_err(|e| match e {
        ScanError::Io(source) => LoadError::Io { path: shp_path.to_path_buf(), source },
        ScanError::Shp(e) => corrupt(shp_path, e.0),
    })?;
    let dbf_path = sibling(shp_path, "dbf");
    let dbf = match &dbf_path {
        Some(p) => Dbf::open(p).map_err(|e| match e {
            OpenError::Io(source) => LoadError::Io { path: p.clone(), source },
            OpenError::Corrupt(detail) => corrupt(p, detail),
        })?,
        None => Dbf::empty(),
    };
    let source = shp_path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut issues = Vec::new();
    let mut layer_issue = |kind: LoadIssueKind, message: String| {
        issues.push(LoadIssue { layer, source: source.clone(), source_index: None, code: None, kind, message });
    };

    if dbf_path.is_none() {
        layer_issue(
            LoadIssueKind::MissingAttributeTable,
            "missing .dbf (attribute table): geometry read without attributes".into(),
        );
    }
    let cpg = sibling(shp_path, "cpg").map(|p| read_text(&p)).transpose()?;
    // The .cpg's encoding taken on trust (checked while decoding), when there is nothing else
    // to decide: no forced encoding, and field names that fit it.
    let trusted = cpg
        .as_deref()
        .filter(|_| trust_cpg && options.encoding.is_none())
        .and_then(encoding::from_name)
        .filter(|&enc| dbf.fields.iter().all(|f| encoding::fits(enc, &f.name)));
    let chosen = match trusted {
        Some(encoding) => encoding::Chosen { encoding, guessed: None },
        None => encoding::choose(options.encoding, cpg.as_deref(), dbf.ldid, &dbf)
            .map_err(|detail| LoadError::Encoding { path: dbf_path.clone().unwrap_or_default(), detail })?,
    };
    if let Some(reason) = &chosen.guessed {
        layer_issue(
            LoadIssueKind::EncodingGuessed { used: chosen.encoding.name().to_owned(), reason: reason.clone() },
            format!("read as {}: {reason}", chosen.encoding.name()),
        );
    }
    let enc = chosen.encoding;
    let field_names: Vec<String> = dbf.fields.iter().map(|f| enc.decode(&f.name).0.trim().to_owned()).collect();
    let read_column = super::mapping::columns_to_read(&field_names, options);

    let (shapes, records) = (spans.len(), dbf.records);
    if dbf_path.is_some() && (shapes != records || dbf.declared_records != dbf.records) {
        layer_issue(
            LoadIssueKind::RecordCountMismatch { shapes, records: dbf.declared_records },
            format!(
                "{shapes} shapes but the .dbf declares {} records ({} present); unmatched records are reported one by one",
                dbf.declared_records, dbf.records
            ),
        );
    }
    let prj_path = sibling(shp_path, "prj");
    let prj = prj_path.as_deref().map(read_text).transpose()?;
    let mut prj_issue = None;
    let (crs, crs_unreadable) = match prj.as_deref().map(|text| (text, super::prj::read(text))) {
        None => {
            layer_issue(LoadIssueKind::MissingPrj, "no .prj: the coordinate reference system is not declared".into());
            (None, false)
        }
        Some((_, Ok(crs))) => (Some(crs), false),
        Some((text, Err(detail))) => {
            // Named after the .prj itself: that is the file to replace.
            let name = prj_path.as_deref().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            let message =
                format!("{name} holds no readable coordinate system ({detail}): units, areas and zone are unknown");
            let kind = LoadIssueKind::UnreadableCrs { detail };
            prj_issue = Some(LoadIssue { layer, source: name, source_index: None, code: None, kind, message });
            (Some(Crs::from_wkt(text)), true)
        }
    };
    if let Some(problem) = header_length_problem(&shp_file, shp_len, header.declared_len, &spans) {
        let (declared, actual) = (header.declared_len as u64, shp_len as u64);
        layer_issue(LoadIssueKind::HeaderLengthMismatch { declared, actual }, problem);
    }
    match sibling(shp_path, "shx") {
        None => layer_issue(
            LoadIssueKind::MissingIndex,
            "no .shx (index): the .shp was read record by record; software that needs the index may not open it".into(),
        ),
        Some(shx) => {
            if let Some(detail) = index_problem(&shx, &spans).map_err(io_err(&shx))? {
                let message = format!(".shx does not match the .shp ({detail}); the .shp was read without it");
                layer_issue(LoadIssueKind::IndexMismatch { detail }, message);
            }
        }
    }
    issues.extend(prj_issue);

    let total = shapes.max(records);
    let n = field_names.len();
    // Set when trusted .cpg text turns out not to fit (checked in parallel).
    let rejected = std::sync::atomic::AtomicBool::new(false);
    let (mut shp_buf, mut dbf_buf) = (Vec::new(), Vec::new());
    // One layer value for all chunks, so that its buffers are reused (see `RawLayer::values`).
    let mut raw = RawLayer { source: source.clone(), field_names, features: Vec::new(), values: Vec::new(), total };
    let mut first = 0;
    loop {
        let end = (first + chunk).min(total);
        // The chunk's .shp bytes: from its first record's content to its last one's end.
        let chunk_spans = spans.get(first.min(shapes)..end.min(shapes)).unwrap_or(&[]);
        let base = chunk_spans.first().map_or(0, |&(start, _)| start);
        let stop = chunk_spans.last().map_or(base, |&(start, len)| start + len);
        // The buffer only ever grows: zero-filling it again for every chunk cost a memset of
        // the whole file, and the read overwrites it anyway.
        if shp_buf.len() < stop - base {
            shp_buf.resize(stop - base, 0);
        }
        shp_file.read_exact_at(&mut shp_buf[..stop - base], base as u64).map_err(io_err(shp_path))?;
        let recs = dbf
            .load(first, end, &mut dbf_buf)
            .map_err(|source| LoadError::Io { path: dbf_path.clone().unwrap_or_default(), source })?;
        let shp_bytes = shp_buf.as_slice();
        raw.features.clear();
        raw.features.par_extend((first..end).into_par_iter().map(|i| {
            let shape = spans.get(i).map_or(RawShape::Null, |&(start, len)| {
                shp::parse_record(&shp_bytes[start - base..start - base + len])
            });
            RawFeature { index: i, shape }
        }));
        raw.values.clear();
        raw.values.resize((end - first) * n, Value::Null);
        if n > 0 {
            raw.values.par_chunks_mut(n).enumerate().for_each(|(k, row)| {
                let Some(rec) = recs.get(first + k) else { return };
                let mut fits = true;
                for ((slot, f), &read) in row.iter_mut().zip(&dbf.fields).zip(&read_column) {
                    match (read, trusted.is_some() && f.kind == b'C') {
                        (true, false) => *slot = dbf.value(rec, f, enc),
                        (true, true) => {
                            let (value, ok) = dbf.text_value_checked(rec, f, enc);
                            *slot = value;
                            fits &= ok;
                        }
                        (false, true) => fits &= encoding::fits(enc, dbf.raw(rec, f)),
                        (false, false) => {}
                    }
                }
                if !fits {
                    rejected.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        if rejected.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(ShapefileRead { issues, crs, crs_unreadable, cpg_rejected: true });
        }
        consume(&mut raw);
        first = end;
        if first >= total {
            break;
        }
    }
    Ok(ShapefileRead { issues, crs, crs_unreadable, cpg_rejected: false })
}

/// Why the header's file length (`declared`) disagrees with the file's (`len`), when it matters:
/// a header claiming more than the file holds (the records present were read, all whole, or the
/// scan would have failed), or real data after the declared end (ignored); zero padding after
/// it is harmless.
fn header_length_problem(
    file: &std::fs::File,
    len: usize,
    declared: usize,
    spans: &[(usize, usize)],
) -> Option<String> {
    let read = spans.last().map_or(100, |&(start, n)| start + n);
    if declared > len || declared < 100 {
        return Some(format!(
            "the .shp header says the file has {declared} bytes, it has {len}: read the {} whole records in the \
             {read} bytes present",
            spans.len()
        ));
    }
    if declared == len {
        return None;
    }
    // Bytes after the declared end: padding if all zero.
    let mut at = declared;
    let mut buf = vec![0u8; (len - declared).min(1 << 16)];
    while at < len {
        let n = buf.len().min(len - at);
        if file.read_exact_at(&mut buf[..n], at as u64).is_err() || buf[..n].iter().any(|&b| b != 0) {
            return Some(format!(
                "the .shp header says the file has {declared} bytes, it has {len}: the {} bytes after the declared \
                 end were not read",
                len - declared
            ));
        }
        at += n;
    }
    None
}

/// Whether the .shx at `path` describes the records found in the .shp (`spans`: content start
/// and length in bytes); `Some(what differs)` when it does not. Read in one pass through a
/// small buffer: 8 bytes per record.
fn index_problem(path: &Path, spans: &[(usize, usize)]) -> std::io::Result<Option<String>> {
    use std::io::{BufReader, Read};
    let file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let want = 100 + 8 * spans.len();
    if len != want {
        let entries = len.saturating_sub(100) / 8;
        return Ok(Some(format!("{entries} index entries ({len} bytes) for {} records", spans.len())));
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut head = [0u8; 100];
    reader.read_exact(&mut head)?;
    if head[..4] != 9994i32.to_be_bytes() {
        return Ok(Some("not a shapefile index (bad file code)".to_owned()));
    }
    let mut entry = [0u8; 8];
    for (i, &(start, n)) in spans.iter().enumerate() {
        reader.read_exact(&mut entry)?;
        let offset = i32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]);
        let words = i32::from_be_bytes([entry[4], entry[5], entry[6], entry[7]]);
        let expected = ((start - 8) / 2, n / 2);
        if (usize::try_from(offset).ok(), usize::try_from(words).ok()) != (Some(expected.0), Some(expected.1)) {
            return Ok(Some(format!(
                "entry {} points at word {offset} ({words} words), the record is at word {} ({} words)",
                i + 1,
                expected.0,
                expected.1
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::dbf::tests::build;
    use crate::io::dbf::Value;

    /// A polygon .shp of `n` unit squares and its .dbf of `rows` (ZDDM, ZL, YSDM: text), with a
    /// `.cpg` when given.
    fn write_layer(dir: &Path, rows: &[[Vec<u8>; 3]], cpg: Option<&str>) -> PathBuf {
        let mut records = Vec::new();
        for (i, _) in rows.iter().enumerate() {
            let x = i as f64 * 10.0;
            let ring: [(f64, f64); 5] = [(x, 0.0), (x, 1.0), (x + 1.0, 1.0), (x + 1.0, 0.0), (x, 0.0)];
            let mut rec = Vec::new();
            rec.extend(5i32.to_le_bytes());
            rec.extend([0u8; 32]);
            rec.extend(1i32.to_le_bytes());
            rec.extend(5i32.to_le_bytes());
            rec.extend(0i32.to_le_bytes());
            for (x, y) in ring {
                rec.extend(x.to_le_bytes());
                rec.extend(y.to_le_bytes());
            }
            records.extend(((i + 1) as i32).to_be_bytes());
            records.extend(((rec.len() / 2) as i32).to_be_bytes());
            records.extend(rec);
        }
        let mut shp = vec![0u8; 100];
        shp[0..4].copy_from_slice(&9994i32.to_be_bytes());
        shp[24..28].copy_from_slice(&(((100 + records.len()) / 2) as i32).to_be_bytes());
        shp[32..36].copy_from_slice(&5i32.to_le_bytes());
        shp.extend(records);
        let path = dir.join("ZD.shp");
        std::fs::write(&path, shp).expect("shp");
        let rows: Vec<Vec<&[u8]>> = rows.iter().map(|r| r.iter().map(Vec::as_slice).collect()).collect();
        let dbf = build(&[(b"ZDDM", b'C', 19), (b"ZL", b'C', 12), (b"YSDM", b'C', 8)], &rows, true);
        std::fs::write(dir.join("ZD.dbf"), dbf).expect("dbf");
        if let Some(cpg) = cpg {
            std::fs::write(dir.join("ZD.cpg"), cpg).expect("cpg");
        }
        path
    }

    type Read = (Vec<String>, Vec<(usize, RawShape)>, Vec<Value>, Vec<LoadIssue>);

    /// Everything a read hands over, with the caller's retry when the trusted .cpg is rejected.
    fn collect(path: &Path, options: &LoadOptions, trust: bool, chunk: usize) -> Result<Read, String> {
        let (mut names, mut shapes, mut values) = (Vec::new(), Vec::new(), Vec::new());
        let read = read_chunked(path, Layer::Parcels, options, trust, chunk, &mut |raw| {
            names.clone_from(&raw.field_names);
            shapes.extend(raw.features.iter().map(|f| (f.index, f.shape.clone())));
            values.extend(raw.values.iter().cloned());
        })
        .map_err(|e| e.to_string())?;
        if read.cpg_rejected {
            assert!(trust, "only a trusted .cpg is rejected");
            return collect(path, options, false, chunk);
        }
        Ok((names, shapes, values, read.issues))
    }

    const TEXTS: &[&[u8]] = &[
        b"ZD",
        b"",
        b"\xb2\xe2\xca\xd4",         // 测试 in GBK
        "测试".as_bytes(),           // UTF-8
        b"Caf\xe9",                  // Latin-1
        b"\xb2",                     // GBK cut in the middle of a character
        b"\xef\xbb\xbf\xe6\xb5\x8b", // UTF-8 with a byte-order mark
    ];

    proptest::proptest! {
        /// Taking the .cpg on trust and checking the text while decoding it reads exactly what
        /// checking the whole table first reads: values, encoding issues, errors.
        #[test]
        fn trusted_cpg_reads_like_the_full_check(
            picks in proptest::collection::vec((0..TEXTS.len(), 0..TEXTS.len(), 0..TEXTS.len()), 0..9),
            cpg in proptest::option::of(proptest::sample::select(vec!["936", "UTF-8", "1252", "<html>"])),
            only_zl in proptest::bool::ANY,
            chunk in 1usize..4,
        ) {
            let dir = std::env::temp_dir().join(format!("cadastre-cpg-trust-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("dir");
            let rows: Vec<[Vec<u8>; 3]> =
                picks.iter().map(|&(a, b, c)| [TEXTS[a].to_vec(), TEXTS[b].to_vec(), TEXTS[c].to_vec()]).collect();
            let path = write_layer(&dir, &rows, cpg);
            let mut options = LoadOptions::default();
            if only_zl {
                options.only_attributes = Some(vec!["ZL".to_owned()]);
            }
            let trusted = collect(&path, &options, true, chunk);
            let checked = collect(&path, &options, false, chunk);
            let _ = std::fs::remove_dir_all(&dir);
            proptest::prop_assert_eq!(trusted, checked);
        }
    }

    #[test]
    fn a_lying_cpg_found_in_a_later_chunk_is_read_again() {
        let dir = std::env::temp_dir().join(format!("cadastre-cpg-late-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut rows: Vec<[Vec<u8>; 3]> = (0..5).map(|_| [b"A".to_vec(), b"B".to_vec(), b"C".to_vec()]).collect();
        rows.push([b"A".to_vec(), b"\xb2\xe2".to_vec(), b"C".to_vec()]); // GBK, the .cpg says UTF-8
        let path = write_layer(&dir, &rows, Some("UTF-8"));
        let mut chunks = 0;
        let read =
            read_chunked(&path, Layer::Parcels, &LoadOptions::default(), true, 2, &mut |_| chunks += 1).expect("reads");
        assert!(read.cpg_rejected);
        assert_eq!(chunks, 2, "stopped at the chunk with the text that does not fit");
        let (_, _, values, issues) = collect(&path, &LoadOptions::default(), true, 2).expect("reads");
        assert_eq!(values[5 * 3 + 1], Value::Text("测".to_owned()));
        assert!(issues.iter().any(|i| matches!(&i.kind, LoadIssueKind::EncodingGuessed { used, .. } if used == "GBK")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
