//! `GET /api/summary`: what the store holds in the caller's counties.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Action, AuthUser};
use crate::db::summary::{self, CountySummary};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// The summary answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    /// Role of the caller.
    pub role: crate::auth::Role,
    /// One row per county in the caller's scope, sorted by code.
    pub counties: Vec<CountySummary>,
}

/// Counts of current parcels, buildings, households and sub-districts, and the
/// last write, per county in the caller's scope. No coordinates.
#[utoipa::path(get, path = "/api/summary",
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn summary(State(state): State<AppState>, AuthUser(who): AuthUser) -> Result<Json<Summary>, AppError> {
    who.require(Action::ReadUnitTable)?;
    Ok(Json(Summary { role: who.role, counties: summary::by_county(&state.db, &who.counties).await? }))
}
