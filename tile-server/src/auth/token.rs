//! Bearer tokens: 256 random bits, shown to the caller once as URL-safe base64;
//! the store keeps only their SHA-256, so a database leak yields no usable token.
//!
//! ```
//! use tile_server::auth::token::{hash_token, new_token};
//! let (token, hash) = new_token();
//! assert_eq!(token.len(), 43);
//! assert_eq!(hash_token(&token), hash);
//! ```

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh token and its hash.
pub fn new_token() -> (String, [u8; 32]) {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_token(&token);
    (token, hash)
}

/// SHA-256 of the token text (a 256-bit random token needs no slow KDF).
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.0, b.0);
        assert_ne!(a.1, b.1);
    }
}
