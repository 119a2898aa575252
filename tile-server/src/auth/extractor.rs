//! Resolving the bearer token of a request into a [`Principal`].
//!
//! [`resolve`] runs on every protected route (first step of
//! [`crate::middleware::guard`]; [`authenticate`] is the same as a layer alone): it reads
//! `Authorization: Bearer <token>`, looks the token up (hash, not expired, not
//! revoked, account enabled) and stores the principal (an `Arc<Principal>`) in
//! the request extensions, where the IP allow-list and rate-limit layers and the
//! [`AuthUser`] and [`AuthShared`] extractors find it. A request without a valid
//! token stops here with 401. With
//! `token_cache_seconds` > 0 (the default), resolved tokens are kept in
//! [`crate::auth::cache`], kept coherent by [`crate::cache_sync`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// The authenticated caller of a handler.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let shared = parts.extensions.get::<Arc<Principal>>().ok_or(AppError::Unauthenticated)?;
        Ok(AuthUser(Principal::clone(shared)))
    }
}

/// The authenticated caller, shared rather than copied: for handlers on hot
/// paths (cached tiles), where copying the county list per request shows.
#[derive(Debug, Clone)]
pub struct AuthShared(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for AuthShared {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Arc<Principal>>().cloned().map(AuthShared).ok_or(AppError::Unauthenticated)
    }
}

/// The principal [`authenticate`] stored in a request, if any.
pub fn principal_of(req: &Request) -> Option<&Arc<Principal>> {
    req.extensions().get::<Arc<Principal>>()
}

/// Extracts the token from an `Authorization: Bearer` header.
pub fn bearer_token(parts: &axum::http::HeaderMap) -> Option<&str> {
    let value = parts.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Whether `token` can be one of ours (43 characters of URL-safe base64):
/// anything else is refused without a database lookup.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware: 401 unless the request carries a valid token (see [`resolve`]).
/// The server itself runs [`crate::middleware::guard`], which starts with the same.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match resolve(&state, req.headers(), peer_of(&req)).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(refused) => refused,
    }
}

/// The peer address the server recorded for `req` (none for in-process calls).
pub fn peer_of(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The principal of the bearer token in `headers`, or the response refusing it
/// (401, 429 for an address presenting many bad tokens, 5xx when the store fails).
///
/// Bad tokens cost little: malformed ones are refused unread, refused ones are
/// remembered for a few seconds ([`crate::auth::cache::NEGATIVE_TTL`]), and an
/// address presenting many bad tokens must wait (429) before it is heard again.
pub async fn resolve(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Arc<Principal>, Response> {
    let Some(token) = bearer_token(headers) else {
        return Err(AppError::Unauthenticated.into_response());
    };
    let now = std::time::Instant::now();
    let address = crate::auth::throttle::address_key(peer);
    let bad = &state.security.bad_tokens;
    let wait = bad.wait(&address, now);
    if !wait.is_zero() {
        return Err(AppError::RateLimited(wait.as_secs().max(1)).into_response());
    }
    if !is_well_formed(token) {
        let _ = bad.take(&address, now);
        return Err(AppError::Unauthenticated.into_response());
    }
    if let Some(principal) = state.principals.as_ref().and_then(|c| c.get_at(token, now)) {
        return Ok(principal);
    }
    if state.principals.as_ref().is_some_and(|c| c.is_refused_at(token, now)) {
        let _ = bad.take(&address, now);
        return Err(AppError::Unauthenticated.into_response());
    }
    // Taken before the lookup: a revocation announced meanwhile voids the fill.
    let ticket = state.principals.as_ref().map(|c| c.ticket());
    match crate::auth::login::resolve_token_until(&state.db, token, state.settings.session_idle_minutes).await {
        Ok(Some((principal, expires_at))) => {
            let principal = Arc::new(principal);
            if let (Some(cache), Some(ticket)) = (&state.principals, ticket) {
                cache.insert_at(token, principal.clone(), expires_at, now, ticket);
            }
            Ok(principal)
        }
        Ok(None) => {
            if let (Some(cache), Some(ticket)) = (&state.principals, ticket) {
                cache.insert_refused_at(token, now, ticket);
            }
            let _ = bad.take(&address, now);
            Err(AppError::Unauthenticated.into_response())
        }
        Err(e) => Err(e.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }
}
