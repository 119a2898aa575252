//! Writing a package: from a folder of layers (the CLI, the desktop's export) or file by file.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::manifest::{FileEntry, Manifest, ManifestInput};
use super::qc::{PackedReport, QcReportRef};
use super::read::{hex, validate};
use super::{is_temporary_id, PackageError, MANIFEST_NAME, MANIFEST_TOML};
use crate::io::{load_submission, LoadOptions};

/// Writes a package one file at a time; [`PackageWriter::finish`] adds `manifest.json`.
pub struct PackageWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    files: Vec<FileEntry>,
    qc_report: Option<QcReportRef>,
}

impl<W: Write + Seek> std::fmt::Debug for PackageWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageWriter").field("files", &self.files).finish_non_exhaustive()
    }
}

fn options() -> SimpleFileOptions {
    // A fixed time: the same content gives the same bytes.
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
}

impl<W: Write + Seek> PackageWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        Self { zip: ZipWriter::new(out), files: Vec::new(), qc_report: None }
    }

    /// Adds one file at `path` (`/`-separated, relative).
    pub fn add_file(&mut self, path: &str, bytes: &[u8]) -> Result<(), PackageError> {
        let zip_err =
            |e: zip::result::ZipError| PackageError::Io { path: path.into(), source: std::io::Error::other(e) };
        self.zip.start_file(path, options()).map_err(zip_err)?;
        self.zip.write_all(bytes).map_err(PackageError::io(path))?;
        self.files.push(FileEntry {
            path: path.to_owned(),
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
        });
        Ok(())
    }

    /// Adds the QC report run before packing (`qc/report.json` and `qc/report.html`); the
    /// manifest names it in [`Manifest::qc_report`].
    pub fn add_qc_report(&mut self, packed: &PackedReport) -> Result<(), PackageError> {
        let reference = packed.reference();
        self.add_file(&reference.json, packed.json.as_bytes())?;
        if let Some(html) = &reference.html {
            self.add_file(html, packed.html.as_bytes())?;
        }
        self.qc_report = Some(reference);
        Ok(())
    }

    /// Writes `manifest.json` (the given fields, the files added so far) and ends the archive.
    pub fn finish(mut self, mut manifest: Manifest) -> Result<(Manifest, W), PackageError> {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.files = self.files;
        if self.qc_report.is_some() {
            manifest.qc_report = self.qc_report;
        }
        validate(&manifest)?;
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::InvalidManifest(e.to_string()))?;
        let zip_err = |e: zip::result::ZipError| PackageError::Io {
            path: MANIFEST_NAME.into(),
            source: std::io::Error::other(e),
        };
        self.zip.start_file(MANIFEST_NAME, options()).map_err(zip_err)?;
        self.zip.write_all(&json).map_err(PackageError::io(MANIFEST_NAME))?;
        let out = self.zip.finish().map_err(zip_err)?;
        Ok((manifest, out))
    }
}

/// Files under `dir`, relative `/`-separated paths, sorted; hidden files and the manifests skipped.
fn collect(dir: &Path) -> Result<Vec<(String, PathBuf)>, PackageError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(PackageError::io(&d))? {
            let path = e.map_err(PackageError::io(&d))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let rel = rel.join("/");
            if rel == MANIFEST_TOML || rel == MANIFEST_NAME {
                continue;
            }
            out.push((rel, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The county of a folder's data: the first 6 characters of its parcel codes (temporary
/// ids left out), else of its sub-district codes; it must be one county.
fn derive_county(dir: &Path) -> Result<String, PackageError> {
    let sub = load_submission(dir, &LoadOptions::default()).map_err(|e| PackageError::UnknownCounty(e.to_string()))?;
    let mut counties: Vec<String> = sub
        .parcels
        .iter()
        .map(|p| p.zddm.trim())
        .chain(sub.subdistricts.iter().map(|s| s.djzqdm.trim()))
        .filter(|c| !is_temporary_id(c))
        .filter_map(|c| c.get(..6))
        .filter(|c| c.parse::<unit_code::CountyCode>().is_ok())
        .map(str::to_owned)
        .collect();
    counties.sort();
    counties.dedup();
    match counties.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(PackageError::UnknownCounty("no parcel or sub-district code names one".into())),
        many => {
            Err(PackageError::UnknownCounty(format!("the codes name {} counties ({})", many.len(), many.join(", "))))
        }
    }
}

/// Builds a package from a folder of layers (shapefiles or a GeoPackage, `buildings/*.csv`,
/// `*.apportion.json`, JZD CSV...). The manifest's fields come from `dir/manifest.toml`
/// when present; what it leaves out is derived (county from the codes, business kind 首次).
pub fn build_from_dir<W: Write + Seek>(dir: &Path, out: W) -> Result<Manifest, PackageError> {
    let toml_path = dir.join(MANIFEST_TOML);
    let input: ManifestInput = if toml_path.is_file() {
        let text = std::fs::read_to_string(&toml_path).map_err(PackageError::io(&toml_path))?;
        toml::from_str(&text).map_err(|e| PackageError::InvalidManifest(format!("{MANIFEST_TOML}: {e}")))?
    } else {
        ManifestInput::default()
    };
    let county = match input.county {
        Some(c) => c,
        None => derive_county(dir)?,
    };
    let mut manifest = Manifest::new(&county);
    manifest.project = input.project.unwrap_or_default();
    manifest.survey_firm = input.survey_firm.unwrap_or_default();
    manifest.business_kind = input.business_kind.unwrap_or_default();
    manifest.replaces = input.replaces;
    manifest.created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut writer = PackageWriter::new(out);
    for (rel, path) in collect(dir)? {
        let bytes = std::fs::read(&path).map_err(PackageError::io(&path))?;
        writer.add_file(&rel, &bytes)?;
    }
    Ok(writer.finish(manifest)?.0)
}
