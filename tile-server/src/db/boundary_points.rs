//! The store's boundary points (界址点 JZD), derived from the current parcels with
//! `cadastre-core::boundary`: each parcel's vertices numbered J1…Jn clockwise from its
//! north-west corner, one row per parcel and point. They follow every import and every
//! accepted submission: a parcel's old points become historical in the same transaction
//! as its new version, so the points layer of the tiles never shows a parcel's old corners.
//! A new version with the same geometry keeps its points (and the time its geometry took
//! its shape, `parcels.geom_from`): an address-only change writes no point.

use cadastre_core::boundary::{number_per_parcel, BoundaryPoints};
use geo_types::MultiPolygon;
use sqlx::PgConnection;

use super::wkb::multipolygon_from_wkb;
use crate::db::error::{Result, StoreError};

/// Replaces the current points of `close` (parcels changed, replaced or gone) and
/// writes the points of `parcels` (code, geometry in the store SRID). Returns the number
/// of point rows written. Call it inside the transaction that writes the parcels.
pub async fn replace(
    conn: &mut PgConnection,
    county: &str,
    close: &[String],
    parcels: &[(String, MultiPolygon<f64>)],
) -> Result<u64> {
    let mut codes: Vec<String> = close.to_vec();
    codes.extend(parcels.iter().map(|(c, _)| c.clone()));
    codes.sort_unstable();
    codes.dedup();
    if codes.is_empty() {
        return Ok(0);
    }
    sqlx::query(
        "UPDATE boundary_points SET state = 'historical', valid_to = now()
         WHERE county = $1::char(6) AND state = 'current' AND zddm = ANY($2::bpchar[])",
    )
    .bind(county)
    .bind(&codes)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("closing boundary points"))?;
    let rows = numbered(parcels);
    if rows.zddm.is_empty() {
        return Ok(0);
    }
    let written = sqlx::query(
        "INSERT INTO boundary_points (county, zddm, jzdh, geom)
         SELECT $1, z, j, ST_SetSRID(ST_MakePoint(x, y), (SELECT srid FROM store_settings))
         FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[]) AS t(z, j, x, y)",
    )
    .bind(county)
    .bind(&rows.zddm)
    .bind(&rows.jzdh)
    .bind(&rows.x)
    .bind(&rows.y)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("writing boundary points"))?;
    Ok(written.rows_affected())
}

/// The time each of `codes` (current parcels of `county`) took its present shape, for a
/// new version that keeps the geometry: it keeps this time, and with it its points.
pub async fn geometry_times(
    conn: &mut PgConnection,
    county: &str,
    codes: &[String],
) -> Result<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>> {
    if codes.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT zddm::text, coalesce(geom_from, valid_from) FROM parcels
         WHERE county = $1::char(6) AND state = 'current' AND zddm = ANY($2::bpchar[])",
    )
    .bind(county)
    .bind(codes)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::db("reading the parcels' geometry times"))?;
    Ok(rows.into_iter().collect())
}

/// Point rows as columns.
#[derive(Debug, Default)]
struct Rows {
    zddm: Vec<String>,
    jzdh: Vec<String>,
    x: Vec<f64>,
    y: Vec<f64>,
}

/// Every parcel's points with their numbers (a point shared by two rings of one parcel
/// is listed once, under its first number).
fn numbered(parcels: &[(String, MultiPolygon<f64>)]) -> Rows {
    let geometries: Vec<&MultiPolygon<f64>> = parcels.iter().map(|(_, g)| g).collect();
    let points = BoundaryPoints::derive(&geometries);
    let mut rows = Rows::default();
    let mut parcel = usize::MAX;
    let mut seen = std::collections::HashSet::new();
    for n in number_per_parcel(&points) {
        if n.parcel != parcel {
            parcel = n.parcel;
            seen.clear();
        }
        if !seen.insert(n.jzdh.clone()) {
            continue;
        }
        let c = points.coord(n.point);
        rows.zddm.push(parcels[n.parcel].0.clone());
        rows.jzdh.push(n.jzdh);
        rows.x.push(c.x);
        rows.y.push(c.y);
    }
    rows
}

/// Current parcels of `county` whose current points are missing or older than the
/// parcel's geometry (imported before points were derived, or reshaped by SQL), at most
/// `limit` of them, in code order, with codes after `after` (keyset paging: a caller
/// walking the county passes the last code it got, so no batch re-reads the parcels the
/// earlier ones already did; from the start, pass `""`).
pub async fn stale_parcels(conn: &mut PgConnection, county: &str, after: &str, limit: i64) -> Result<StaleBatch> {
    let rows: Vec<(String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT p.zddm::text, ST_AsBinary(p.geom) FROM parcels p
         WHERE p.county = $1::char(6) AND p.state = 'current' AND p.geom IS NOT NULL
           AND p.zddm > $3::bpchar
           AND NOT EXISTS (SELECT 1 FROM boundary_points b
                           WHERE b.county = p.county AND b.zddm = p.zddm AND b.state = 'current'
                             AND b.valid_from >= coalesce(p.geom_from, p.valid_from))
         ORDER BY p.zddm LIMIT $2",
    )
    .bind(county)
    .bind(limit)
    .bind(after)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::db("finding parcels without boundary points"))?;
    let last_code = rows.last().map(|(code, _)| code.clone());
    let parcels =
        rows.into_iter().filter_map(|(code, g)| Some((code, g.as_deref().and_then(multipolygon_from_wkb)?))).collect();
    Ok(StaleBatch { parcels, last_code })
}

/// One page of [`stale_parcels`].
#[derive(Debug, Default)]
pub struct StaleBatch {
    /// Code and geometry (store SRID) of each stale parcel whose geometry could be read.
    pub parcels: Vec<(String, MultiPolygon<f64>)>,
    /// The last code of the page, read or not (where the next page starts); `None` at the end.
    pub last_code: Option<String>,
}

/// Derives the points of every parcel of `county` that lacks current ones (see
/// [`stale_parcels`]), `batch` parcels per transaction; `progress` is told the parcels
/// done so far. Returns (parcels, point rows). A rerun finds nothing to do.
pub async fn derive_missing(
    conn: &mut PgConnection,
    county: &str,
    batch: i64,
    mut progress: impl FnMut(u64),
) -> Result<(u64, u64)> {
    use sqlx::Connection as _;
    let (mut parcels, mut points) = (0u64, 0u64);
    // Walking the codes in order makes the pass linear: re-running the anti-join from the
    // first code for every batch cost most of a 1,000,000-parcel import (quadratic).
    let mut after = String::new();
    // The table's statistics as the planner last saw them: a first import grows it from
    // nothing to millions of rows in minutes, faster than autovacuum analyses it, and a
    // planner that believes it empty scans all of it in every batch's anti-join and close.
    let mut analysed = current_rows(conn).await?;
    loop {
        let mut tx = conn.begin().await.map_err(StoreError::db("starting a transaction"))?;
        let StaleBatch { parcels: todo, last_code } = stale_parcels(&mut tx, county, &after, batch).await?;
        let Some(last) = last_code else {
            return Ok((parcels, points));
        };
        after = last;
        points += replace(&mut tx, county, &[], &todo).await?;
        tx.commit().await.map_err(StoreError::db("committing boundary points"))?;
        parcels += todo.len() as u64;
        progress(parcels);
        if points >= 2 * analysed.max(ANALYSE_FROM) {
            analyse(conn).await;
            analysed = points;
        }
    }
}

/// Rows written by [`derive_missing`] before it first analyses the table (then again each
/// time it has doubled: a dozen analyses of ~0.2 s for a 1,000,000-parcel county).
const ANALYSE_FROM: u64 = 500;

/// The planner's idea of the table's size (`pg_class.reltuples`; 0 when never analysed).
async fn current_rows(conn: &mut PgConnection) -> Result<u64> {
    let n: f32 =
        sqlx::query_scalar("SELECT greatest(reltuples, 0)::real FROM pg_class WHERE oid = 'boundary_points'::regclass")
            .fetch_one(&mut *conn)
            .await
            .map_err(StoreError::db("reading the boundary points' statistics"))?;
    Ok(n as u64)
}

/// `ANALYZE boundary_points`; a role that does not own the table only gets PostgreSQL's
/// warning, and the pass goes on with the statistics autovacuum keeps.
async fn analyse(conn: &mut PgConnection) {
    if let Err(e) = sqlx::query("ANALYZE boundary_points").execute(&mut *conn).await {
        tracing::debug!(error = %e, "analysing boundary_points");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn neighbours_each_get_their_corners_numbered_from_the_north_west() {
        let a = MultiPolygon::new(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
        let b = MultiPolygon::new(vec![polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]]);
        let rows = numbered(&[("A".into(), a), ("B".into(), b)]);
        assert_eq!(rows.zddm, ["A", "A", "A", "A", "B", "B", "B", "B"]);
        assert_eq!(rows.jzdh, ["J1", "J2", "J3", "J4", "J1", "J2", "J3", "J4"]);
        // J1 is the north-west corner, then clockwise.
        assert_eq!((rows.x[0], rows.y[0]), (0., 1.));
        assert_eq!((rows.x[1], rows.y[1]), (1., 1.));
        assert_eq!((rows.x[4], rows.y[4]), (1., 1.));
    }
}
