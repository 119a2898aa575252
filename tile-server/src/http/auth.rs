//! `POST /api/auth/login`: user name + password, or client id + secret → token.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, Role};
use crate::db::accounts;
use crate::error::{AppError, ErrorBody};
use crate::http::AppJson;
use crate::state::AppState;

/// Login body: a user or an API client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LoginRequest {
    /// A person.
    User {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A system (registration).
    Client {
        /// Client id.
        client_id: String,
        /// Client secret.
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
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Role of the caller.
    pub role: Role,
    /// Counties in scope.
    pub counties: Vec<String>,
}

/// Login attempts per minute per account name (guessing passwords is slowed
/// down; argon2id makes each guess expensive as well).
pub const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;

/// Exchanges credentials for a token.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    let ttl = state.settings.token_ttl_minutes;
    let name = match &body {
        LoginRequest::User { username, .. } => format!("login:user:{username}"),
        LoginRequest::Client { client_id, .. } => format!("login:client:{client_id}"),
    };
    state
        .limiter
        .check_at(&name, Some(LOGIN_ATTEMPTS_PER_MINUTE), std::time::Instant::now())
        .map_err(AppError::RateLimited)?;
    let issued = match &body {
        LoginRequest::User { username, password } => accounts::login_user(&state.db, username, password, ttl).await?,
        LoginRequest::Client { client_id, client_secret } => {
            accounts::login_client(&state.db, client_id, client_secret, ttl).await?
        }
    };
    Ok(Json(LoginResponse {
        token: issued.token,
        token_type: "Bearer".into(),
        expires_at: issued.expires_at,
        role: issued.principal.role,
        counties: issued.principal.counties,
    }))
}

/// Revokes the token of this request (logout).
#[utoipa::path(post, path = "/api/auth/logout", responses((status = 204, description = "revoked"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    headers: axum::http::HeaderMap,
) -> Result<axum::http::StatusCode, AppError> {
    let token = crate::auth::extractor::bearer_token(&headers).ok_or(AppError::Unauthenticated)?;
    accounts::revoke_token(&state.db, &who, token).await?;
    if let Some(cache) = &state.principals {
        cache.remove(token);
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
