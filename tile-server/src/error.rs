//! The one error type of the HTTP layer and its mapping to status codes.
//!
//! Every error leaves the server as `{"error": {"code": "...", "message": "..."}}`.
//! Codes are stable (clients match on them); messages are for people. The store's
//! errors ([`StoreError`]) are mapped here, at the edge, to status and code; internal
//! failures are logged with their source chain and answered with `internal` only, so
//! SQL text and constraint names never reach a client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::error::{BoxError, StoreError};
use crate::principal::Denied;

/// Result alias for handlers.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Errors a request can end in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No token, an unknown token, or an expired/revoked one.
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong user name/client id or password/secret (one code for both: no user enumeration).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The caller's role may not perform this action.
    #[error("your role may not {0}")]
    Forbidden(&'static str),
    /// The object belongs to a county outside the caller's scope.
    #[error("county {0} is outside your scope")]
    CountyForbidden(String),
    /// The caller's address is not in its allow-list.
    #[error("address not allowed for this client")]
    IpNotAllowed,
    /// Too many requests; retry after the given number of seconds.
    #[error("rate limit exceeded, retry in {0} s")]
    RateLimited(u64),
    /// No such object.
    #[error("{0} not found")]
    NotFound(String),
    /// No such route.
    #[error("no such endpoint")]
    RouteNotFound,
    /// Malformed request (query, path or body).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but violates a rule (bad code, SRID mismatch...).
    #[error("{0}")]
    Unprocessable(String),
    /// Conflicts with the current state (e.g. a submission already decided).
    #[error("{0}")]
    Conflict(String),
    /// Request body over the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// `If-Match` names another version than the current one (someone else wrote first).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The password has expired (or must be changed before first use).
    #[error("password expired: change it with POST /api/auth/password")]
    PasswordExpired,
    /// Overloaded (the password-hashing queue is full); retry shortly.
    #[error("server busy, retry in a second")]
    Busy,
    /// A result package refused at intake: the package error's code and message
    /// (`missing_file`, `wrong_digest`, `zip_bomb`, `path_escape`...); a county outside the
    /// uploader's scope is [`AppError::CountyForbidden`].
    #[error("{1}")]
    Package(&'static str, String),
    /// A per-user quota is used up (submissions).
    #[error("{0}")]
    QuotaExceeded(String),
    /// An internal failure (database, crypto, serialization, a task that died): logged
    /// with its source chain, answered with `internal` and no detail.
    #[error("internal error while {context}")]
    Internal {
        /// What was being done.
        context: String,
        /// What failed.
        #[source]
        source: BoxError,
    },
}

impl From<crate::db::tiles::BadTile> for AppError {
    fn from(e: crate::db::tiles::BadTile) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Action(what) => AppError::Forbidden(what),
            Denied::County(county) => AppError::CountyForbidden(county),
        }
    }
}

/// The store's errors at the HTTP edge: the status and code each has always had.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Denied(d) => d.into(),
            StoreError::Stale(m) => AppError::PreconditionFailed(m),
            StoreError::QuotaExceeded(m) => AppError::QuotaExceeded(m),
            StoreError::Conflict(m) | StoreError::Transition(m) => AppError::Conflict(m),
            e @ StoreError::Duplicate { .. } => AppError::Conflict(e.to_string()),
            StoreError::Invalid(m) => AppError::Unprocessable(m),
            e @ (StoreError::Check { .. }
            | StoreError::SridMismatch
            | StoreError::InvalidGeometry
            | StoreError::Unrepresentable { .. }) => AppError::Unprocessable(e.to_string()),
            e => AppError::Internal { context: "using the store".into(), source: Box::new(e) },
        }
    }
}

impl From<cadastre_core::package::PackageError> for AppError {
    fn from(e: cadastre_core::package::PackageError) -> Self {
        match e {
            // The API's one code for "outside your counties".
            cadastre_core::package::PackageError::CountyOutOfScope { county } => AppError::CountyForbidden(county),
            e => AppError::Package(e.code(), e.to_string()),
        }
    }
}

impl AppError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::CountyForbidden(_) => "county_forbidden",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::RateLimited(_) => "rate_limited",
            Self::NotFound(_) => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::BadRequest(_) => "bad_request",
            Self::Unprocessable(_) => "unprocessable",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::PasswordExpired => "password_expired",
            Self::Busy => "busy",
            Self::QuotaExceeded(_) => "quota_exceeded",
            Self::Package(code, _) => code,
            Self::Internal { .. } => "internal",
        }
    }

    /// The HTTP status for this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::CountyForbidden(_) | Self::IpNotAllowed => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PasswordExpired => StatusCode::FORBIDDEN,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::QuotaExceeded(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Package(..) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Maps a database error met outside the store module (the review workflow's own
    /// statements) as the store maps its own: see [`StoreError::db`].
    pub fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> AppError {
        move |e| StoreError::db(context)(e).into()
    }

    /// An internal failure while doing `context`; `source` is logged, never sent.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> AppError {
        AppError::Internal { context: context.into(), source: source.into() }
    }
}

/// The stable code of an error response, kept in the response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// The JSON error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `not_found`, `forbidden`, `county_forbidden`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let internal = status == StatusCode::INTERNAL_SERVER_ERROR;
        if internal {
            // Logged here with its source chain; the client sees only "internal".
            tracing::error!(error = %self, sources = %source_chain(&self), "request failed");
        }
        let message = if internal { "internal server error".to_owned() } else { self.to_string() };
        let body = ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message } };
        let mut resp = (status, axum::Json(body)).into_response();
        let retry = match self {
            Self::RateLimited(secs) => Some(secs),
            Self::Busy => Some(1),
            _ => None,
        };
        if let Some(v) = retry.and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        // Middleware (the audit of denials) reads what went wrong without parsing the body.
        resp.extensions_mut().insert(ErrorCode(self.code()));
        resp
    }
}

/// `a: b: c`, the sources of an error below it.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut next = e.source();
    while let Some(s) = next {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn internal_errors_hide_their_text() {
        let err: AppError =
            StoreError::db("loading parcel")(sqlx::Error::Protocol("SELECT secret FROM users".into())).into();
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("\"code\":\"internal\""), "{text}");
        assert!(!text.contains("SELECT"), "{text}");
    }

    /// The source chain of an internal error goes to the log, and only there.
    #[tokio::test]
    async fn internal_errors_log_their_source() {
        #[derive(Clone, Default)]
        struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Log {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Log::default();
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
        let err: AppError = StoreError::db("loading parcel")(sqlx::Error::Protocol("relation parcels_x".into())).into();
        let resp = tracing::subscriber::with_default(subscriber, || err.into_response());
        let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&body).contains("parcels_x"));
        let logged = log.0.lock().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
        assert!(logged.contains("database error while loading parcel"), "{logged}");
        assert!(logged.contains("relation parcels_x"), "{logged}");
    }

    #[tokio::test]
    async fn rate_limited_sets_retry_after() {
        let resp = AppError::RateLimited(7).into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"7"[..]));
    }
}
