//! Signing keys: an SM2 key (GB/T 32918, signatures over SM3 with the standard
//! default user id) and an Ed25519 key beside it, known together by one key id.
//!
//! Files (PEM, readable by stock tools):
//! - `<key id>.key`: the SM2 PKCS#8 private key, then the Ed25519 one; mode 0600.
//!   OpenSSL reads the first block: `openssl pkey -in <id>.key -noout -text`.
//! - `<key id>.pub`: the two public keys (SPKI), in the same order.
//! - `<key id>.rotation` (after a rotation): the old key's signed statement that
//!   this key succeeds it (TUF-style), carried in every package the new key signs.
//!
//! ```
//! use share_sync::keys::KeyPair;
//! let key = KeyPair::generate();
//! let signature = key.sign(b"manifest");
//! assert!(key.public().verify(b"manifest", &signature).is_ok());
//! assert!(key.public().verify(b"manifest!", &signature).is_err());
//! ```

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm3::Digest as _;

/// GB/T 32918's default distinguishing identifier (user id) "1234567812345678",
/// which OpenSSL also uses (`-pkeyopt distid:1234567812345678`).
pub const DISTID: &str = "1234567812345678";

/// Errors of key handling.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file that is not what it should be.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A private key file others may read.
    #[error("{path}: private key file is readable by others (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// A signature that does not verify.
    #[error("bad {0} signature")]
    BadSignature(&'static str),
}

/// Both signatures over one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatures {
    /// SM2 signature, DER (ASN.1 SEQUENCE of r and s), as OpenSSL writes it.
    pub sm2_der: Vec<u8>,
    /// Ed25519 signature, 64 bytes.
    pub ed25519: Vec<u8>,
}

/// A private signing key pair.
pub struct KeyPair {
    sm2: sm2::dsa::SigningKey,
    ed25519: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("id", &self.public.id).finish_non_exhaustive()
    }
}

/// A public key pair with its id.
#[derive(Clone)]
pub struct PublicKey {
    sm2: sm2::dsa::VerifyingKey,
    ed25519: ed25519_dalek::VerifyingKey,
    id: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("id", &self.id).finish()
    }
}

fn format_err(path: &Path, reason: impl std::fmt::Display) -> KeyError {
    KeyError::Format { path: path.to_owned(), reason: reason.to_string() }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

/// The PEM blocks of a file, in order.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ") {
            if let Some(block) = current.take() {
                blocks.push(block);
            }
        }
    }
    blocks
}

impl KeyPair {
    /// A new random key pair (operating-system randomness).
    pub fn generate() -> Self {
        let mut sm2_bytes = [0u8; 32];
        let sm2 = loop {
            rand::rngs::OsRng.fill_bytes(&mut sm2_bytes);
            // Fails only for zero or a scalar >= the group order: draw again.
            if let Ok(k) = sm2::dsa::SigningKey::from_slice(DISTID, &sm2_bytes) {
                break k;
            }
        };
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let ed25519 = ed25519_dalek::SigningKey::from_bytes(&seed);
        Self::from_parts(sm2, ed25519)
    }

    fn from_parts(sm2: sm2::dsa::SigningKey, ed25519: ed25519_dalek::SigningKey) -> Self {
        let public = PublicKey::from_parts(sm2.verifying_key().clone(), ed25519.verifying_key());
        Self { sm2, ed25519, public }
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.public.id
    }

    /// Signs with both keys. SM2 signing is deterministic (RFC 6979 nonces).
    pub fn sign(&self, message: &[u8]) -> Signatures {
        let sm2: sm2::dsa::Signature = self.sm2.sign(message);
        let ed: ed25519_dalek::Signature = self.ed25519.sign(message);
        Signatures { sm2_der: sm2.to_der().to_vec(), ed25519: ed.to_bytes().to_vec() }
    }

    /// The private key file's text: two PKCS#8 PEM blocks.
    fn private_pem(&self) -> Result<String, String> {
        let secret = sm2::SecretKey::from_bytes(&self.sm2.to_bytes()).map_err(|e| e.to_string())?;
        let sm2_pem = sm2::pkcs8::EncodePrivateKey::to_pkcs8_pem(&secret, sm2::pkcs8::LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let ed_pem = self
            .ed25519
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| e.to_string())?;
        Ok(format!("{}{}", sm2_pem.as_str(), ed_pem.as_str()))
    }

    /// Reads a private key file, refusing one that others may read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        check_private_mode(path)?;
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let blocks = pem_blocks(&text);
        let [sm2_pem, ed_pem] = blocks.as_slice() else {
            return Err(format_err(
                path,
                format!("expected 2 PEM private keys (SM2, Ed25519), found {}", blocks.len()),
            ));
        };
        let secret: sm2::SecretKey = sm2::pkcs8::DecodePrivateKey::from_pkcs8_pem(sm2_pem)
            .map_err(|e| format_err(path, format!("first key is not an SM2 PKCS#8 key: {e}")))?;
        let sm2 = sm2::dsa::SigningKey::new(DISTID, &secret).map_err(|e| format_err(path, e))?;
        let ed25519 = ed25519_dalek::SigningKey::from_pkcs8_pem(ed_pem)
            .map_err(|e| format_err(path, format!("second key is not an Ed25519 PKCS#8 key: {e}")))?;
        Ok(Self::from_parts(sm2, ed25519))
    }

    /// Writes `<id>.key` (mode 0600, created exclusively) and `<id>.pub` into `dir`;
    /// returns the private key's path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, KeyError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let key_path = dir.join(format!("{}.key", self.id()));
        let pem = self.private_pem().map_err(|e| format_err(&key_path, e))?;
        write_new(&key_path, pem.as_bytes(), 0o600)?;
        let pub_path = dir.join(format!("{}.pub", self.id()));
        write_new(&pub_path, self.public.to_pem().as_bytes(), 0o644)?;
        Ok(key_path)
    }

    /// A statement, signed by this (old) key, that `new` succeeds it.
    pub fn certify_successor(&self, new: &PublicKey) -> Rotation {
        let statement = Rotation::statement(self.id(), new);
        let sigs = self.sign(statement.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD;
        Rotation {
            old_key_id: self.id().to_owned(),
            new_key_id: new.id.clone(),
            new_public_pem: new.to_pem(),
            sm2_signature: b64.encode(&sigs.sm2_der),
            ed25519_signature: b64.encode(&sigs.ed25519),
        }
    }
}

/// Creates a file that must not exist yet, with `mode`, and syncs it.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options.open(path).map_err(io_err(path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io_err(path))
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path).map_err(io_err(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

impl PublicKey {
    fn from_parts(sm2: sm2::dsa::VerifyingKey, ed25519: ed25519_dalek::VerifyingKey) -> Self {
        // Key id: the first 16 hex digits of SM3(SM2 SEC1 point || Ed25519 key).
        let mut h = sm3::Sm3::new();
        h.update(sm2.to_sec1_bytes());
        h.update(ed25519.as_bytes());
        let id = hex::encode(&h.finalize()[..8]);
        Self { sm2, ed25519, id }
    }

    /// The key id (16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key file's text: two SPKI PEM blocks (SM2 first).
    pub fn to_pem(&self) -> String {
        let sm2 =
            sm2::pkcs8::EncodePublicKey::to_public_key_pem(&self.sm2, sm2::pkcs8::LineEnding::LF).unwrap_or_default();
        let ed =
            self.ed25519.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).unwrap_or_default();
        format!("{sm2}{ed}")
    }

    /// Parses the text of a public key file.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let blocks = pem_blocks(text);
        let [sm2_pem, ed_pem] = blocks.as_slice() else {
            return Err(format!("expected 2 PEM public keys (SM2, Ed25519), found {}", blocks.len()));
        };
        let sm2_public: sm2::PublicKey = sm2::pkcs8::DecodePublicKey::from_public_key_pem(sm2_pem)
            .map_err(|e| format!("first key is not an SM2 public key: {e}"))?;
        let sm2 = sm2::dsa::VerifyingKey::new(DISTID, sm2_public).map_err(|e| e.to_string())?;
        let ed25519 = ed25519_dalek::VerifyingKey::from_public_key_pem(ed_pem)
            .map_err(|e| format!("second key is not an Ed25519 public key: {e}"))?;
        Ok(Self::from_parts(sm2, ed25519))
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        Self::from_pem(&text).map_err(|e| format_err(path, e))
    }

    /// Both signatures must verify.
    pub fn verify(&self, message: &[u8], sigs: &Signatures) -> Result<(), KeyError> {
        let sm2 = sm2::dsa::Signature::from_der(&sigs.sm2_der).map_err(|_| KeyError::BadSignature("SM2"))?;
        self.sm2.verify(message, &sm2).map_err(|_| KeyError::BadSignature("SM2"))?;
        let ed = ed25519_dalek::Signature::from_slice(&sigs.ed25519).map_err(|_| KeyError::BadSignature("Ed25519"))?;
        self.ed25519.verify_strict(message, &ed).map_err(|_| KeyError::BadSignature("Ed25519"))
    }
}

/// A key rotation: the old key vouches for the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The key that signed this statement.
    pub old_key_id: String,
    /// The key it hands over to.
    pub new_key_id: String,
    /// The new public keys (the `.pub` file's text).
    pub new_public_pem: String,
    /// SM2 signature (DER, base64) of [`Rotation::statement`].
    pub sm2_signature: String,
    /// Ed25519 signature (base64) of the statement.
    pub ed25519_signature: String,
}

impl Rotation {
    fn statement(old_key_id: &str, new: &PublicKey) -> String {
        format!("share-sync key rotation\nold {old_key_id}\nnew {}\n{}", new.id, new.to_pem())
    }

    /// The new key, if `old` (the key this statement names) signed the statement.
    pub fn verify(&self, old: &PublicKey) -> Result<PublicKey, String> {
        if old.id != self.old_key_id {
            return Err(format!("rotation is signed by {}, not {}", self.old_key_id, old.id));
        }
        let new = PublicKey::from_pem(&self.new_public_pem)?;
        if new.id != self.new_key_id {
            return Err(format!("rotation names key {} but carries key {}", self.new_key_id, new.id));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let sigs = Signatures {
            sm2_der: b64.decode(&self.sm2_signature).map_err(|e| e.to_string())?,
            ed25519: b64.decode(&self.ed25519_signature).map_err(|e| e.to_string())?,
        };
        old.verify(Self::statement(&self.old_key_id, &new).as_bytes(), &sigs).map_err(|e| e.to_string())?;
        Ok(new)
    }

    /// The rotation file kept beside a private key (`<id>.rotation`), if any.
    pub fn beside(key_path: &Path) -> Result<Option<Self>, KeyError> {
        let path = key_path.with_extension("rotation");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format_err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KeyError::Io { path, source: e }),
        }
    }

    /// Writes `<new id>.rotation` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, KeyError> {
        let path = dir.join(format!("{}.rotation", self.new_key_id));
        let json = serde_json::to_vec_pretty(self).map_err(|e| format_err(&path, e))?;
        write_new(&path, &json, 0o644)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_files_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate();
        let path = key.save(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let loaded = KeyPair::load(&path).unwrap();
        assert_eq!(loaded.id(), key.id());
        let public = PublicKey::load(&path.with_extension("pub")).unwrap();
        assert_eq!(public.id(), key.id());
        let sigs = loaded.sign(b"hello");
        public.verify(b"hello", &sigs).unwrap();
        // Saving twice refuses to overwrite.
        assert!(key.save(dir.path()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_private_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = KeyPair::generate().save(dir.path()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyPair::load(&path).unwrap_err();
        assert!(matches!(err, KeyError::Permissions { mode: 0o644, .. }), "{err}");
    }

    #[test]
    fn each_signature_is_checked() {
        let key = KeyPair::generate();
        let mut sigs = key.sign(b"m");
        sigs.ed25519[5] ^= 1;
        assert!(matches!(key.public().verify(b"m", &sigs), Err(KeyError::BadSignature("Ed25519"))));
        let mut sigs = key.sign(b"m");
        let n = sigs.sm2_der.len();
        sigs.sm2_der[n - 3] ^= 1;
        assert!(matches!(key.public().verify(b"m", &sigs), Err(KeyError::BadSignature("SM2"))));
        let other = KeyPair::generate();
        assert!(other.public().verify(b"m", &key.sign(b"m")).is_err());
    }

    #[test]
    fn a_rotation_verifies_only_with_the_old_key() {
        let (old, new, stranger) = (KeyPair::generate(), KeyPair::generate(), KeyPair::generate());
        let rotation = old.certify_successor(new.public());
        assert_eq!(rotation.verify(old.public()).unwrap().id(), new.id());
        assert!(rotation.verify(stranger.public()).is_err());
        let mut forged = stranger.certify_successor(new.public());
        forged.old_key_id = old.id().to_owned();
        assert!(forged.verify(old.public()).is_err());
    }

    /// A signature we make verifies with stock OpenSSL 3 (SM2, SM3 digest, the default
    /// user id), and one OpenSSL makes verifies with us: operators can check packages.
    #[test]
    fn sm2_signatures_interoperate_with_openssl() {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let key = KeyPair::generate();
        let key_path = key.save(d).unwrap();
        let message = "share-sync 互通 test\n".as_bytes();
        fs::write(d.join("msg"), message).unwrap();
        fs::write(d.join("ours.sig"), key.sign(message).sm2_der).unwrap();
        let pkeyutl = |args: &[&str]| {
            let out = Command::new("openssl").arg("pkeyutl").args(args).current_dir(d).output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let distid = format!("distid:{DISTID}");
        let pub_file = key_path.with_extension("pub");
        let pub_file = pub_file.to_str().unwrap();
        let (ok, out) = pkeyutl(&[
            "-verify", "-pubin", "-inkey", pub_file, "-rawin", "-digest", "sm3", "-pkeyopt", &distid, "-in", "msg",
            "-sigfile", "ours.sig",
        ]);
        assert!(ok && out.contains("Signature Verified Successfully"), "{out}");
        // A wrong user id must fail: the id really enters the digest.
        let (ok, _) = pkeyutl(&[
            "-verify",
            "-pubin",
            "-inkey",
            pub_file,
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:someone-else",
            "-in",
            "msg",
            "-sigfile",
            "ours.sig",
        ]);
        assert!(!ok);

        // The reverse: OpenSSL's key and signature, checked by the sm2 crate.
        let gen = Command::new("openssl")
            .args(["genpkey", "-algorithm", "SM2", "-out", "theirs.key"])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(gen.status.success(), "{}", String::from_utf8_lossy(&gen.stderr));
        let pubout = Command::new("openssl")
            .args(["pkey", "-in", "theirs.key", "-pubout", "-out", "theirs.pub"])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(pubout.status.success());
        let (ok, out) = pkeyutl(&[
            "-sign",
            "-inkey",
            "theirs.key",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            &distid,
            "-in",
            "msg",
            "-out",
            "theirs.sig",
        ]);
        assert!(ok, "{out}");
        let pem = fs::read_to_string(d.join("theirs.pub")).unwrap();
        let public: sm2::PublicKey = sm2::pkcs8::DecodePublicKey::from_public_key_pem(&pem).unwrap();
        let verifier = sm2::dsa::VerifyingKey::new(DISTID, public).unwrap();
        let sig = sm2::dsa::Signature::from_der(&fs::read(d.join("theirs.sig")).unwrap()).unwrap();
        verifier.verify(message, &sig).unwrap();
        assert!(verifier.verify(b"other", &sig).is_err());
        // And OpenSSL reads our private key file (its first block is the SM2 key).
        let read =
            Command::new("openssl").args(["pkey", "-in", key_path.to_str().unwrap(), "-noout"]).output().unwrap();
        assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    }
}
