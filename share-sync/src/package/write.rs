//! Writing a package: data files are streamed into a private temporary directory
//! while their digests are taken, then the archive is written under a temporary
//! name, synced and renamed into the outbox, so the outbox never holds a partial
//! package whatever moment the process dies at.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2_011::Digest as _;

use super::manifest::{FileEntry, Manifest, ED25519_SIG, MANIFEST, ROTATION, SM2_SIG};
use crate::keys::{KeyPair, Rotation};

/// Prefix of temporary names in the outbox; left-overs of a killed run are removed
/// by the next one.
pub const TEMP_PREFIX: &str = ".share-sync-tmp-";

/// A data file being written: JSON Lines, digested as it goes.
pub struct DataFile {
    name: String,
    path: PathBuf,
    out: BufWriter<File>,
    sm3: sm3::Sm3,
    sha256: sha2_011::Sha256,
    rows: u64,
    bytes: u64,
    line: Vec<u8>,
}

impl DataFile {
    /// Appends one record as a line.
    pub fn push<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.sm3.update(&self.line);
        self.sha256.update(&self.line);
        self.out.write_all(&self.line)?;
        self.rows += 1;
        self.bytes += self.line.len() as u64;
        Ok(())
    }

    /// Records so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn finish(self) -> io::Result<(FileEntry, PathBuf)> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let entry = FileEntry {
            name: self.name,
            rows: self.rows,
            bytes: self.bytes,
            sm3: hex::encode(self.sm3.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
        };
        Ok((entry, self.path))
    }
}

/// A package under construction in `outbox`.
pub struct PackageWriter {
    outbox: PathBuf,
    scratch: PathBuf,
    files: Vec<DataFile>,
}

impl PackageWriter {
    /// Starts a package: a scratch directory inside the outbox (same file system, so
    /// the final rename is atomic). Removes scratch left by killed runs first.
    pub fn new(outbox: &Path) -> io::Result<Self> {
        fs::create_dir_all(outbox)?;
        remove_leftovers(outbox)?;
        let scratch = outbox.join(format!("{TEMP_PREFIX}{}-{}", std::process::id(), rand::random::<u32>()));
        fs::create_dir(&scratch)?;
        Ok(Self { outbox: outbox.to_owned(), scratch, files: Vec::new() })
    }

    /// Opens a data file (member name like `data/units.jsonl`) and returns its index.
    pub fn open(&mut self, name: &str) -> io::Result<usize> {
        let path = self.scratch.join(name.replace('/', "_"));
        let out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        self.files.push(DataFile {
            name: name.to_owned(),
            path,
            out,
            sm3: sm3::Sm3::default(),
            sha256: sha2_011::Sha256::default(),
            rows: 0,
            bytes: 0,
            line: Vec::with_capacity(1024),
        });
        Ok(self.files.len() - 1)
    }

    /// The data file opened as `index`.
    pub fn file(&mut self, index: usize) -> &mut DataFile {
        &mut self.files[index]
    }

    /// Rows over all data files so far.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(DataFile::rows).sum()
    }

    /// Drops the package (nothing changed): removes the scratch directory.
    pub fn abandon(self) -> io::Result<()> {
        fs::remove_dir_all(&self.scratch)
    }

    /// Completes the manifest (`files`, `key_id`), signs it, writes the archive under
    /// a temporary name, syncs it, renames it to [`Manifest::file_name`] and syncs the
    /// directory. `before_rename` runs between the sync and the rename (a test hook).
    /// Returns the path and the manifest's bytes.
    pub fn finish(
        self,
        mut manifest: Manifest,
        key: &KeyPair,
        rotation: Option<&Rotation>,
        before_rename: impl FnOnce(),
    ) -> io::Result<(PathBuf, Vec<u8>)> {
        let mut members = Vec::new();
        let rotation_bytes = rotation.map(serde_json::to_vec_pretty).transpose().map_err(io::Error::other)?;
        if let Some(bytes) = &rotation_bytes {
            manifest.files.push(FileEntry {
                name: ROTATION.to_owned(),
                rows: 1,
                bytes: bytes.len() as u64,
                sm3: super::manifest::sm3_hex(bytes),
                sha256: hex::encode(sha2_011::Sha256::digest(bytes)),
            });
        }
        for file in self.files {
            let (entry, path) = file.finish()?;
            manifest.files.push(entry);
            members.push(path);
        }
        manifest.key_id = key.id().to_owned();
        let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
        manifest_bytes.push(b'\n');
        let sigs = key.sign(&manifest_bytes);

        let final_path = self.outbox.join(manifest.file_name());
        if final_path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", final_path.display()),
            ));
        }
        let temp_path = self.scratch.join("package.tar");
        let mtime = u64::try_from(manifest.created_at.timestamp()).unwrap_or(0);
        {
            let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(&temp_path)?));
            let mut add = |name: &str, size: u64, data: &mut dyn io::Read| {
                let mut header = tar::Header::new_ustar();
                header.set_size(size);
                header.set_mode(0o644);
                header.set_mtime(mtime);
                header.set_entry_type(tar::EntryType::Regular);
                tar.append_data(&mut header, name, data)
            };
            add(MANIFEST, manifest_bytes.len() as u64, &mut manifest_bytes.as_slice())?;
            add(SM2_SIG, sigs.sm2_der.len() as u64, &mut sigs.sm2_der.as_slice())?;
            add(ED25519_SIG, sigs.ed25519.len() as u64, &mut sigs.ed25519.as_slice())?;
            let mut paths = members.iter();
            for entry in &manifest.files {
                if entry.name == ROTATION {
                    let bytes = rotation_bytes.as_deref().unwrap_or_default();
                    add(ROTATION, bytes.len() as u64, &mut &bytes[..])?;
                } else if let Some(path) = paths.next() {
                    add(&entry.name, entry.bytes, &mut File::open(path)?)?;
                }
            }
            let out = tar.into_inner()?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        before_rename();
        fs::rename(&temp_path, &final_path)?;
        sync_dir(&self.outbox)?;
        fs::remove_dir_all(&self.scratch)?;
        Ok((final_path, manifest_bytes))
    }
}

/// Removes scratch directories and temporary files of earlier, killed runs.
fn remove_leftovers(outbox: &Path) -> io::Result<()> {
    for entry in fs::read_dir(outbox)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(path)?;
            } else {
                fs::remove_file(path)?;
            }
        }
    }
    Ok(())
}

/// Syncs a directory so a rename in it survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Writes `bytes` to `path` atomically: temporary name, sync, rename, directory sync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!("{TEMP_PREFIX}{name}-{}", std::process::id()));
    {
        let mut f = File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&temp, path)?;
    sync_dir(dir)
}
