//! Authentication (tokens, passwords) and authorization (roles × actions × counties).

pub mod cache;
pub mod extractor;
pub mod hash_pool;
pub mod password;
pub mod principal;
pub mod throttle;
pub mod token;

pub use extractor::{authenticate, AuthShared, AuthUser};
pub use principal::{Action, Principal, PrincipalKind, Role};
