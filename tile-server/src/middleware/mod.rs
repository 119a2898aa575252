//! Tower middleware of the API: the guard of protected routes (authentication, IP
//! allow-lists, per-principal rate limits, the audit of denials), ETags and the
//! audit source address.

pub mod audit_trail;
pub mod etag;
pub mod guard;
pub mod ip_allow;
pub mod rate_limit;
