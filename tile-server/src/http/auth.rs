//! `POST /api/auth/login`: user name + password, or client id + secret → token.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
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

/// Exchanges credentials for a token.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest, security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn login(State(state): State<AppState>, AppJson(body): AppJson<LoginRequest>) -> Result<Json<LoginResponse>, AppError> {
    let ttl = state.settings.token_ttl_minutes;
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
