//! Reading a package: structure first (names, sizes, manifest, listing), from the zip's
//! central directory without unpacking anything; then the content, streamed through
//! SHA-256 with the byte limits enforced on what is actually inflated (headers can lie).

use std::collections::BTreeSet;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use super::{Manifest, PackageError, FORMAT_VERSION, MANIFEST_NAME};

/// Limits against zip bombs and oversized uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in the archive (files and folders).
    pub max_entries: usize,
    /// Bytes of all files once unpacked.
    pub max_unpacked_bytes: u64,
    /// Unpacked / packed size of one entry. Shapefiles and CSV compress 3-30×; hundreds is a bomb.
    pub max_ratio: u64,
    /// Entries smaller than this are not held to the ratio (tiny files compress absurdly well).
    pub ratio_min_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_entries: 10_000, max_unpacked_bytes: 4 << 30, max_ratio: 200, ratio_min_bytes: 1 << 20 }
    }
}

/// An opened package whose structure was checked: [`Package::verify`] or
/// [`Package::extract_to`] then check every byte against the manifest.
///
/// ```
/// use cadastre_core::package::{build_from_dir, Limits, Package};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("manifest.toml"), "county = \"330106\"\n")?;
/// std::fs::write(dir.path().join("notes.txt"), "宗地分割说明")?;
/// let mut zip = std::io::Cursor::new(Vec::new());
/// build_from_dir(dir.path(), &mut zip)?;
/// let mut pkg = Package::open(std::io::Cursor::new(zip.into_inner()), &Limits::default())?;
/// assert_eq!(pkg.manifest().county, "330106");
/// pkg.verify()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Package<R> {
    archive: ZipArchive<R>,
    manifest: Manifest,
    limits: Limits,
}

/// Whether a zip entry name stays inside the package folder. Refused: absolute paths,
/// `..`, drive letters, backslashes (a Windows separator a reader may honour), NUL, empty parts.
fn escapes(name: &str) -> bool {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    trimmed.is_empty()
        || trimmed.starts_with('/')
        || trimmed.contains('\\')
        || trimmed.contains('\0')
        || trimmed.contains(':')
        || trimmed.split('/').any(|part| part.is_empty() || part == "." || part == "..")
}

impl<R: Read + Seek> Package<R> {
    /// Opens a package and checks its structure, in this order: a readable zip; entry
    /// count; every name inside the folder; declared sizes and ratios; `manifest.json`
    /// present, of a known format version and well formed; files listed = files present.
    pub fn open(reader: R, limits: &Limits) -> Result<Self, PackageError> {
        let mut archive = ZipArchive::new(reader).map_err(|e| PackageError::NotZip(e.to_string()))?;
        if archive.len() > limits.max_entries {
            return Err(PackageError::ZipBomb(format!(
                "{} entries, the limit is {}",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut names = BTreeSet::new();
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(|e| PackageError::NotZip(e.to_string()))?;
            let name = entry.name().map_err(|e| PackageError::NotZip(e.to_string()))?.into_owned();
            if escapes(&name) {
                return Err(PackageError::PathEscape(name));
            }
            if entry.is_dir() {
                continue;
            }
            total = total.saturating_add(entry.size());
            if total > limits.max_unpacked_bytes {
                return Err(PackageError::ZipBomb(format!(
                    "more than {} bytes once unpacked",
                    limits.max_unpacked_bytes
                )));
            }
            let ratio = entry.size() / entry.compressed_size().max(1);
            if entry.size() >= limits.ratio_min_bytes && ratio > limits.max_ratio {
                return Err(PackageError::ZipBomb(format!(
                    "{name} unpacks {ratio}× its packed size, the limit is {}×",
                    limits.max_ratio
                )));
            }
            if !names.insert(name.clone()) {
                return Err(PackageError::ExtraFile(format!("{name} (twice)")));
            }
        }
        if !names.contains(MANIFEST_NAME) {
            return Err(PackageError::MissingManifest);
        }
        let manifest = read_manifest(&mut archive, limits)?;
        let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        if let Some(missing) = listed.iter().find(|p| !names.contains(**p)) {
            return Err(PackageError::MissingFile((*missing).to_owned()));
        }
        if let Some(extra) = names.iter().find(|n| n.as_str() != MANIFEST_NAME && !listed.contains(n.as_str())) {
            return Err(PackageError::ExtraFile(extra.clone()));
        }
        Ok(Self { archive, manifest, limits: *limits })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Refuses a package whose county is not in `counties`.
    pub fn check_scope(&self, counties: &[String]) -> Result<(), PackageError> {
        if counties.contains(&self.manifest.county) {
            Ok(())
        } else {
            Err(PackageError::CountyOutOfScope { county: self.manifest.county.clone() })
        }
    }

    /// The packed QC report's JSON ([`Manifest::qc_report`]), checked against its digest;
    /// `None` for a package without one.
    pub fn qc_report(&mut self) -> Result<Option<serde_json::Value>, PackageError> {
        let Some(path) = self.manifest.qc_report.as_ref().map(|r| r.json.clone()) else { return Ok(None) };
        let bytes = self.read_file(&path)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| PackageError::InvalidManifest(format!("{path} is not a QC report: {e}")))
    }

    /// Reads every listed file and checks its size and SHA-256.
    pub fn verify(&mut self) -> Result<(), PackageError> {
        self.each_file(|_| Ok(Box::new(std::io::sink())))
    }

    /// Unpacks every listed file under `dir` (which should be empty), checking each as it
    /// goes. On an error, what was written stays: unpack into a temporary folder.
    pub fn extract_to(&mut self, dir: &Path) -> Result<(), PackageError> {
        self.each_file(|path| {
            let target: PathBuf = path.split('/').fold(dir.to_path_buf(), |p, part| p.join(part));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(PackageError::io(parent))?;
            }
            let file = std::fs::File::create(&target).map_err(PackageError::io(&target))?;
            Ok(Box::new(std::io::BufWriter::new(file)))
        })
    }

    /// The content of one listed file, checked against its digest.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>, PackageError> {
        let Some(entry) = self.manifest.files.iter().find(|f| f.path == path).cloned() else {
            return Err(PackageError::MissingFile(path.to_owned()));
        };
        let mut out = Vec::new();
        copy_checked(
            &mut self.archive,
            &entry.path,
            entry.size,
            &entry.sha256,
            &mut out,
            self.limits.max_unpacked_bytes,
        )?;
        Ok(out)
    }

    fn each_file(
        &mut self,
        mut open: impl FnMut(&str) -> Result<Box<dyn Write>, PackageError>,
    ) -> Result<(), PackageError> {
        let mut budget = self.limits.max_unpacked_bytes;
        for entry in self.manifest.files.clone() {
            let mut out = open(&entry.path)?;
            let n = copy_checked(&mut self.archive, &entry.path, entry.size, &entry.sha256, &mut out, budget)?;
            out.flush().map_err(PackageError::io(&entry.path))?;
            budget -= n;
        }
        Ok(())
    }
}

/// Streams one entry into `out` through SHA-256, never inflating more than `budget` bytes
/// or more than the manifest's size for it.
fn copy_checked<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    path: &str,
    size: u64,
    sha256: &str,
    out: &mut dyn Write,
    budget: u64,
) -> Result<u64, PackageError> {
    let file = archive.by_name(path).map_err(|_| PackageError::MissingFile(path.to_owned()))?;
    let cap = size.min(budget);
    // One byte more than allowed tells "too long" from "exactly right".
    let mut limited = file.take(cap + 1);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n: u64 = 0;
    loop {
        let k = match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            // A damaged deflate stream or a CRC error: the content is not what was packed.
            Err(_) => return Err(PackageError::DigestMismatch { path: path.to_owned() }),
        };
        n += k as u64;
        if n > cap {
            if n > budget {
                return Err(PackageError::ZipBomb(format!("{path} unpacks to more than the limit")));
            }
            return Err(PackageError::DigestMismatch { path: path.to_owned() });
        }
        hasher.update(&buf[..k]);
        out.write_all(&buf[..k]).map_err(PackageError::io(path))?;
    }
    if n != size || hex(&hasher.finalize()) != sha256 {
        return Err(PackageError::DigestMismatch { path: path.to_owned() });
    }
    Ok(n)
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest manifest read: a package of a whole county lists a few hundred files.
const MANIFEST_MAX_BYTES: u64 = 16 << 20;

fn read_manifest<R: Read + Seek>(archive: &mut ZipArchive<R>, limits: &Limits) -> Result<Manifest, PackageError> {
    let file = archive.by_name(MANIFEST_NAME).map_err(|_| PackageError::MissingManifest)?;
    let mut text = Vec::new();
    file.take(MANIFEST_MAX_BYTES.min(limits.max_unpacked_bytes) + 1)
        .read_to_end(&mut text)
        .map_err(|e| PackageError::BadManifest(e.to_string()))?;
    if text.len() as u64 > MANIFEST_MAX_BYTES {
        return Err(PackageError::BadManifest(format!("larger than {MANIFEST_MAX_BYTES} bytes")));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| PackageError::BadManifest(e.to_string()))?;
    // The version first: a newer writer's manifest may not parse as this version's shape.
    let version = value.get("format_version").and_then(serde_json::Value::as_u64);
    match version {
        None => return Err(PackageError::BadManifest("no format_version".into())),
        Some(v) if v != u64::from(FORMAT_VERSION) => {
            return Err(PackageError::UnknownVersion {
                found: u32::try_from(v).unwrap_or(u32::MAX),
                known: FORMAT_VERSION,
            })
        }
        Some(_) => {}
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| PackageError::BadManifest(e.to_string()))?;
    validate(&manifest)?;
    Ok(manifest)
}

/// Field checks the JSON shape cannot express.
pub(crate) fn validate(m: &Manifest) -> Result<(), PackageError> {
    let bad = |s: String| Err(PackageError::InvalidManifest(s));
    if m.format != super::FORMAT_NAME {
        return bad(format!("format is {:?}, expected {:?}", m.format, super::FORMAT_NAME));
    }
    if let Err(e) = m.county.parse::<unit_code::CountyCode>() {
        return bad(format!("county {:?}: {e}", m.county));
    }
    for f in &m.files {
        if escapes(&f.path) || f.path.ends_with('/') {
            return Err(PackageError::PathEscape(f.path.clone()));
        }
        if f.path == MANIFEST_NAME {
            return bad("manifest.json lists itself".into());
        }
        if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return bad(format!("{}: sha256 is not 64 lower-case hex digits", f.path));
        }
    }
    if let Some(qc) = &m.qc_report {
        for path in std::iter::once(&qc.json).chain(qc.html.as_ref()) {
            if !m.files.iter().any(|f| &f.path == path) {
                return bad(format!("qc_report names {path}, which is not in files"));
            }
        }
    }
    for r in &m.replaces {
        if let Some(problem) = r.shape_problem() {
            return bad(format!("replaces: {problem}"));
        }
        if let Some(code) =
            r.old.iter().find(|c| !c.starts_with(&m.county) || c.parse::<unit_code::ParcelCode>().is_err())
        {
            return bad(format!("replaces: {code:?} is not a parcel code of county {}", m.county));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escapes;

    #[test]
    fn names_that_leave_the_folder() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\x", "a//b", "./a", ""] {
            assert!(escapes(bad), "{bad}");
        }
        for good in ["ZD.shp", "buildings/330106001001GB00001F0001.csv", "buildings/", "a..b/c"] {
            assert!(!escapes(good), "{good}");
        }
    }
}
