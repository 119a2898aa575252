//! Authentication (tokens, passwords) and authorization (roles × actions × counties).

pub mod accounts;
pub mod cache;
pub mod extractor;
pub mod hash_pool;
pub mod login;
pub mod password;
pub mod throttle;
pub mod token;

pub use crate::principal::{Action, Denied, Principal, PrincipalKind, Role};
pub use extractor::{authenticate, AuthShared, AuthUser};
