//! Password and client-secret hashing with argon2id (PHC strings).
//!
//! ```
//! use tile_server::auth::password::{hash_password, verify_password};
//! let phc = hash_password("correct horse").unwrap();
//! assert!(phc.starts_with("$argon2id$"));
//! assert!(verify_password("correct horse", &phc));
//! assert!(!verify_password("wrong", &phc));
//! ```

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::AppError;

/// Hashes with argon2id and a random salt (default parameters: 19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal("password hashing", e.to_string()))
}

/// Checks a password against a stored PHC string; a malformed hash is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Shortest API client secret accepted (machine-generated: length is the strength).
pub const MIN_SECRET_CHARS: usize = 16;

/// The minimum strength of a person's password (GB/T 22239 level 3 practice):
/// at least [`MIN_PASSWORD_CHARS`] characters from at least three of lower-case,
/// upper-case, digits and other characters, at least five distinct characters,
/// and not containing the user name.
///
/// ```
/// use tile_server::auth::password::check_strength;
/// assert!(check_strength("Cadastre-2026", "alice").is_ok());
/// assert!(check_strength("aaaaaaaa", "alice").is_err());
/// assert!(check_strength("Alice-2026-x", "alice").is_err()); // contains the name
/// ```
pub fn check_strength(password: &str, username: &str) -> Result<(), AppError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AppError::Unprocessable(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > crate::security::MAX_PASSWORD_BYTES {
        return Err(AppError::Unprocessable(format!(
            "the password must have at most {} bytes",
            crate::security::MAX_PASSWORD_BYTES
        )));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(AppError::Unprocessable(
            "the password must mix at least three of: lower-case letters, upper-case letters, digits, other characters"
                .into(),
        ));
    }
    let distinct: std::collections::BTreeSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Err(AppError::Unprocessable("the password must have at least 5 different characters".into()));
    }
    // Names of one or two characters would forbid half the alphabet.
    if username.chars().count() >= 3 && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AppError::Unprocessable("the password must not contain the user name".into()));
    }
    Ok(())
}

/// The minimum strength of an API client secret: [`MIN_SECRET_CHARS`] characters.
pub fn check_secret(secret: &str) -> Result<(), AppError> {
    let chars = secret.chars().count();
    if chars < MIN_SECRET_CHARS || secret.len() > crate::security::MAX_PASSWORD_BYTES {
        return Err(AppError::Unprocessable(format!(
            "a client secret must have {MIN_SECRET_CHARS} characters to {} bytes",
            crate::security::MAX_PASSWORD_BYTES
        )));
    }
    Ok(())
}

/// An argon2id hash of a random string, verified against when the user does not
/// exist so that response time does not reveal which user names exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(salt.as_str().as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_hash_is_a_mismatch() {
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", dummy_hash()));
    }

    #[test]
    fn weak_passwords_are_refused() {
        for weak in ["aaaaaaaaaaaa", "password1234", "Short1!", "AAAAaaaa1111", "Bob-2026-xyz"] {
            assert!(check_strength(weak, "bob").is_err(), "{weak}");
        }
        for strong in ["Correct-horse-9", "测绘Cadastre2026", "x9Y!x9Y!zq"] {
            assert!(check_strength(strong, "bob").is_ok(), "{strong}");
        }
        assert!(check_secret("short").is_err());
        assert!(check_secret("Fuzz-and-bench-secret-1").is_ok());
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash_password("same").ok(), hash_password("same").ok());
    }
}
