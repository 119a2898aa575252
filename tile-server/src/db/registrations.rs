//! Registration results (登簿) that came back from the extranet as share-sync
//! packages (migration 0030). Read-only here: only `share-sync apply` writes them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::db::error::{Result, StoreError};

/// A unit's registration result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct Registration {
    /// 不动产权证书号 (certificate number), once issued.
    #[serde(rename = "BDCQZH")]
    pub bdcqzh: Option<String>,
    /// 登记状态 (registration status), e.g. `registered`.
    #[serde(rename = "DJZT")]
    pub djzt: String,
    /// 登簿时间 (registration time).
    #[serde(rename = "DJSJ")]
    pub djsj: Option<DateTime<Utc>>,
}

/// The registration result of a unit, if any came back.
pub async fn of_unit(pool: &PgPool, bdcdyh: &str) -> Result<Option<Registration>> {
    sqlx::query_as!(
        Registration,
        "SELECT bdcqzh, djzt, djsj FROM unit_registrations WHERE county = left($1, 6)::bpchar AND bdcdyh = $1::bpchar",
        bdcdyh,
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("loading the registration result"))
}
