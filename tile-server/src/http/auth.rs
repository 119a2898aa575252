//! `POST /api/auth/login`: user name + password, or client id + secret → token;
//! `POST /api/auth/password`: a user changes their password; `POST /api/auth/logout`.
//!
//! Order of checks at login, cheapest first: the body is at most
//! [`LOGIN_BODY_LIMIT`] bytes; over-long names and passwords are refused (422)
//! before anything is counted or stored; the source address's attempts are
//! counted (429 beyond `login_attempts_per_minute_per_address`); attempts on a
//! name with recent failures are held back a little (never refused: the real
//! user still gets in); then argon2 runs on the bounded hashing pool (503
//! `busy` when its queue is full). Every refused attempt is audited.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::login::{self, Credentials, SessionPolicy};
use crate::auth::{accounts, AuthUser, Role};
use crate::db::{audit, sessions};
use crate::error::{AppError, ErrorBody};
use crate::http::AppJson;
use crate::security::{MAX_NAME_CHARS, MAX_PASSWORD_BYTES};
use crate::state::AppState;

/// Largest login or password-change body, in bytes.
pub const LOGIN_BODY_LIMIT: usize = 4096;

/// Login body: a user or an API client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LoginRequest {
    /// A person.
    User {
        /// User name (1..=64 characters).
        #[schema(max_length = 64)]
        username: String,
        /// Password (at most 256 bytes).
        #[schema(max_length = 256)]
        password: String,
    },
    /// A system (registration).
    Client {
        /// Client id (1..=64 characters).
        #[schema(max_length = 64)]
        client_id: String,
        /// Client secret (at most 256 bytes).
        #[schema(max_length = 256)]
        client_secret: String,
    },
}

/// A fresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token; send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Expiry (it also stops working after `session_idle_minutes` unused).
    pub expires_at: DateTime<Utc>,
    /// Role of the caller.
    pub role: Role,
    /// Counties in scope.
    pub counties: Vec<String>,
}

/// Refuses names and secrets no account can have, before anything else is done.
fn check_lengths(name: &str, secret: &str) -> Result<(), AppError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::Unprocessable(format!(
            "a user name or client id has at most {MAX_NAME_CHARS} characters"
        )));
    }
    if secret.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::Unprocessable(format!("a password or secret has at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

/// Counts an attempt from the address and holds back attempts on a name under
/// attack; audits (a bounded number of) throttled attempts.
async fn throttle(state: &AppState, kind: &str, name: &str, peer: Option<std::net::IpAddr>) -> Result<(), AppError> {
    let sec = &state.security;
    let now = Instant::now();
    if let Err(secs) = sec.logins.check_address(peer, now) {
        let key = format!("login-throttled:{peer:?}");
        if let Some(not_logged) = sec.audit_allowed(&key, now) {
            sessions::audit_refused_login(&state.db, kind, name, audit::NO_COUNTY, "throttled", not_logged).await;
        }
        return Err(AppError::RateLimited(secs));
    }
    let delay = sec.logins.name_delay(name, now);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(())
}

/// Exchanges credentials for a token.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 403, description = "password expired: change it with POST /api/auth/password", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, description = "malformed body, or a name or password over its length limit", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, description = "too many logins being checked; retry", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    let creds = match &body {
        LoginRequest::User { username, password } => Credentials::User { username, password },
        LoginRequest::Client { client_id, client_secret } => Credentials::Client { client_id, secret: client_secret },
    };
    check_lengths(creds.name(), creds.secret())?;
    throttle(&state, creds.kind(), creds.name(), audit::current_source()).await?;
    let outcome = login::login(&state.db, &state.security.hashing, creds, SessionPolicy::of(&state.settings)).await;
    match &outcome {
        Err(AppError::InvalidCredentials) => state.security.logins.failed(creds.name(), Instant::now()),
        Ok(_) => state.security.logins.succeeded(creds.name()),
        Err(_) => {}
    }
    let issued = outcome?;
    Ok(Json(LoginResponse {
        token: issued.token,
        token_type: "Bearer".into(),
        expires_at: issued.expires_at,
        role: issued.principal.role,
        counties: issued.principal.counties,
    }))
}

/// Body of a password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// User name.
    #[schema(max_length = 64)]
    pub username: String,
    /// The current password.
    #[schema(max_length = 256)]
    pub current_password: String,
    /// The new password: at least 10 characters, three of lower-case, upper-case,
    /// digits and other characters, five distinct characters, not containing the user name.
    #[schema(max_length = 256)]
    pub new_password: String,
}

/// Changes a user's password (also an expired one); every session of the user ends.
#[utoipa::path(post, path = "/api/auth/password", request_body = PasswordChange, security(()),
    responses((status = 204, description = "changed; log in again"), (status = 401, body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "the new password is too weak, or a field is over its length limit", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    AppJson(body): AppJson<PasswordChange>,
) -> Result<StatusCode, AppError> {
    check_lengths(&body.username, &body.current_password)?;
    check_lengths(&body.username, &body.new_password)?;
    throttle(&state, "user", &body.username, audit::current_source()).await?;
    let outcome = accounts::change_password(
        &state.db,
        &state.security.hashing,
        &body.username,
        &body.current_password,
        &body.new_password,
    )
    .await;
    if matches!(outcome, Err(AppError::InvalidCredentials)) {
        state.security.logins.failed(&body.username, Instant::now());
    }
    outcome?;
    if let Some(cache) = &state.principals {
        crate::cache_sync::SyncedCache::invalidate_all(cache.as_ref());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the token of this request (logout).
#[utoipa::path(post, path = "/api/auth/logout", responses((status = 204, description = "revoked"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, AppError> {
    let token = crate::auth::extractor::bearer_token(&headers).ok_or(AppError::Unauthenticated)?;
    login::revoke_token(&state.db, &who, token).await?;
    if let Some(cache) = &state.principals {
        cache.remove(token);
    }
    Ok(StatusCode::NO_CONTENT)
}
