//! Reading a package: [`verify`] checks the archive layout, the signatures and every
//! member's digests and row counts without looking at the data; [`for_each_line`] then
//! reads the records, checking the SHA-256 again so a file changed between the two
//! passes is caught before its transaction commits.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2_011::Digest as _;

use super::manifest::{sm3_hex, FileEntry, Manifest, ED25519_SIG, FORMAT, MANIFEST, ROTATION, SM2_SIG};
use super::records::DATA_FILES;
use crate::keys::{PublicKey, Rotation, Signatures};

/// Largest manifest, signature and rotation member accepted (they are small).
const SMALL_LIMIT: u64 = 4 << 20;

/// Why a package was refused. Nothing of a refused package is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The file could not be read at all.
    #[error("unreadable: {0}")]
    Unreadable(String),
    /// The archive ends early.
    #[error("truncated: {0}")]
    Truncated(String),
    /// Not a package of this format, or members missing, extra or out of order.
    #[error("not a valid package: {0}")]
    Malformed(String),
    /// Signed by a key the receiver does not trust.
    #[error("wrongly signed: key {0} is not trusted")]
    UntrustedKey(String),
    /// Signed by a key that was rotated out before this sequence number.
    #[error("wrongly signed: key {key} was retired at sequence {retired_at} by a rotation; this package has sequence {sequence}")]
    RetiredKey {
        /// The key.
        key: String,
        /// First sequence the key may no longer sign.
        retired_at: u64,
        /// The package's sequence number.
        sequence: u64,
    },
    /// A signature does not verify.
    #[error("tampered or wrongly signed: {0}")]
    BadSignature(String),
    /// A member's digest, size or row count differs from the manifest.
    #[error("tampered: {0}")]
    Tampered(String),
}

/// The keys a receiver trusts, and when rotated-out keys stopped being valid.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: HashMap<String, PublicKey>,
    retired: HashMap<String, u64>,
}

impl Keyring {
    /// Adds a trusted key.
    pub fn trust(&mut self, key: PublicKey) {
        self.keys.insert(key.id().to_owned(), key);
    }

    /// Marks `key_id` as unusable from `sequence` on (a rotation to another key
    /// applied at that sequence).
    pub fn retire(&mut self, key_id: &str, sequence: u64) {
        let at = self.retired.entry(key_id.to_owned()).or_insert(sequence);
        *at = (*at).min(sequence);
    }

    /// Whether a key is trusted (directly).
    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.get(key_id)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn check_not_retired(&self, key_id: &str, sequence: u64) -> Result<(), Rejection> {
        match self.retired.get(key_id) {
            Some(&retired_at) if sequence >= retired_at => {
                Err(Rejection::RetiredKey { key: key_id.to_owned(), retired_at, sequence })
            }
            _ => Ok(()),
        }
    }
}

/// A package whose signatures and digests check out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Where it is.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// SM3 of `manifest.json` (what the next package's `previous` names).
    pub manifest_sm3: String,
    /// The key that signed it.
    pub signer: PublicKey,
    /// The rotation that introduced the signer, when it carried one.
    pub rotation: Option<Rotation>,
}

fn tar_error(e: &io::Error) -> Rejection {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Rejection::Truncated(e.to_string())
    } else {
        Rejection::Malformed(e.to_string())
    }
}

/// Reads a small member fully.
fn read_small(entry: &mut tar::Entry<'_, impl Read>, what: &str) -> Result<Vec<u8>, Rejection> {
    let size = entry.header().size().map_err(|e| Rejection::Malformed(format!("{what}: {e}")))?;
    if size > SMALL_LIMIT {
        return Err(Rejection::Malformed(format!("{what} is {size} bytes")));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.read_to_end(&mut bytes).map_err(|e| tar_error(&e))?;
    if (bytes.len() as u64) < size {
        return Err(Rejection::Truncated(format!("{what} ends early")));
    }
    Ok(bytes)
}

/// The next member, which must be named `name`.
fn expect_entry<'a, R: Read>(entries: &mut tar::Entries<'a, R>, name: &str) -> Result<tar::Entry<'a, R>, Rejection> {
    let entry = entries
        .next()
        .ok_or_else(|| Rejection::Truncated(format!("the archive ends before {name}")))?
        .map_err(|e| tar_error(&e))?;
    let path = entry.path_bytes();
    if path.as_ref() != name.as_bytes() {
        return Err(Rejection::Malformed(format!("expected member {name}, found {}", String::from_utf8_lossy(&path))));
    }
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(Rejection::Malformed(format!("{name} is not a regular file")));
    }
    Ok(entry)
}

/// Checks a package: layout, manifest, signatures by a trusted (or rotated-in) key,
/// and every member's size, row count, SM3 and SHA-256. Reads the file once.
pub fn verify(path: &Path, keyring: &Keyring) -> Result<Verified, Rejection> {
    let file = File::open(path).map_err(|e| Rejection::Unreadable(e.to_string()))?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
    let mut entries = archive.entries().map_err(|e| tar_error(&e))?;
    let manifest_bytes = read_small(&mut expect_entry(&mut entries, MANIFEST)?, MANIFEST)?;
    let sm2_der = read_small(&mut expect_entry(&mut entries, SM2_SIG)?, SM2_SIG)?;
    let ed25519 = read_small(&mut expect_entry(&mut entries, ED25519_SIG)?, ED25519_SIG)?;
    // Parsed before it is verified only to learn the key id; nothing else is used
    // until the signature checks out.
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| Rejection::BadSignature(format!("manifest.json does not parse ({e})")))?;
    let sigs = Signatures { sm2_der, ed25519 };
    let mut files = manifest.files.iter().peekable();
    let mut rotation = None;
    let signer = if let Some(key) = keyring.get(&manifest.key_id) {
        key.clone()
    } else if files.peek().is_some_and(|f| f.name == ROTATION) {
        // A key introduced by a rotation: the statement must be signed by a trusted key.
        let mut entry = expect_entry(&mut entries, ROTATION)?;
        let bytes = read_small(&mut entry, ROTATION)?;
        let statement: Rotation =
            serde_json::from_slice(&bytes).map_err(|e| Rejection::Malformed(format!("rotation.json: {e}")))?;
        let old = keyring.get(&statement.old_key_id).ok_or_else(|| {
            Rejection::UntrustedKey(format!("{} (rotated from {})", manifest.key_id, statement.old_key_id))
        })?;
        let new = statement.verify(old).map_err(|e| Rejection::BadSignature(format!("rotation.json: {e}")))?;
        if new.id() != manifest.key_id {
            return Err(Rejection::UntrustedKey(manifest.key_id.clone()));
        }
        keyring.check_not_retired(old.id(), manifest.sequence)?;
        if let Some(entry) = files.next() {
            check_digests(entry, &bytes)?;
        }
        rotation = Some(statement);
        new
    } else {
        return Err(Rejection::UntrustedKey(manifest.key_id.clone()));
    };
    signer.verify(&manifest_bytes, &sigs).map_err(|e| Rejection::BadSignature(format!("manifest.json: {e}")))?;
    keyring.check_not_retired(signer.id(), manifest.sequence)?;
    check_manifest(&manifest)?;
    for expected in files {
        let entry = expect_entry(&mut entries, &expected.name)?;
        if expected.name == ROTATION {
            // Signed by a directly trusted key: the statement is informative only.
            let bytes = read_small(&mut { entry }, ROTATION)?;
            check_digests(expected, &bytes)?;
            rotation = serde_json::from_slice(&bytes).ok();
            continue;
        }
        digest_member(entry, expected)?;
    }
    match entries.next() {
        None => check_length(path, &manifest, &[manifest_bytes.len(), sigs.sm2_der.len(), sigs.ed25519.len()])?,
        Some(Ok(extra)) => {
            return Err(Rejection::Malformed(format!(
                "unexpected member {}",
                String::from_utf8_lossy(&extra.path_bytes())
            )))
        }
        Some(Err(e)) => return Err(tar_error(&e)),
    }
    Ok(Verified { path: path.to_owned(), manifest_sm3: sm3_hex(&manifest_bytes), manifest, signer, rotation })
}

/// The archive must end exactly where its last member and the end-of-archive marker
/// (two zero blocks) end: a cut-off marker or appended bytes are refused too.
fn check_length(path: &Path, manifest: &Manifest, heads: &[usize]) -> Result<(), Rejection> {
    let block = |n: u64| 512 + n.div_ceil(512) * 512;
    let expected: u64 = heads.iter().map(|&n| block(n as u64)).sum::<u64>()
        + manifest.files.iter().map(|f| block(f.bytes)).sum::<u64>()
        + 1024;
    let actual = std::fs::metadata(path).map_err(|e| Rejection::Unreadable(e.to_string()))?.len();
    match actual.cmp(&expected) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Rejection::Truncated(format!("{actual} of {expected} bytes"))),
        std::cmp::Ordering::Greater => Err(Rejection::Malformed(format!("{} bytes after the end", actual - expected))),
    }
}

fn check_manifest(m: &Manifest) -> Result<(), Rejection> {
    if m.format != FORMAT {
        return Err(Rejection::Malformed(format!("format {:?}, this receiver reads {FORMAT:?}", m.format)));
    }
    crate::package::manifest::check_sender(&m.sender).map_err(Rejection::Malformed)?;
    if m.sequence == 0 || (m.sequence == 1) != m.previous.is_none() {
        return Err(Rejection::Malformed(format!(
            "sequence {} with previous {:?}: only sequence 1 starts a chain",
            m.sequence, m.previous
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in m.files.iter().enumerate() {
        let known = DATA_FILES.iter().any(|(name, kind)| *name == f.name && *kind == m.kind);
        if !(known || (f.name == ROTATION && i == 0)) || !seen.insert(f.name.as_str()) {
            return Err(Rejection::Malformed(format!("unexpected member {} in a {} package", f.name, m.kind.as_str())));
        }
    }
    Ok(())
}

fn check_digests(expected: &FileEntry, bytes: &[u8]) -> Result<(), Rejection> {
    if bytes.len() as u64 != expected.bytes
        || sm3_hex(bytes) != expected.sm3
        || hex::encode(sha2_011::Sha256::digest(bytes)) != expected.sha256
    {
        return Err(Rejection::Tampered(format!("{} does not match its digests", expected.name)));
    }
    Ok(())
}

/// Streams a member through SM3, SHA-256 and a line count.
fn digest_member(mut entry: tar::Entry<'_, impl Read>, expected: &FileEntry) -> Result<(), Rejection> {
    let size = entry.header().size().map_err(|e| Rejection::Malformed(e.to_string()))?;
    if size != expected.bytes {
        return Err(Rejection::Tampered(format!(
            "{} is {size} bytes, the manifest says {}",
            expected.name, expected.bytes
        )));
    }
    let (mut sm3, mut sha) = (sm3::Sm3::default(), sha2_011::Sha256::default());
    let (mut read, mut lines) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = entry.read(&mut buf).map_err(|e| tar_error(&e))?;
        if n == 0 {
            break;
        }
        sm3::Digest::update(&mut sm3, &buf[..n]);
        sha.update(&buf[..n]);
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        read += n as u64;
    }
    if read != expected.bytes {
        return Err(Rejection::Truncated(format!("{} ends after {read} of {} bytes", expected.name, expected.bytes)));
    }
    if hex::encode(sm3::Digest::finalize(sm3)) != expected.sm3 {
        return Err(Rejection::Tampered(format!("{}: SM3 digest differs from the manifest", expected.name)));
    }
    if hex::encode(sha.finalize()) != expected.sha256 {
        return Err(Rejection::Tampered(format!("{}: SHA-256 digest differs from the manifest", expected.name)));
    }
    if lines != expected.rows {
        return Err(Rejection::Tampered(format!(
            "{} has {lines} lines, the manifest says {}",
            expected.name, expected.rows
        )));
    }
    Ok(())
}

/// Calls `each(member, line)` for every data line of a verified package, in archive
/// order, then checks each member's SHA-256 again. Returns the first error of `each`
/// or a mismatch; the caller rolls back its transaction on any error.
pub fn for_each_line(
    verified: &Verified,
    mut each: impl FnMut(&str, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let file = File::open(&verified.path).map_err(|e| format!("{}: {e}", verified.path.display()))?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
    let entries = archive.entries().map_err(|e| e.to_string())?;
    let mut expected = verified.manifest.files.iter().filter(|f| f.name != ROTATION);
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if !name.starts_with("data/") {
            continue;
        }
        let want = expected.next().ok_or_else(|| format!("{name} is not in the manifest"))?;
        if want.name != name {
            return Err(format!("{name} is out of order"));
        }
        let mut sha = sha2_011::Sha256::default();
        let mut reader = BufReader::with_capacity(1 << 20, entry);
        let mut line = Vec::with_capacity(1024);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(|e| e.to_string())? == 0 {
                break;
            }
            sha.update(&line);
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            each(&name, body)?;
        }
        if hex::encode(sha.finalize()) != want.sha256 {
            return Err(format!("{name} changed after it was verified"));
        }
    }
    if expected.next().is_some() {
        return Err("members missing on the second read".into());
    }
    Ok(())
}
