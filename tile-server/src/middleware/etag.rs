//! ETags for GET responses: a weak tag from the SHA-256 of the (uncompressed) JSON
//! body; a matching `If-None-Match` gets `304 Not Modified` with no body.
//! Runs inside the gzip layer, so both encodings share a tag (hence weak).

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// The weak ETag of a body.
///
/// ```
/// use tile_server::middleware::etag::etag_of;
/// assert_eq!(etag_of(b"{}"), etag_of(b"{}"));
/// assert_ne!(etag_of(b"{}"), etag_of(b"[]"));
/// assert!(etag_of(b"{}").starts_with("W/\""));
/// ```
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// Whether an `If-None-Match` value matches `tag` (weak comparison, lists, `*`).
pub fn matches(if_none_match: &str, tag: &str) -> bool {
    fn bare(t: &str) -> &str {
        t.trim().trim_start_matches("W/")
    }
    let want = bare(tag);
    if_none_match.split(',').any(|t| t.trim() == "*" || bare(t) == want)
}

/// The response to a GET whose `If-None-Match` matched: 304, no body.
fn not_modified(mut parts: axum::http::response::Parts) -> Response {
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    Response::from_parts(parts, Body::empty())
}

/// Middleware adding ETags to successful GET responses.
pub async fn etag(req: Request, next: Next) -> Response {
    let is_get = req.method() == Method::GET;
    // A shared handle on the header, not a copy of its text.
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let inm = || if_none_match.as_ref().and_then(|v| v.to_str().ok());
    let mut resp = next.run(req).await;
    if !is_get || resp.status() != StatusCode::OK {
        return resp;
    }
    // A stream of server-sent events never ends: nothing to hash.
    if resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream")) {
        return resp;
    }
    // A handler that knows the version of what it serves (cached tiles, the cached
    // building table) sets the tag itself: no need to read and hash the body again.
    if let Some(tag) = resp.headers().get(header::ETAG) {
        let matched = inm().zip(tag.to_str().ok()).is_some_and(|(v, tag)| matches(v, tag));
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        if matched {
            return not_modified(resp.into_parts().0);
        }
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes: Bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => return AppError::internal("reading response body", e).into_response(),
    };
    let tag = etag_of(&bytes);
    let Ok(tag_value) = HeaderValue::from_str(&tag) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.insert(header::ETAG, tag_value);
    // Cached copies must be revalidated: data changes, and it is per-caller (masking).
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if inm().is_some_and(|v| matches(v, &tag)) {
        return not_modified(parts);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        let t = etag_of(b"x");
        assert!(matches(&t, &t));
        assert!(matches(&t.replace("W/", ""), &t));
        assert!(matches(&format!("\"zzz\", {t}"), &t));
        assert!(matches("*", &t));
        assert!(!matches("\"zzz\"", &t));
    }
}
