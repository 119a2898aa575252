//! The reviewers' console page at `/review` (Chinese interface): submissions, findings,
//! the diff on the console's map, the decision form. Static, compiled in, no data: the
//! script reads everything with the caller's token (like `/`, see [`super::console`]).

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;

const REVIEW_HTML: &str = include_str!("../../assets/review.html");
const REVIEW_JS: &str = include_str!("../../assets/review.js");
const REVIEW_CSS: &str = include_str!("../../assets/review.css");

/// The console's policy: scripts and styles from this server only.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 3] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    (headers, body)
}

/// `GET /review`.
pub async fn page() -> impl IntoResponse {
    asset("text/html; charset=utf-8", REVIEW_HTML)
}

/// `GET /assets/review.js`.
pub async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", REVIEW_JS)
}

/// `GET /assets/review.css`.
pub async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", REVIEW_CSS)
}
