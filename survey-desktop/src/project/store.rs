//! Reading and writing the feature tables.

use std::collections::BTreeMap;

use cadastre_core::boundary::{BoundaryLines, BoundaryPoints, RingPoints};
use cadastre_core::crs::GkZone;
use cadastre_core::model::{District, ExtraAttributes, Subdistrict};
use geo_types::{Coord, Geometry, LineString, Point};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::blob::{decode_multipolygon, encode};
use super::schema::{BUILDING_COLUMNS, PARCEL_COLUMNS};
use super::{sql, Opened, ProjectError};
use crate::model::{BuildingFeature, Document, HistoryStep, Outline, ParcelFeature, PointId};

fn damaged(what: impl std::fmt::Display) -> ProjectError {
    ProjectError::Damaged(what.to_string())
}

/// Attribute struct → column values in `columns` order, and the EXTRA JSON.
fn to_columns<T: Serialize>(attrs: &T, columns: &[(&str, &str)]) -> Result<(Vec<Value>, String), ProjectError> {
    let Json::Object(map) = serde_json::to_value(attrs).map_err(damaged)? else {
        return Err(damaged("attributes are not an object"));
    };
    let values = columns
        .iter()
        .map(|(name, _)| match map.get(*name) {
            Some(Json::String(s)) => Value::Text(s.clone()),
            Some(Json::Number(n)) if n.is_i64() => Value::Integer(n.as_i64().unwrap_or_default()),
            Some(Json::Number(n)) => Value::Real(n.as_f64().unwrap_or_default()),
            _ => Value::Null,
        })
        .collect();
    let extra = map.get("extra").map_or_else(|| "{}".to_owned(), Json::to_string);
    Ok((values, extra))
}

/// Columns starting at `first` (in `columns` order) and EXTRA → attribute struct.
fn from_columns<T: DeserializeOwned>(row: &[Value], first: usize, columns: &[(&str, &str)]) -> Result<T, ProjectError> {
    let mut map = Map::new();
    for (k, (name, ty)) in columns.iter().enumerate() {
        let json = match (row.get(first + k), *ty) {
            (None | Some(Value::Null), _) => Json::Null,
            (Some(Value::Integer(i)), "INTEGER") => Json::from(*i),
            (Some(Value::Integer(i)), "REAL") => Json::from(*i as f64),
            (Some(Value::Real(f)), _) => Json::from(*f),
            (Some(Value::Text(t)), _) => Json::String(t.clone()),
            (Some(other), _) => return Err(damaged(format!("column {name} holds {:?}", other.data_type()))),
        };
        map.insert((*name).to_owned(), json);
    }
    let extra: Json = match text(row, first + columns.len()) {
        Some(text) => serde_json::from_str(text).map_err(|e| damaged(format!("EXTRA: {e}")))?,
        None => Json::Object(Map::new()),
    };
    map.insert("extra".into(), extra);
    serde_json::from_value(Json::Object(map)).map_err(|e| damaged(format!("attributes: {e}")))
}

/// A TEXT column of a raw row (`None` for NULL or another type).
fn text(row: &[Value], i: usize) -> Option<&str> {
    match row.get(i) {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    }
}

fn integer(row: &[Value], i: usize) -> Result<i64, ProjectError> {
    match row.get(i) {
        Some(Value::Integer(v)) => Ok(*v),
        other => Err(damaged(format!("column {i} is not an integer: {other:?}"))),
    }
}

/// All rows of a query as raw values: the SQLite part of a read, done on one
/// thread; decoding the values into features is what runs in parallel.
fn raw_rows(conn: &Connection, q: &str, context: &'static str) -> Result<Vec<Vec<Value>>, ProjectError> {
    let mut st = conn.prepare(q).map_err(sql(context))?;
    let n = st.column_count();
    let mut rows = st.query([]).map_err(sql(context))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql(context))? {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            v.push(r.get::<_, Value>(i).map_err(sql(context))?);
        }
        out.push(v);
    }
    Ok(out)
}

/// One ZD row (`fid, ZDDM, columns..., EXTRA, JZD_IDS`) → parcel.
fn parcel_row(r: &[Value], points: &BTreeMap<PointId, Coord<f64>>) -> Result<(u64, ParcelFeature), ProjectError> {
    let fid = integer(r, 0)?;
    let zddm = text(r, 1).unwrap_or_default().to_owned();
    let attributes = from_columns(r, 2, PARCEL_COLUMNS)?;
    let ids = text(r, 3 + PARCEL_COLUMNS.len()).unwrap_or("null");
    let rings: Vec<Vec<Vec<PointId>>> =
        serde_json::from_str(ids).map_err(|e| damaged(format!("parcel {fid}: JZD_IDS {e}")))?;
    let outline = Outline(rings);
    if let Some(missing) = outline.point_ids().find(|id| !points.contains_key(id)) {
        return Err(damaged(format!("parcel {fid} uses boundary point {missing}, which is not in JZD")));
    }
    if outline.rings().any(|(_, _, r)| r.len() < 3) {
        return Err(damaged(format!("parcel {fid} has a ring of fewer than 3 points")));
    }
    Ok((fid as u64, ParcelFeature { zddm, outline, attributes }))
}

/// One ZRZ row (`fid, geom, ZRZH, ZDDM, columns..., EXTRA`) → building.
fn building_row(r: &[Value]) -> Result<(u64, BuildingFeature), ProjectError> {
    let fid = integer(r, 0)?;
    let footprint = match r.get(1) {
        Some(Value::Blob(b)) => decode_multipolygon(b).map_err(|e| damaged(format!("building {fid}: {e}")))?,
        _ => return Err(damaged(format!("building {fid}: no geometry"))),
    };
    let b = BuildingFeature {
        zrzh: text(r, 2).unwrap_or_default().to_owned(),
        zddm: text(r, 3).unwrap_or_default().to_owned(),
        footprint,
        attributes: from_columns(r, 4, BUILDING_COLUMNS)?,
    };
    Ok((fid as u64, b))
}

fn column_list(columns: &[(&str, &str)]) -> String {
    columns.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

fn srs_definition(epsg: u32) -> String {
    gdal::spatial_ref::SpatialRef::from_epsg(epsg).and_then(|s| s.to_wkt()).unwrap_or_else(|_| "undefined".into())
}

pub(super) fn write(tx: &Transaction, doc: &Document, settings: &BTreeMap<String, String>) -> Result<(), ProjectError> {
    let srs: i64 = doc.zone.map_or(-1, |z| i64::from(z.epsg()));
    if let Some(z) = doc.zone {
        tx.execute(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'EPSG', ?2, ?3, '')",
            (format!("CGCS2000 / 3-degree Gauss-Kruger zone {}", z.zone), srs, srs_definition(z.epsg())),
        )
        .map_err(sql("saving the CRS"))?;
    }
    let srs32 = i32::try_from(srs).unwrap_or(-1);
    for t in ["ZD", "ZRZ", "JZD", "JZX", "DJZQ", "DJQ"] {
        tx.execute(&format!("DELETE FROM \"{t}\""), []).map_err(sql("saving"))?;
    }
    {
        let mut ins = tx
            .prepare("INSERT INTO JZD (fid, geom, XZBZ, YZBZ) VALUES (?1, ?2, ?3, ?4)")
            .map_err(sql("saving points"))?;
        for (&id, c) in &doc.points {
            ins.execute((id, encode(&Geometry::Point(Point(*c)), srs32), c.y, c.x)).map_err(sql("saving points"))?;
        }
    }
    {
        let q = format!(
            "INSERT INTO ZD (fid, geom, ZDDM, {}, EXTRA, JZD_IDS) VALUES ({})",
            column_list(PARCEL_COLUMNS),
            placeholders(PARCEL_COLUMNS.len() + 5)
        );
        let mut ins = tx.prepare(&q).map_err(sql("saving parcels"))?;
        for (&id, p) in &doc.parcels {
            let (cols, extra) = to_columns(&p.attributes, PARCEL_COLUMNS)?;
            let geom = encode(&Geometry::MultiPolygon(doc.outline_geometry(&p.outline)), srs32);
            let ids = serde_json::to_string(&p.outline.0).map_err(damaged)?;
            let mut vals = vec![Value::Integer(id as i64), Value::Blob(geom), Value::Text(p.zddm.clone())];
            vals.extend(cols);
            vals.push(Value::Text(extra));
            vals.push(Value::Text(ids));
            ins.execute(params_from_iter(vals)).map_err(sql("saving parcels"))?;
        }
    }
    {
        let q = format!(
            "INSERT INTO ZRZ (fid, geom, ZRZH, ZDDM, {}, EXTRA) VALUES ({})",
            column_list(BUILDING_COLUMNS),
            placeholders(BUILDING_COLUMNS.len() + 5)
        );
        let mut ins = tx.prepare(&q).map_err(sql("saving buildings"))?;
        for (&id, b) in &doc.buildings {
            let (cols, extra) = to_columns(&b.attributes, BUILDING_COLUMNS)?;
            let geom = encode(&Geometry::MultiPolygon(b.footprint.clone()), srs32);
            let mut vals = vec![
                Value::Integer(id as i64),
                Value::Blob(geom),
                Value::Text(b.zrzh.clone()),
                Value::Text(b.zddm.clone()),
            ];
            vals.extend(cols);
            vals.push(Value::Text(extra));
            ins.execute(params_from_iter(vals)).map_err(sql("saving buildings"))?;
        }
    }
    write_lines(tx, doc, srs32)?;
    for (table, rows) in [("DJZQ", context_rows_sub(&doc.subdistricts)), ("DJQ", context_rows_dist(&doc.districts))] {
        let code = if table == "DJZQ" { "DJZQDM, DJZQMC, DJZQMJ" } else { "DJQDM, DJQMC, DJQMJ" };
        let mut ins = tx
            .prepare(&format!("INSERT INTO {table} (fid, geom, {code}, EXTRA) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"))
            .map_err(sql("saving context layers"))?;
        for (i, (geom, c, name, area, extra)) in rows.into_iter().enumerate() {
            let g = encode(&Geometry::MultiPolygon(geom), srs32);
            ins.execute((i as i64 + 1, g, c, name, area, extra)).map_err(sql("saving context layers"))?;
        }
    }
    let extent = doc.points.values().fold(None::<(Coord<f64>, Coord<f64>)>, |acc, c| match acc {
        None => Some((*c, *c)),
        Some((lo, hi)) => {
            Some((Coord { x: lo.x.min(c.x), y: lo.y.min(c.y) }, Coord { x: hi.x.max(c.x), y: hi.y.max(c.y) }))
        }
    });
    let (lo, hi) = extent.map_or((None, None), |(l, h)| (Some(l), Some(h)));
    tx.execute(
        "UPDATE gpkg_contents SET srs_id = ?1, min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5,
         last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
        (srs, lo.map(|c| c.x), lo.map(|c| c.y), hi.map(|c| c.x), hi.map(|c| c.y)),
    )
    .map_err(sql("saving"))?;
    tx.execute("UPDATE gpkg_geometry_columns SET srs_id = ?1", [srs]).map_err(sql("saving"))?;
    tx.execute("DELETE FROM desk_settings", []).map_err(sql("saving settings"))?;
    let mut all = settings.clone();
    match doc.zone {
        Some(z) => all.insert("epsg".into(), z.epsg().to_string()),
        None => all.remove("epsg"),
    };
    for (k, v) in &all {
        tx.execute("INSERT INTO desk_settings (key, value) VALUES (?1, ?2)", (k, v)).map_err(sql("saving settings"))?;
    }
    super::units::write(tx, &doc.units)?;
    Ok(())
}

type ContextRow = (geo_types::MultiPolygon<f64>, String, Option<String>, Option<f64>, String);

fn extra_json(e: &ExtraAttributes) -> String {
    serde_json::to_string(e).unwrap_or_else(|_| "{}".into())
}

fn context_rows_sub(v: &[Subdistrict]) -> Vec<ContextRow> {
    v.iter()
        .map(|s| (s.geometry.clone(), s.djzqdm.clone(), s.name.clone(), s.recorded_area, extra_json(&s.extra)))
        .collect()
}

fn context_rows_dist(v: &[District]) -> Vec<ContextRow> {
    v.iter()
        .map(|s| (s.geometry.clone(), s.djqdm.clone(), s.name.clone(), s.recorded_area, extra_json(&s.extra)))
        .collect()
}

/// 界址线 from the topology: point ids are remapped densely for `cadastre-core`.
fn write_lines(tx: &Transaction, doc: &Document, srs: i32) -> Result<(), ProjectError> {
    let ids: Vec<PointId> = doc.points.keys().copied().collect();
    let dense: BTreeMap<PointId, u32> = ids.iter().enumerate().map(|(i, &id)| (id, i as u32)).collect();
    let codes: Vec<&str> = doc.parcels.values().map(|p| p.zddm.as_str()).collect();
    let bp = BoundaryPoints {
        coords: doc.points.values().copied().collect(),
        parcels: doc
            .parcels
            .values()
            .map(|p| {
                p.outline
                    .rings()
                    .map(|(polygon, ring, pts)| RingPoints {
                        polygon,
                        ring,
                        points: pts.iter().filter_map(|id| dense.get(id).copied()).collect(),
                    })
                    .collect()
            })
            .collect(),
    };
    let lines = BoundaryLines::build(&bp);
    let mut ins = tx
        .prepare("INSERT INTO JZX (geom, QSD, ZZD, ZDDM_LEFT, ZDDM_RIGHT) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(sql("saving boundary lines"))?;
    for l in &lines.lines {
        let (a, b) = (bp.coords[l.from as usize], bp.coords[l.to as usize]);
        let g = encode(&Geometry::LineString(LineString(vec![a, b])), srs);
        let side = |p: Option<usize>| p.and_then(|i| codes.get(i)).map(|s| (*s).to_owned());
        ins.execute((g, ids[l.from as usize], ids[l.to as usize], side(l.left), side(l.right)))
            .map_err(sql("saving boundary lines"))?;
    }
    Ok(())
}

pub(super) fn read(conn: &Connection) -> Result<Opened, ProjectError> {
    let mut settings = BTreeMap::new();
    {
        let mut st = conn.prepare("SELECT key, value FROM desk_settings").map_err(sql("reading settings"))?;
        let mut rows = st.query([]).map_err(sql("reading settings"))?;
        while let Some(r) = rows.next().map_err(sql("reading settings"))? {
            settings.insert(r.get(0).map_err(sql("reading settings"))?, r.get(1).map_err(sql("reading settings"))?);
        }
    }
    let mut doc = Document {
        zone: settings.get("epsg").and_then(|e: &String| e.parse::<u32>().ok()).and_then(GkZone::from_epsg),
        ..Document::default()
    };
    {
        let mut st = conn.prepare("SELECT fid, YZBZ, XZBZ FROM JZD").map_err(sql("reading points"))?;
        let mut rows = st.query([]).map_err(sql("reading points"))?;
        while let Some(r) = rows.next().map_err(sql("reading points"))? {
            let id: i64 = r.get(0).map_err(sql("reading points"))?;
            let id = PointId::try_from(id).map_err(|_| damaged(format!("point id {id}")))?;
            let (x, y): (f64, f64) =
                (r.get(1).map_err(sql("reading points"))?, r.get(2).map_err(sql("reading points"))?);
            doc.points.insert(id, Coord { x, y });
        }
    }
    // Parcels and buildings are decoded on two threads (attributes through JSON,
    // footprints from WKB): on two cores that halves the longest part of an open.
    let parcel_rows = raw_rows(
        conn,
        &format!("SELECT fid, ZDDM, {}, EXTRA, JZD_IDS FROM ZD ORDER BY fid", column_list(PARCEL_COLUMNS)),
        "reading parcels",
    )?;
    let building_rows = raw_rows(
        conn,
        &format!("SELECT fid, geom, ZRZH, ZDDM, {}, EXTRA FROM ZRZ ORDER BY fid", column_list(BUILDING_COLUMNS)),
        "reading buildings",
    )?;
    let points = &doc.points;
    let (parcels, buildings) = std::thread::scope(|s| {
        let buildings =
            s.spawn(move || building_rows.iter().map(|r| building_row(r)).collect::<Result<BTreeMap<_, _>, _>>());
        let parcels = parcel_rows.iter().map(|r| parcel_row(r, points)).collect::<Result<BTreeMap<_, _>, _>>();
        (parcels, buildings.join())
    });
    doc.parcels = parcels?;
    doc.buildings = buildings.map_err(|_| damaged("building decoder panicked"))??;
    for table in ["DJZQ", "DJQ"] {
        let code = if table == "DJZQ" { "DJZQDM, DJZQMC, DJZQMJ" } else { "DJQDM, DJQMC, DJQMJ" };
        let mut st = conn
            .prepare(&format!("SELECT fid, geom, {code}, EXTRA FROM {table} ORDER BY fid"))
            .map_err(sql("reading context layers"))?;
        let mut rows = st.query([]).map_err(sql("reading context layers"))?;
        while let Some(r) = rows.next().map_err(sql("reading context layers"))? {
            let fid: i64 = r.get(0).map_err(sql("reading context layers"))?;
            let blob: Vec<u8> = r.get(1).map_err(sql("reading context layers"))?;
            let geometry = decode_multipolygon(&blob).map_err(|e| damaged(format!("{table} {fid}: {e}")))?;
            let code: Option<String> = r.get(2).map_err(sql("reading context layers"))?;
            let name: Option<String> = r.get(3).map_err(sql("reading context layers"))?;
            let area: Option<f64> = r.get(4).map_err(sql("reading context layers"))?;
            let extra: Option<String> = r.get(5).map_err(sql("reading context layers"))?;
            let extra: ExtraAttributes = serde_json::from_str(extra.as_deref().unwrap_or("{}")).unwrap_or_default();
            let source_index = usize::try_from(fid - 1).unwrap_or(0);
            if table == "DJZQ" {
                doc.subdistricts.push(Subdistrict {
                    djzqdm: code.unwrap_or_default(),
                    name,
                    recorded_area: area,
                    geometry,
                    extra,
                    source_index,
                });
            } else {
                doc.districts.push(District {
                    djqdm: code.unwrap_or_default(),
                    name,
                    recorded_area: area,
                    geometry,
                    extra,
                    source_index,
                });
            }
        }
    }
    let mut base = None;
    let mut unsaved = Vec::new();
    {
        let mut st =
            conn.prepare("SELECT seq, step FROM desk_journal ORDER BY seq").map_err(sql("reading the journal"))?;
        let mut rows = st.query([]).map_err(sql("reading the journal"))?;
        while let Some(r) = rows.next().map_err(sql("reading the journal"))? {
            let seq: i64 = r.get(0).map_err(sql("reading the journal"))?;
            let text: String = r.get(1).map_err(sql("reading the journal"))?;
            let step: HistoryStep =
                serde_json::from_str(&text).map_err(|e| damaged(format!("journal entry {seq}: {e}")))?;
            match step {
                HistoryStep::Base { .. } if base.is_none() && unsaved.is_empty() => base = Some(step),
                HistoryStep::Base { .. } => {
                    return Err(damaged(format!("journal entry {seq}: a second saved history")))
                }
                s => unsaved.push(s),
            }
        }
    }
    doc.units = super::units::read(conn)?;
    Ok(Opened { doc, settings, base, unsaved })
}
