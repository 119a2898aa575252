//! The one layer in front of every protected route: authenticate the bearer
//! token, then the IP allow-list, the rate limit and the handler, with the
//! requests among these answered 403 written to the audit log.
//!
//! One layer rather than four (authenticate, audit, allow-list, rate limit, each
//! still available alone in its module): axum's `from_fn` clones the whole stack
//! beneath it for every request, so four nested layers cloned the route and the
//! state ten times per request, which a `perf` profile of cached tiles showed as
//! the largest item of the server's own time (BENCHMARKS.md, issue #12).
//!
//! Order and answers are those of the four layers: no valid token → 401 (429 for
//! an address presenting many bad tokens), not audited; address outside the
//! caller's list → 403, audited; bucket empty → 429; a handler's 403 → audited.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::extractor::{peer_of, resolve};
use crate::middleware::audit_trail::{audit_denial, denial};
use crate::middleware::{ip_allow, rate_limit};
use crate::state::AppState;

/// Middleware: see the module documentation.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let who = match resolve(&state, req.headers(), peer_of(&req)).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    req.extensions_mut().insert(who.clone());
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let admitted = ip_allow::check(&who, &req).and_then(|()| rate_limit::check(&state, &who));
    let resp = match admitted {
        Ok(()) => next.run(req).await,
        Err(refused) => refused.into_response(),
    };
    if let Some(code) = denial(&resp) {
        audit_denial(&state, &who, &method, &uri, code).await;
    }
    resp
}
