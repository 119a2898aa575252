//! Search by address (坐落 ZL) over parcels and households; no coordinates.

use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::db::error::{Result, StoreError};
use crate::db::Page;

/// A search hit.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Hit {
    /// `parcel` or `household`.
    pub kind: String,
    /// ZDDM for parcels, BDCDYH for households.
    pub code: String,
    /// 坐落.
    #[serde(rename = "ZL")]
    pub zl: String,
    /// County.
    pub county: String,
}

/// Escapes `%`, `_` and `\` so user text matches literally in LIKE.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Current parcels and households whose 坐落 contains `text`.
pub async fn by_address(pool: &PgPool, counties: &[String], text: &str, page: Page) -> Result<(Vec<Hit>, i64)> {
    let pattern = format!("%{}%", like_escape(text));
    let union = "SELECT 'parcel' AS kind, zddm::text AS code, zl, county::text AS county FROM parcels
                 WHERE county = ANY($1::char(6)[]) AND state = 'current' AND zl LIKE $2
                 UNION ALL
                 SELECT 'household', bdcdyh::text, zl, county::text FROM households
                 WHERE county = ANY($1::char(6)[]) AND state = 'current' AND zl LIKE $2";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM ({union}) u"))
        .bind(counties)
        .bind(&pattern)
        .fetch_one(pool)
        .await
        .map_err(StoreError::db("counting search hits"))?;
    let items = sqlx::query_as(&format!("SELECT * FROM ({union}) u ORDER BY kind DESC, code LIMIT $3 OFFSET $4"))
        .bind(counties)
        .bind(&pattern)
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(pool)
        .await
        .map_err(StoreError::db("searching by address"))?;
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(like_escape("幸福路"), "幸福路");
    }
}
