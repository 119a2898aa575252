//! Audit context of every request: the source address (see
//! [`crate::db::audit::with_source`]) and an audit row for every request refused
//! with 403 (role, county or address not allowed), with who, what and from where.
//! Repeated denials of one caller are limited to
//! [`crate::security::AUDIT_ROWS_PER_MINUTE`] rows a minute, the rest counted
//! into the next row, so a denial flood cannot flood the audit log.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::extractor::principal_of;
use crate::auth::Principal;
use crate::db::audit::{self, AuditEntry};
use crate::error::ErrorCode;
use crate::state::AppState;

/// Longest request path written into an audit row.
const MAX_AUDITED_PATH: usize = 200;

/// Middleware (outermost): runs the request with its peer address as the audit source.
pub async fn source_address(req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    audit::with_source(peer, next.run(req)).await
}

/// Middleware (after authentication): audits requests answered with 403.
/// The server itself runs [`crate::middleware::guard`], which does the same.
pub async fn audit_denials(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Shared handles only: the audit row is written for few requests.
    let principal = principal_of(&req).cloned();
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let resp = next.run(req).await;
    if let (Some(who), Some(code)) = (principal, denial(&resp)) {
        audit_denial(&state, &who, &method, &uri, code).await;
    }
    resp
}

/// The error code of a response refusing with 403; `None` for any other answer.
pub fn denial(resp: &Response) -> Option<&'static str> {
    (resp.status() == StatusCode::FORBIDDEN).then(|| resp.extensions().get::<ErrorCode>().map_or("forbidden", |c| c.0))
}

/// Writes the audit row of a request of `who` refused with `code`
/// (within [`crate::security::AUDIT_ROWS_PER_MINUTE`] rows a minute).
pub async fn audit_denial(state: &AppState, who: &Principal, method: &Method, uri: &Uri, code: &'static str) {
    let what = {
        let path = uri.path();
        let end = path.char_indices().nth(MAX_AUDITED_PATH).map_or(path.len(), |(i, _)| i);
        format!("{method} {}", &path[..end])
    };
    let actor = who.actor();
    if let Some(not_logged) = state.security.audit_allowed(&format!("denied:{actor}"), std::time::Instant::now()) {
        let mut after = serde_json::json!({ "code": code });
        if not_logged > 0 {
            after["similar_events_not_logged"] = not_logged.into();
        }
        let entry = AuditEntry {
            county: &who.home_county,
            action: "access.denied",
            object_type: "request",
            object_key: &what,
            before: None,
            after: Some(after),
        };
        if let Err(e) = audit::security_event(&state.db, &actor, who.role.as_str(), entry).await {
            tracing::error!(error = %e, "could not audit a denied request");
        }
    }
}
