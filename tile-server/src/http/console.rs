//! The landing page / web console at `/` and the readable API page at
//! `/api/docs`: static HTML, CSS and JS compiled into the binary (no npm build,
//! no CDN). Public on purpose: they hold no data; the script logs in and reads
//! everything with the caller's token.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const DOCS_HTML: &str = include_str!("../../assets/docs.html");
const CONSOLE_JS: &str = include_str!("../../assets/console.js");
const DOCS_JS: &str = include_str!("../../assets/docs.js");
const CONSOLE_CSS: &str = include_str!("../../assets/console.css");

/// Scripts and styles from this server only, no inline script, no framing.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 4] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    (headers, body)
}

/// `GET /`: what this server is, and the login form.
pub async fn index() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /api/docs`: the OpenAPI paths as an HTML list (rendered in the browser
/// from `/api/openapi.json`, which needs the token).
pub async fn docs() -> impl IntoResponse {
    asset("text/html; charset=utf-8", DOCS_HTML)
}

/// `GET /assets/console.js`.
pub async fn console_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

/// `GET /assets/docs.js`.
pub async fn docs_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", DOCS_JS)
}

/// `GET /assets/console.css`.
pub async fn console_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_reference_only_local_assets() {
        for page in [INDEX_HTML, DOCS_HTML] {
            assert!(!page.contains("http://") && !page.contains("https://"), "external reference in a page");
            assert!(!page.contains("<script>"), "inline script would be blocked by the CSP");
        }
        assert!(INDEX_HTML.contains("/assets/console.js") && DOCS_HTML.contains("/assets/docs.js"));
        assert!(INDEX_HTML.contains("/api/openapi.json") && INDEX_HTML.contains("/api/docs"));
    }
}
