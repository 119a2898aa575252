//! Tower middleware of the API: IP allow-lists, per-principal rate limits, ETags.

pub mod etag;
pub mod ip_allow;
pub mod rate_limit;
