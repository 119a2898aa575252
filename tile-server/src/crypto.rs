//! Personal data (owner name 权利人, ID number 证件号) encrypted at rest and masked
//! in responses.
//!
//! Two ciphers, both GCM with a random 96-bit nonce per value:
//! * **AES-256-GCM** (key 32 bytes);
//! * **SM4-GCM** (GB/T 32907 block cipher, key 16 bytes; RFC 8998's
//!   `TLS_SM4_GCM_SM3` uses the same mode), for offices that must use 国密.
//!
//! Each value is stored as `0xC5 || algorithm || nonce || ciphertext+tag`, so a
//! store written under one algorithm stays readable after switching to the
//! other (keep both keys configured). Values written before the header existed
//! (`nonce || ciphertext`, AES-256-GCM) are still read.
//!
//! The keys come from a file or the environment, never from the database: one
//! entry per line (or comma-separated), `aes-256-gcm:<base64>` or
//! `sm4-gcm:<base64>`; a bare base64 entry is an AES-256 key. The **first** entry
//! encrypts new values; all of them decrypt.
//!
//! ```
//! use tile_server::crypto::{mask_id_number, mask_name, PiiCipher, PiiAlgorithm};
//! let cipher = PiiCipher::from_key_bytes(&[7u8; 32]).unwrap();
//! let sealed = cipher.encrypt("张三丰").unwrap();
//! assert_eq!(cipher.decrypt(&sealed).unwrap(), "张三丰");
//! let sm4 = PiiCipher::from_base64("sm4-gcm:AAECAwQFBgcICQoLDA0ODw==").unwrap();
//! assert_eq!(sm4.algorithm(), PiiAlgorithm::Sm4Gcm);
//! assert_eq!(sm4.decrypt(&sm4.encrypt("李四").unwrap()).unwrap(), "李四");
//! assert_eq!(mask_name("张三丰"), "张**");
//! assert_eq!(mask_id_number("330102199001011234"), "3301**********1234");
//! ```

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, AesGcm, Key, Nonce};
use base64::Engine;
use rand::RngCore;
use sm4::Sm4;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// First byte of a value that names its algorithm.
const HEADER: u8 = 0xC5;

/// SM4 in GCM mode with a 96-bit nonce.
type Sm4Gcm = AesGcm<Sm4, U12>;

/// The at-rest cipher of a value, recorded in its second byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiAlgorithm {
    /// AES-256-GCM.
    Aes256Gcm,
    /// SM4-GCM (国密).
    Sm4Gcm,
}

impl PiiAlgorithm {
    fn tag(self) -> u8 {
        match self {
            Self::Aes256Gcm => 1,
            Self::Sm4Gcm => 2,
        }
    }

    fn from_tag(t: u8) -> Option<Self> {
        match t {
            1 => Some(Self::Aes256Gcm),
            2 => Some(Self::Sm4Gcm),
            _ => None,
        }
    }

    /// The name used in key files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-256-gcm",
            Self::Sm4Gcm => "sm4-gcm",
        }
    }
}

/// Errors of the PII cipher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key text is not valid (length, base64, algorithm name).
    #[error("PII key must be base64 (aes-256-gcm: 32 bytes, sm4-gcm: 16 bytes): {0}")]
    BadKey(String),
    /// Reading the key file failed.
    #[error("cannot read PII key file: {0}")]
    KeyFile(#[source] std::io::Error),
    /// Ciphertext too short, tampered with, or made with another key.
    #[error("PII value cannot be decrypted (wrong key or corrupted)")]
    Decrypt,
    /// Encryption failed (should not happen with a valid key).
    #[error("PII encryption failed")]
    Encrypt,
}

/// The PII cipher: the algorithm new values are written with, and the keys of
/// every algorithm configured (to read values written under either).
#[derive(Clone)]
pub struct PiiCipher {
    primary: PiiAlgorithm,
    aes: Option<Aes256Gcm>,
    sm4: Option<Sm4Gcm>,
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PiiCipher({}, <redacted>)", self.primary.name())
    }
}

impl PiiCipher {
    /// From the raw 32-byte AES-256 key.
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, CryptoError> {
        let mut c = Self { primary: PiiAlgorithm::Aes256Gcm, aes: None, sm4: None };
        c.add(PiiAlgorithm::Aes256Gcm, key)?;
        Ok(c)
    }

    fn add(&mut self, alg: PiiAlgorithm, key: &[u8]) -> Result<(), CryptoError> {
        match alg {
            PiiAlgorithm::Aes256Gcm => {
                if key.len() != 32 {
                    return Err(CryptoError::BadKey(format!("an AES-256 key is 32 bytes, got {}", key.len())));
                }
                self.aes = Some(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)));
            }
            PiiAlgorithm::Sm4Gcm => {
                if key.len() != 16 {
                    return Err(CryptoError::BadKey(format!("an SM4 key is 16 bytes, got {}", key.len())));
                }
                self.sm4 = Some(Sm4Gcm::new(aes_gcm::aead::generic_array::GenericArray::from_slice(key)));
            }
        }
        Ok(())
    }

    /// From key text: entries separated by newlines or commas, each
    /// `aes-256-gcm:<base64>`, `sm4-gcm:<base64>` or bare base64 (AES-256); the
    /// first entry's algorithm encrypts new values.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let mut cipher: Option<Self> = None;
        for entry in text.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty() && !e.starts_with('#')) {
            let (alg, b64) = match entry.split_once(':') {
                Some(("aes-256-gcm", k)) => (PiiAlgorithm::Aes256Gcm, k),
                Some(("sm4-gcm", k)) => (PiiAlgorithm::Sm4Gcm, k),
                Some((other, _)) => {
                    return Err(CryptoError::BadKey(format!("unknown algorithm {other:?} (aes-256-gcm or sm4-gcm)")))
                }
                None => (PiiAlgorithm::Aes256Gcm, entry),
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| CryptoError::BadKey(e.to_string()))?;
            let c = cipher.get_or_insert(Self { primary: alg, aes: None, sm4: None });
            c.add(alg, &bytes)?;
        }
        cipher.ok_or_else(|| CryptoError::BadKey("no key".into()))
    }

    /// From a file holding the key entries.
    pub fn from_file(path: &std::path::Path) -> Result<Self, CryptoError> {
        Self::from_base64(&std::fs::read_to_string(path).map_err(CryptoError::KeyFile)?)
    }

    /// The algorithm new values are encrypted with.
    pub fn algorithm(&self) -> PiiAlgorithm {
        self.primary
    }

    /// Encrypts one value with the primary algorithm, recording it in the value.
    pub fn encrypt(&self, plain: &str) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let n = Nonce::from_slice(&nonce);
        let ct = match self.primary {
            PiiAlgorithm::Aes256Gcm => self.aes.as_ref().map(|c| c.encrypt(n, plain.as_bytes())),
            PiiAlgorithm::Sm4Gcm => self.sm4.as_ref().map(|c| c.encrypt(n, plain.as_bytes())),
        }
        .ok_or(CryptoError::Encrypt)?
        .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(2 + NONCE_LEN + ct.len());
        out.extend_from_slice(&[HEADER, self.primary.tag()]);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn open(&self, alg: PiiAlgorithm, body: &[u8]) -> Option<Vec<u8>> {
        if body.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ct) = body.split_at(NONCE_LEN);
        let n = Nonce::from_slice(nonce);
        match alg {
            PiiAlgorithm::Aes256Gcm => self.aes.as_ref()?.decrypt(n, ct).ok(),
            PiiAlgorithm::Sm4Gcm => self.sm4.as_ref()?.decrypt(n, ct).ok(),
        }
    }

    /// Decrypts one value, whichever configured algorithm wrote it.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<String, CryptoError> {
        let tagged = match sealed {
            [HEADER, alg, body @ ..] => PiiAlgorithm::from_tag(*alg).and_then(|a| self.open(a, body)),
            _ => None,
        };
        // A value from before the header (AES-256-GCM, `nonce || ct`); its random
        // nonce may happen to start like a header, hence tried in any case.
        let plain = tagged.or_else(|| self.open(PiiAlgorithm::Aes256Gcm, sealed)).ok_or(CryptoError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Decrypt)
    }
}

/// Masks a name: first character kept, the rest as `*` (张三 → 张*, 张三丰 → 张**).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
    }
}

/// Masks an ID number: first 4 and last 4 kept when longer than 8, otherwise all `*`.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars.iter().enumerate().map(|(i, c)| if i < 4 || i >= n - 4 { *c } else { '*' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cipher() -> PiiCipher {
        PiiCipher::from_key_bytes(&[42u8; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn wrong_key_and_tampering_are_detected() {
        let sealed = cipher().encrypt("李四").unwrap_or_default();
        let other = PiiCipher::from_key_bytes(&[1u8; 32]).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(other.decrypt(&sealed), Err(CryptoError::Decrypt)));
        let mut bad = sealed.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(cipher().decrypt(&bad).is_err());
        assert!(cipher().decrypt(&sealed[..5]).is_err());
    }

    #[test]
    fn same_plaintext_gives_different_ciphertexts() {
        assert_ne!(cipher().encrypt("王五").ok(), cipher().encrypt("王五").ok());
    }

    #[test]
    fn bad_keys_are_errors() {
        assert!(PiiCipher::from_key_bytes(&[0u8; 16]).is_err());
        assert!(PiiCipher::from_base64("not base64!").is_err());
    }

    #[test]
    fn values_name_their_algorithm_and_both_stay_readable() {
        let aes = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
        let sm4 = base64::engine::general_purpose::STANDARD.encode([5u8; 16]);
        let old = cipher();
        let legacy = {
            // The format before the header: nonce || ciphertext (AES-256-GCM).
            let mut nonce = [0u8; NONCE_LEN];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
            let c = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&[42u8; 32]));
            let mut v = nonce.to_vec();
            v.extend(c.encrypt(Nonce::from_slice(&nonce), "旧值".as_bytes()).unwrap_or_default());
            v
        };
        let by_aes = old.encrypt("王五").unwrap_or_default();
        assert_eq!(by_aes[..2], [HEADER, 1]);
        // Switch new writes to SM4, keep the AES key for what is stored.
        let both =
            PiiCipher::from_base64(&format!("sm4-gcm:{sm4}\naes-256-gcm:{aes}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(both.algorithm(), PiiAlgorithm::Sm4Gcm);
        let by_sm4 = both.encrypt("赵六").unwrap_or_default();
        assert_eq!(by_sm4[..2], [HEADER, 2]);
        assert_eq!(both.decrypt(&by_aes).ok().as_deref(), Some("王五"));
        assert_eq!(both.decrypt(&by_sm4).ok().as_deref(), Some("赵六"));
        assert_eq!(both.decrypt(&legacy).ok().as_deref(), Some("旧值"));
        assert!(old.decrypt(&by_sm4).is_err(), "without the SM4 key an SM4 value cannot be read");
        assert!(PiiCipher::from_base64("des:AAAA").is_err());
        assert!(PiiCipher::from_base64(&format!("sm4-gcm:{aes}")).is_err(), "SM4 keys are 16 bytes");
    }

    /// SM4-GCM test vector of RFC 8998 appendix A.1 (with its AAD): the mode is the standard one.
    #[test]
    fn sm4_gcm_matches_rfc_8998() {
        use aes_gcm::aead::Payload;
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
        };
        let key = hex("0123456789ABCDEFFEDCBA9876543210");
        let iv = hex("00001234567800000000ABCD");
        let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let pt = hex(concat!(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD",
            "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
        ));
        let want = hex(concat!(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735",
            "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
            "83DE3541E4C2B58177E065A9BF7B62EC"
        ));
        let c = Sm4Gcm::new(aes_gcm::aead::generic_array::GenericArray::from_slice(&key));
        let got = c.encrypt(Nonce::from_slice(&iv), Payload { msg: &pt, aad: &aad }).unwrap_or_default();
        assert_eq!(got, want);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_id_number("330102199001011234"), "3301**********1234");
        assert_eq!(mask_id_number("1234"), "****");
    }

    proptest! {
        #[test]
        fn roundtrip(s in "\\PC{0,40}") {
            let c = cipher();
            let sealed = c.encrypt(&s).unwrap_or_default();
            prop_assert_eq!(c.decrypt(&sealed).ok(), Some(s.clone()));
            // The plaintext bytes never appear in the sealed value (for non-trivial input).
            if s.len() >= 4 {
                prop_assert!(!sealed.windows(s.len()).any(|w| w == s.as_bytes()));
            }
        }

        #[test]
        fn masked_name_keeps_only_first_char(s in "\\PC{1,20}") {
            let m = mask_name(&s);
            prop_assert_eq!(m.chars().count(), s.chars().count());
            prop_assert_eq!(m.chars().next(), s.chars().next());
            prop_assert!(m.chars().skip(1).all(|c| c == '*'));
        }

        #[test]
        fn masked_id_reveals_at_most_eight_chars(s in "[0-9X]{0,20}") {
            let m = mask_id_number(&s);
            prop_assert_eq!(m.chars().count(), s.chars().count());
            prop_assert!(m.chars().filter(|c| *c != '*').count() <= 8);
        }
    }
}
