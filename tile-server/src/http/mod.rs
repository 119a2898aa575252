//! HTTP layer: the router, shared extractors and pagination. Handlers are thin:
//! check permission and county, call `db`, wrap the result.

pub mod auth;
pub mod buildings;
pub mod console;
pub mod map_style;
pub mod openapi;
pub mod parcels;
pub mod review_page;
pub mod submissions;
pub mod summary;
pub mod table_cache;
pub mod tiles;
pub mod units;

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::{IntoParams, ToSchema};

use crate::db::Page;
use crate::error::{AppError, ErrorBody};
use crate::middleware::audit_trail::source_address;
use crate::middleware::{etag::etag, guard::guard};
use crate::state::AppState;

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: i64 = 500;
/// Page size when the client does not say.
pub const DEFAULT_PER_PAGE: i64 = 50;

/// The whole application. Tests call it with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    // Result packages may be larger than any JSON body: the outer limit lets them through
    // and every other route keeps `max_body` through `DefaultBodyLimit` (what its
    // extractors read under).
    let max_package = state.settings.submission_max_bytes;
    let max_request = max_package.max(max_body);
    let idle_timeout = std::time::Duration::from_secs(state.settings.idle_timeout_seconds);
    // One guard layer: authenticate, then the IP allow-list, then the rate limit
    // (which needs to know who is calling), denials audited (middleware::guard).
    let protected = Router::new()
        .route("/api/openapi.json", get(openapi::spec))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/parcels", get(parcels::list))
        .route("/api/parcels/{zddm}", get(parcels::get_one).put(parcels::put))
        .route("/api/parcels/{zddm}/history", get(parcels::history))
        .route("/api/buildings", get(buildings::list))
        .route("/api/buildings/{zrzh}", get(buildings::get_one).put(buildings::put))
        .route("/api/buildings/{zrzh}/table", get(buildings::table))
        .route("/api/households/{bdcdyh}", get(units::get_household).put(units::put_household))
        .route("/api/units/{bdcdyh}", get(units::unit))
        .route("/api/search", get(units::search))
        .route("/api/changes", get(units::changes))
        .route(
            "/api/submissions",
            get(submissions::list).post(submissions::create).layer(DefaultBodyLimit::max(max_package)),
        )
        .route("/api/submissions/{id}", get(submissions::get_one))
        .route(
            "/api/submissions/{id}/versions",
            post(submissions::create_version).layer(DefaultBodyLimit::max(max_package)),
        )
        .route("/api/submissions/{id}/report", get(submissions::report))
        .route("/api/submissions/{id}/report.html", get(submissions::report_html))
        .route("/api/submissions/{id}/diff", get(submissions::diff))
        .route("/api/submissions/{id}/decision", post(submissions::decide))
        .route("/api/summary", get(summary::summary))
        .route("/api/tiles/{layer}/{z}/{x}/{y}", get(tiles::api_tile))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles/style.json", get(tiles::style))
        .route("/tiles/events", get(tiles::events))
        .route("/tiles/{name}", get(tiles::tilejson))
        .route("/api/map/{layer}", get(tiles::features))
        .route_layer(from_fn_with_state(state.clone(), guard));
    let routes = Router::new()
        .route("/health", get(health))
        // The console and the API page hold no data (see `console`).
        .route("/", get(console::index))
        .route("/api/docs", get(console::docs))
        .route("/assets/console.js", get(console::console_js))
        .route("/assets/docs.js", get(console::docs_js))
        .route("/assets/console.css", get(console::console_css))
        .route("/assets/map.js", get(console::map_js))
        .route("/assets/api.js", get(console::api_js))
        .route("/assets/table.js", get(console::table_js))
        .route("/review", get(review_page::page))
        .route("/assets/review.js", get(review_page::script))
        .route("/assets/review.css", get(review_page::style))
        .route("/assets/vendor/{package}/{file}", get(console::vendor))
        .route("/api/auth/login", post(auth::login).layer(DefaultBodyLimit::max(auth::LOGIN_BODY_LIMIT)))
        .route("/api/auth/password", post(auth::change_password).layer(DefaultBodyLimit::max(auth::LOGIN_BODY_LIMIT)))
        .merge(protected)
        .fallback(|| async { AppError::RouteNotFound })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(crate::error::ErrorBody {
                    error: crate::error::ErrorDetail {
                        code: "method_not_allowed".into(),
                        message: "method not allowed".into(),
                    },
                }),
            )
        })
        .with_state(state);
    // The layers every request passes wrap the router as one service: `Router::layer`
    // wraps each route on its own, and `from_fn` clones what it wraps for every
    // request, so around the router they clone one shared handle, not a route's stack.
    Router::new()
        .fallback_service(routes)
        .layer(from_fn(etag))
        .layer(DefaultBodyLimit::max(max_body))
        // Outside the body limit, so the limit's own 413 (a Content-Length over it) is JSON too.
        .layer(RequestBodyLimitLayer::new(max_request))
        .layer(from_fn(json_payload_too_large))
        .layer(CompressionLayer::new().gzip(true))
        // A body that stalls this long ends its request (headers: see crate::serve).
        .layer(RequestBodyTimeoutLayer::new(idle_timeout))
        .layer(from_fn(source_address))
        .layer(TraceLayer::new_for_http())
}

/// Liveness: 200 when the database answers. Cheap under a flood: one check per
/// second at most ([`crate::security::HEALTH_TTL`]), the others share its answer.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "up", body = Health), (status = 503, description = "the database does not answer", body = ErrorBody)), security(()))]
pub async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> Result<Json<Health>, AppError> {
    let db = state.db.clone();
    let up = state
        .security
        .health(|| async move {
            let check = sqlx::query("SELECT 1").execute(&db);
            matches!(tokio::time::timeout(std::time::Duration::from_secs(2), check).await, Ok(Ok(_)))
        })
        .await;
    if up {
        Ok(Json(Health { status: "ok".into() }))
    } else {
        Err(AppError::Busy)
    }
}

/// Health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// tower-http answers an oversized body with plain text; give it our JSON form.
async fn json_payload_too_large(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json =
        resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return AppError::PayloadTooLarge.into_response();
    }
    resp
}

/// JSON body extractor whose rejections use the API error format.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct AppJson<T>(pub T);

/// Path extractor whose rejections use the API error format.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct AppPath<T>(pub T);

/// Query extractor whose rejections use the API error format.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct AppQuery<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge;
        }
        match r {
            JsonRejection::JsonDataError(e) => AppError::Unprocessable(e.body_text()),
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        // A typed path parameter (a code) that does not parse: name the parameter and
        // give the type's own message (unit codes say which segment is wrong, in
        // Chinese first) rather than axum's "Invalid URL: Cannot parse ...".
        if let PathRejection::FailedToDeserializePathParams(e) = &r {
            if let ErrorKind::DeserializeError { key, value, message } = e.kind() {
                return AppError::BadRequest(format!("{key} {value:?}: {message}"));
            }
        }
        AppError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

/// `?page=&per_page=` of list endpoints.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number. \[default: 1\]
    pub page: Option<i64>,
    /// Items per page, 1..=500. \[default: 50\]
    pub per_page: Option<i64>,
}

impl PageQuery {
    /// Validates into a [`Page`].
    pub fn page(self) -> Result<Page, AppError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=1_000_000).contains(&page) {
            return Err(AppError::BadRequest("page must be 1..=1000000".into()));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(AppError::BadRequest(format!("per_page must be 1..={MAX_PER_PAGE}")));
        }
        Ok(Page { page, per_page })
    }
}

/// Defines a concrete paginated response type (one per item type keeps the
/// OpenAPI document simple).
macro_rules! paginated {
    ($name:ident, $item:ty) => {
        #[doc = concat!("A page of `", stringify!($item), "`.")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            /// The items of this page.
            pub items: Vec<$item>,
            /// 1-based page number.
            pub page: i64,
            /// Page size.
            pub per_page: i64,
            /// Items over all pages.
            pub total: i64,
        }

        impl $name {
            /// Wraps a db result.
            pub fn new((items, total): (Vec<$item>, i64), page: crate::db::Page) -> Self {
                Self { items, page: page.page, per_page: page.per_page, total }
            }
        }
    };
}
pub(crate) use paginated;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds() {
        assert!(PageQuery { page: Some(0), per_page: None }.page().is_err());
        assert!(PageQuery { page: None, per_page: Some(501) }.page().is_err());
        assert!(PageQuery { page: None, per_page: Some(0) }.page().is_err());
        let p = PageQuery::default().page().ok();
        assert_eq!(p.map(|p| (p.page, p.per_page)), Some((1, DEFAULT_PER_PAGE)));
    }
}
