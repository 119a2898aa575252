//! Rules shared by every edit of a versioned object (parcel, building,
//! household), checked before anything is written:
//!
//! * **partial updates**: a field the body does not name keeps its current value
//!   ([`present`] tells "absent" from an explicit `null`);
//! * **optimistic concurrency**: `If-Match` must name the current version
//!   ([`IfMatch`], 412 otherwise), and edits of one object are serialised by a
//!   transaction-level advisory lock ([`lock_object`]) so concurrent writers
//!   queue instead of colliding on the "one current version" index;
//! * **limits at the edge**: text lengths ([`check_len`], 422 naming the limit),
//!   no negative areas ([`check_area`]), and geometry that cannot be in the
//!   store CRS is refused ([`check_geometry_crs`], using cadastre-core).

use cadastre_core::crs::Crs;
use geo_types::{coord, Rect};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sqlx::PgConnection;

use crate::db::error::{Result, StoreError};

/// Limit of 坐落 (ZL) and other long free texts, in characters.
pub const MAX_ADDRESS_CHARS: usize = 255;
/// Limit of names (建筑物名称, 权利人 …), in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Limit of short codes and labels (用途, 结构, 名义层, 户型 …), in characters.
pub const MAX_CODE_CHARS: usize = 50;

/// For `Option<Option<T>>` fields with `#[serde(default)]`: absent → `None`
/// (keep), `null` → `Some(None)` (clear), a value → `Some(Some(v))`.
pub fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The new value of a nullable field: the body's if named, else the current one.
pub fn merge<T: Clone>(named: &Option<Option<T>>, current: Option<&Option<T>>) -> Option<T> {
    match named {
        Some(v) => v.clone(),
        None => current.cloned().flatten(),
    }
}

/// `Err` (422) when `value` is longer than `max` characters; the message names
/// the field and the limit.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(StoreError::Invalid(format!("{field} has {n} characters; the limit is {max}")));
    }
    Ok(())
}

/// [`check_len`] of an optional value.
pub fn check_opt_len(field: &str, value: Option<&str>, max: usize) -> Result<()> {
    value.map_or(Ok(()), |v| check_len(field, v, max))
}

/// `Err` (422) for a negative (or non-finite) area or coefficient.
pub fn check_area(field: &str, value: Option<f64>) -> Result<()> {
    match value {
        Some(v) if !v.is_finite() || v < 0.0 => {
            Err(StoreError::Invalid(format!("{field} must be a non-negative number, got {v}")))
        }
        _ => Ok(()),
    }
}

/// The weak ETag of a version of an object: `W/"v<version_id>"`.
pub fn version_tag(version_id: i64) -> String {
    format!("W/\"v{version_id}\"")
}

/// An `If-Match` precondition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the object must exist.
    Any,
    /// One of these version ids must be current.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Parses an `If-Match` header (`*` or a list of ETags as this server gives
    /// them; compared weakly, so `W/"v7"` and `"v7"` are the same). A tag that is
    /// not one of ours can never match.
    ///
    /// ```
    /// use tile_server::db::edit::IfMatch;
    /// assert_eq!(IfMatch::parse("*"), IfMatch::Any);
    /// assert_eq!(IfMatch::parse("W/\"v7\", \"v9\""), IfMatch::Versions(vec![7, 9]));
    /// assert_eq!(IfMatch::parse("\"bogus\""), IfMatch::Versions(vec![]));
    /// ```
    pub fn parse(header: &str) -> Self {
        if header.trim() == "*" {
            return Self::Any;
        }
        let versions = header
            .split(',')
            .filter_map(|t| {
                let t = t.trim();
                let t = t.strip_prefix("W/").unwrap_or(t);
                t.strip_prefix("\"v")?.strip_suffix('"')?.parse::<i64>().ok()
            })
            .collect();
        Self::Versions(versions)
    }

    /// From request headers; `None` without `If-Match`.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Option<Self> {
        headers.get(axum::http::header::IF_MATCH).map(|v| Self::parse(v.to_str().unwrap_or("\"invalid\"")))
    }

    /// 412 unless the precondition holds for the current version (`None`: no object).
    pub fn check(&self, what: &str, current: Option<i64>) -> Result<()> {
        match (self, current) {
            (IfMatch::Any, Some(_)) => Ok(()),
            (IfMatch::Versions(v), Some(c)) if v.contains(&c) => Ok(()),
            (_, None) => Err(StoreError::Stale(format!("If-Match given, but {what} does not exist"))),
            (_, Some(c)) => Err(StoreError::Stale(format!(
                "{what} has changed: its current version is {} (read it again and redo the edit)",
                version_tag(c)
            ))),
        }
    }
}

/// Checks an optional precondition against the current version.
pub fn check_precondition(if_match: Option<&IfMatch>, what: &str, current: Option<i64>) -> Result<()> {
    if_match.map_or(Ok(()), |m| m.check(what, current))
}

/// Serialises writers of one object until the end of the transaction, including
/// the first creation (there is no row to lock yet). Two int4 keys: the kind and
/// a hash of the business key; a hash collision only makes two objects queue.
pub async fn lock_object(conn: &mut PgConnection, kind: &str, key: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))")
        .bind(format!("edit:{kind}"))
        .bind(key)
        .execute(conn)
        .await
        .map_err(StoreError::db("locking object for edit"))?;
    Ok(())
}

/// The SRID a GeoJSON `crs` member names (`EPSG:4326`, `urn:ogc:def:crs:EPSG::4549`,
/// `…OGC:1.3:CRS84` = 4326); `None` without one.
fn named_srid(geometry: &Value) -> Option<std::result::Result<u32, String>> {
    let name = geometry.get("crs")?.get("properties").and_then(|p| p.get("name")).and_then(Value::as_str);
    let Some(name) = name else { return Some(Err("a crs member without properties.name".into())) };
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(Ok(4326));
    }
    let code = upper.rsplit(':').next().and_then(|c| c.parse::<u32>().ok());
    Some(code.ok_or_else(|| format!("crs {name:?}")))
}

fn extend_bbox(v: &Value, acc: &mut Option<(f64, f64, f64, f64)>) {
    let Value::Array(items) = v else { return };
    if let (Some(x), Some(y)) = (items.first().and_then(Value::as_f64), items.get(1).and_then(Value::as_f64)) {
        let (x0, y0, x1, y1) = acc.unwrap_or((x, y, x, y));
        *acc = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
        return;
    }
    for item in items {
        extend_bbox(item, acc);
    }
}

/// Refuses a GeoJSON geometry that is not in the store CRS: a `crs` member naming
/// another SRID, or coordinates that cannot be in it (degrees where metres are
/// expected, eastings outside the zone), as cadastre-core judges them.
pub fn check_geometry_crs(geometry: &Value, store_srid: i32) -> Result<()> {
    let store = u32::try_from(store_srid).unwrap_or(0);
    match named_srid(geometry) {
        Some(Ok(srid)) if srid != store => {
            return Err(StoreError::Invalid(format!(
                "the geometry is in EPSG:{srid}, the store holds EPSG:{store}: project it first"
            )))
        }
        Some(Err(what)) => {
            return Err(StoreError::Invalid(format!("{what} is not understood; send EPSG:{store} coordinates")))
        }
        _ => {}
    }
    let mut bbox = None;
    extend_bbox(geometry.get("coordinates").unwrap_or(&Value::Null), &mut bbox);
    let Some((x0, y0, x1, y1)) = bbox else { return Ok(()) };
    let reasons = Crs::from_epsg(store).implausibility(&Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 }));
    match reasons.first() {
        Some(r) => Err(StoreError::Invalid(format!("the geometry cannot be in the store CRS: {r}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn degrees_and_foreign_crs_are_refused() {
        let metres = json!({"type": "Polygon", "coordinates": [[[500000.0, 3300000.0], [500010.0, 3300000.0], [500010.0, 3300010.0], [500000.0, 3300000.0]]]});
        assert!(check_geometry_crs(&metres, 4549).is_ok());
        let degrees =
            json!({"type": "Polygon", "coordinates": [[[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.2]]]});
        assert!(check_geometry_crs(&degrees, 4549).is_err());
        let mut named = metres.clone();
        named["crs"] = json!({"type": "name", "properties": {"name": "EPSG:4326"}});
        assert!(check_geometry_crs(&named, 4549).is_err());
        named["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}});
        assert!(check_geometry_crs(&named, 4549).is_ok());
        named["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}});
        assert!(check_geometry_crs(&named, 4549).is_err());
    }

    #[test]
    fn if_match_checks() {
        assert!(IfMatch::parse("W/\"v3\"").check("x", Some(3)).is_ok());
        assert!(matches!(IfMatch::parse("\"v3\"").check("x", Some(4)), Err(StoreError::Stale(_))));
        assert!(IfMatch::Any.check("x", None).is_err());
        assert!(check_precondition(None, "x", None).is_ok());
    }

    #[test]
    fn limits_name_themselves() {
        let long = "路".repeat(300);
        let e = check_len("ZL", &long, MAX_ADDRESS_CHARS).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("ZL") && e.contains("255"), "{e}");
        assert!(check_area("ZDMJ", Some(-1.0)).is_err());
        assert!(check_area("ZDMJ", Some(0.0)).is_ok());
    }
}
