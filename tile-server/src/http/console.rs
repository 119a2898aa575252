//! The landing page / web console at `/` and the readable API page at
//! `/api/docs`: our HTML, CSS and JS compiled into the binary (no build step,
//! no CDN), and the third-party browser library (MapLibre GL JS) served from the
//! console's `node_modules`, which `npm ci` installs from the committed lock
//! file (`tile-server/console/`; scripts/lib.sh runs it). Public on purpose:
//! they hold no data; the script logs in and reads everything with the
//! caller's token.

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::AppPath;
use crate::state::AppState;

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const DOCS_HTML: &str = include_str!("../../assets/docs.html");
const CONSOLE_JS: &str = include_str!("../../assets/console.js");
const DOCS_JS: &str = include_str!("../../assets/docs.js");
const CONSOLE_CSS: &str = include_str!("../../assets/console.css");
const MAP_JS: &str = include_str!("../../assets/map.js");
const API_JS: &str = include_str!("../../assets/api.js");
const TABLE_JS: &str = include_str!("../../assets/table.js");

/// The npm packages whose `dist/` files are served under `/assets/vendor/{package}/`.
pub const VENDOR_PACKAGES: [&str; 1] = ["maplibre-gl"];

/// Scripts and styles from this server only, no inline script, no framing.
/// MapLibre runs its workers from this server's module files and draws
/// images and label glyphs through blob: and data: URLs.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

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

/// `GET /assets/api.js`: the token and API helpers every page imports (an ES module).
pub async fn api_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", API_JS)
}

/// `GET /assets/table.js`: the building-table grid of the console and the review page (an ES module).
pub async fn table_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", TABLE_JS)
}

/// `GET /assets/map.js`: the reusable map module (an ES module).
pub async fn map_js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", MAP_JS)
}

/// The content type of a vendor file, by extension; `None` = not served.
fn vendor_type(file: &str) -> Option<&'static str> {
    let name_ok = !file.starts_with('.')
        && !file.contains("..")
        && file.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !name_ok {
        return None;
    }
    match file.rsplit_once('.')?.1 {
        "mjs" | "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "map" => Some("application/json"),
        _ => None,
    }
}

/// `GET /assets/vendor/{package}/{file}`: a file of `dist/` of an installed npm
/// package (see [`VENDOR_PACKAGES`]); 503 with the fix when `npm ci` has not run.
pub async fn vendor(State(state): State<AppState>, AppPath((package, file)): AppPath<(String, String)>) -> Response {
    let (Some(content_type), true) = (vendor_type(&file), VENDOR_PACKAGES.contains(&package.as_str())) else {
        return crate::error::AppError::RouteNotFound.into_response();
    };
    let dir = state.settings.console_vendor_dir.join(&package).join("dist");
    match tokio::fs::read(dir.join(&file)).await {
        Ok(body) => {
            let headers: [(HeaderName, HeaderValue); 3] = [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                // The lock file pins the version; a day saves the megabytes on reloads.
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ];
            (headers, body).into_response()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => {
            tracing::error!(dir = %dir.display(), "console library missing");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{package} is not installed in {}: run `npm ci` in tile-server/console \
                     (scripts/run.sh and scripts/test.sh do it) or set console_vendor_dir in the config",
                    state.settings.console_vendor_dir.display()
                ),
            )
                .into_response()
        }
        Err(_) => crate::error::AppError::RouteNotFound.into_response(),
    }
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
        assert!(!MAP_JS.contains("http://") && !MAP_JS.contains("https://"), "map.js fetches nothing from outside");
        assert!(INDEX_HTML.contains("/api/openapi.json") && INDEX_HTML.contains("/api/docs"));
    }

    #[test]
    fn every_page_script_takes_the_token_helpers_from_api_js() {
        let review = include_str!("../../assets/review.js");
        for (name, script) in [("console.js", CONSOLE_JS), ("docs.js", DOCS_JS), ("review.js", review)] {
            assert!(script.contains("from \"/assets/api.js\""), "{name} does not import api.js");
            assert!(!script.contains("sessionStorage"), "{name} handles the token itself");
            assert!(!script.contains("Authorization"), "{name} builds its own auth header");
        }
        assert!(!API_JS.contains("http://") && !API_JS.contains("https://"));
    }

    #[test]
    fn vendor_files_are_whitelisted_by_name() {
        assert_eq!(vendor_type("maplibre-gl.mjs"), Some("text/javascript; charset=utf-8"));
        assert_eq!(vendor_type("maplibre-gl.css"), Some("text/css; charset=utf-8"));
        for bad in ["../package.json", ".env", "x.json", "a/b.mjs", "A.mjs", "maplibre-gl", "..mjs"] {
            assert_eq!(vendor_type(bad), None, "{bad}");
        }
    }
}
