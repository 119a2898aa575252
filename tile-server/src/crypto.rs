//! Personal data (owner name 权利人, ID number 证件号) encrypted at rest and masked
//! in responses.
//!
//! AES-256-GCM with a random 96-bit nonce per value; stored as `nonce || ciphertext`.
//! The key comes from a file or the environment, never from the database.
//!
//! ```
//! use tile_server::crypto::{mask_id_number, mask_name, PiiCipher};
//! let cipher = PiiCipher::from_key_bytes(&[7u8; 32]).unwrap();
//! let sealed = cipher.encrypt("张三丰").unwrap();
//! assert_eq!(cipher.decrypt(&sealed).unwrap(), "张三丰");
//! assert_eq!(mask_name("张三丰"), "张**");
//! assert_eq!(mask_id_number("330102199001011234"), "3301**********1234");
//! ```

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use rand::RngCore;

const NONCE_LEN: usize = 12;

/// Errors of the PII cipher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The key is not 32 bytes of base64.
    #[error("PII key must be 32 bytes, base64-encoded: {0}")]
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

/// AES-256-GCM for PII columns.
#[derive(Clone)]
pub struct PiiCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiCipher(<redacted>)")
    }
}

impl PiiCipher {
    /// From the raw 32-byte key.
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::BadKey(format!("got {} bytes", key.len())));
        }
        Ok(Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) })
    }

    /// From base64 text (whitespace around it ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| CryptoError::BadKey(e.to_string()))?;
        Self::from_key_bytes(&bytes)
    }

    /// From a file holding the base64 key.
    pub fn from_file(path: &std::path::Path) -> Result<Self, CryptoError> {
        Self::from_base64(&std::fs::read_to_string(path).map_err(CryptoError::KeyFile)?)
    }

    /// Encrypts one value.
    pub fn encrypt(&self, plain: &str) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self.cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).map_err(|_| CryptoError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts one value.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<String, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ct).map_err(|_| CryptoError::Decrypt)?;
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
