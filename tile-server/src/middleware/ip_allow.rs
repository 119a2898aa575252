//! IP allow-lists for API clients: a client with a non-empty list may call only
//! from an address inside one of its CIDR blocks. The peer address comes from
//! the connection (`ConnectInfo`); with no known peer address a restricted client
//! is refused (fail closed).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::auth::extractor::principal_of;
use crate::auth::Principal;
use crate::error::AppError;

/// Whether `peer` may be used by a principal with `allowed` (empty = anything).
///
/// ```
/// use tile_server::middleware::ip_allow::is_allowed;
/// let list = vec!["10.1.0.0/16".parse().unwrap()];
/// assert!(is_allowed(&list, Some("10.1.2.3".parse().unwrap())));
/// assert!(!is_allowed(&list, Some("10.2.0.1".parse().unwrap())));
/// assert!(!is_allowed(&list, None));
/// assert!(is_allowed(&[], None));
/// ```
pub fn is_allowed(allowed: &[IpNet], peer: Option<IpAddr>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    match peer {
        // An IPv4 client seen through an IPv6 socket appears as ::ffff:a.b.c.d.
        Some(ip) => {
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                v4 => v4,
            };
            allowed.iter().any(|net| net.contains(&ip))
        }
        None => false,
    }
}

/// Middleware: 403 `ip_not_allowed` when the caller's address is outside its list.
pub async fn ip_allow(req: Request, next: Next) -> Response {
    let Some(principal) = principal_of(&req) else {
        return AppError::Unauthenticated.into_response();
    };
    match check(principal, &req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// 403 `ip_not_allowed` when `req` comes from outside `principal`'s list.
pub fn check(principal: &Principal, req: &Request) -> Result<(), AppError> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if is_allowed(&principal.allowed_ips, peer) {
        Ok(())
    } else {
        Err(AppError::IpNotAllowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_ipv4_matches_v4_block() {
        let list: Vec<IpNet> = vec!["192.168.1.0/24".parse().unwrap_or_else(|e| panic!("{e}"))];
        let mapped: IpAddr = "::ffff:192.168.1.9".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(is_allowed(&list, Some(mapped)));
    }
}
