//! Tower middleware of the API: IP allow-lists, per-principal rate limits, ETags,
//! the audit source address and the audit of denials.

pub mod audit_trail;
pub mod etag;
pub mod ip_allow;
pub mod rate_limit;
