//! Vector tiles, the GeoJSON map layer and the summary, against the real PostGIS.

use std::collections::HashMap;

use axum::http::{header, StatusCode};
use mvt_reader::feature::Value as MvtValue;
use mvt_reader::Reader;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use crate::common::*;

const HALF_WORLD: f64 = 20_037_508.342_789_244;

/// A point of the store SRID (4549) in Web Mercator, computed by PostGIS.
pub async fn mercator(pool: &PgPool, x: f64, y: f64) -> (f64, f64) {
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4549), 3857) AS p) s",
    )
    .bind(x)
    .bind(y)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("transform: {e}"))
}

/// The XYZ tile holding a Web Mercator point at zoom `z`.
pub fn tile_of((mx, my): (f64, f64), z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    (
        ((mx + HALF_WORLD) / (2.0 * HALF_WORLD) * n).floor() as u32,
        ((HALF_WORLD - my) / (2.0 * HALF_WORLD) * n).floor() as u32,
    )
}

/// Decoded features of one layer: (properties, geometry) in tile units.
pub fn decode(bytes: &[u8], layer: &str) -> Vec<(HashMap<String, MvtValue>, geo_types::Geometry<f32>)> {
    let reader = Reader::new(bytes.to_vec()).unwrap_or_else(|e| panic!("not an MVT: {e:?}"));
    let names = reader.get_layer_names().unwrap_or_else(|e| panic!("layer names: {e:?}"));
    assert_eq!(names, vec![layer.to_owned()]);
    let features = reader.get_features(0).unwrap_or_else(|e| panic!("features: {e:?}"));
    features.into_iter().map(|f| (f.properties.unwrap_or_default(), f.geometry)).collect()
}

/// Centre of the bounding box of a decoded polygon, in tile units.
fn bbox_centre(geom: &geo_types::Geometry<f32>) -> (f64, f64) {
    let ring = match geom {
        geo_types::Geometry::Polygon(p) => p.exterior().clone(),
        geo_types::Geometry::MultiPolygon(m) if m.0.len() == 1 => m.0[0].exterior().clone(),
        other => panic!("expected one polygon, got {other:?}"),
    };
    let xs = ring.coords().map(|c| f64::from(c.x));
    let ys: Vec<f64> = ring.coords().map(|c| f64::from(c.y)).collect();
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (y0, y1) = ys.iter().fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
}

pub fn text(props: &HashMap<String, MvtValue>, key: &str) -> String {
    match props.get(key) {
        Some(MvtValue::String(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

/// Seeds both counties (OWN at x=500 000, OTHER 10 km east) and returns an admin
/// token scoped to OWN only.
async fn seeded(pool: &PgPool) -> (tile_server::AppState, String) {
    let st = state(pool);
    let both = user_token(&st, "boss", Role::Admin, &[OWN, OTHER]).await;
    seed_county(&st, &both, OWN).await;
    seed_county(&st, &both, OTHER).await;
    let own = user_token(&st, "own", Role::Surveyor, &[OWN]).await;
    (st, own)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn parcel_tile_decodes_with_codes_attributes_and_true_position(pool: PgPool) {
    let (st, token) = seeded(&pool).await;
    // The seeded OWN parcel is the square 500000..500040 × 3300000..3300040.
    let centre = mercator(&pool, 500_020.0, 3_300_020.0).await;
    let z = 17;
    let (x, y) = tile_of(centre, z);
    let r = get(&st, &format!("/api/tiles/parcels/{z}/{x}/{y}.mvt"), &token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/vnd.mapbox-vector-tile")
    );
    assert!(r.headers.get(header::ETAG).is_some());
    let features = decode(&r.bytes, "parcels");
    assert_eq!(features.len(), 1, "{features:?}");
    let (props, geom) = &features[0];
    assert_eq!(text(props, "ZDDM"), zddm(OWN, 1));
    assert_eq!(text(props, "YT"), "0701");
    assert_eq!(text(props, "QLLX"), "4");
    assert!(matches!(props.get("ZDMJ"), Some(MvtValue::Double(a)) if (*a - 1000.0).abs() < 1e-9), "{props:?}");
    let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["QLLX", "YT", "ZDDM", "ZDMJ", "ZT"],
        "codes, use, area, right type, status: no address, no owner"
    );
    assert_eq!(text(props, "ZT"), "current");
    // The polygon's centre, mapped back from tile units, is the parcel's centre.
    let (cx, cy) = bbox_centre(geom);
    let width = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    let mx = -HALF_WORLD + (f64::from(x) + cx / 4096.0) * width;
    let my = HALF_WORLD - (f64::from(y) + cy / 4096.0) * width;
    assert!((mx - centre.0).abs() < 1.0 && (my - centre.1).abs() < 1.0, "tile centre {mx},{my} vs {centre:?}");
    // gzip when asked, like the JSON endpoints (the older /api/tiles address too).
    let mut req = request(axum::http::Method::GET, &format!("/api/tiles/parcels/{z}/{x}/{y}"), Some(&token), None);
    req.headers_mut().insert(header::ACCEPT_ENCODING, axum::http::HeaderValue::from_static("gzip"));
    let zipped = call_with(&st, req).await;
    assert_eq!(zipped.headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    assert_eq!(zipped.headers.get(header::ETAG), r.headers.get(header::ETAG));
    // The same tile without the suffix, and the buildings layer of it.
    let plain = get(&st, &format!("/api/tiles/parcels/{z}/{x}/{y}"), &token).await;
    assert_eq!(plain.bytes, r.bytes);
    let b = get(&st, &format!("/api/tiles/buildings/{z}/{x}/{y}"), &token).await;
    assert_eq!(b.status, StatusCode::OK);
    let buildings = decode(&b.bytes, "buildings");
    assert_eq!(buildings.iter().map(|(p, _)| text(p, "ZRZH")).collect::<Vec<_>>(), vec![zrzh(OWN)]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn other_county_never_in_a_tile(pool: PgPool) {
    let (st, own) = seeded(&pool).await;
    // A parcel of the other county right beside the own one (5 m east of it).
    let admin = user_token(&st, "adm-other", Role::Admin, &[OTHER]).await;
    let near = put(
        &st,
        &format!("/api/parcels/{}", zddm(OTHER, 2)),
        &admin,
        &serde_json::json!({"ZL": "邻宗", "YT": "0501", "geometry": square(500_045.0, 3_300_000.0, 40.0)}),
    )
    .await;
    assert_eq!(near.status, StatusCode::OK, "{:?}", near.json);
    let a = mercator(&pool, 500_020.0, 3_300_020.0).await;
    let b = mercator(&pool, 500_065.0, 3_300_020.0).await;
    // The deepest zoom with parcels where both share one tile.
    let z = (14..=18).rev().find(|&z| tile_of(a, z) == tile_of(b, z)).unwrap_or(14);
    let (x, y) = tile_of(a, z);
    let both = user_token(&st, "both", Role::Reviewer, &[OWN, OTHER]).await;
    let all = decode(&get(&st, &format!("/tiles/parcels/{z}/{x}/{y}.mvt"), &both).await.bytes, "parcels");
    let mut codes: Vec<String> = all.iter().map(|(p, _)| text(p, "ZDDM")).collect();
    codes.sort();
    assert_eq!(codes, vec![zddm(OWN, 1), zddm(OTHER, 2)], "the tile at z={z} holds both counties");
    // Cached for the two-county caller now; the one-county caller has its own entry.
    let mine = decode(&get(&st, &format!("/tiles/parcels/{z}/{x}/{y}.mvt"), &own).await.bytes, "parcels");
    assert_eq!(mine.iter().map(|(p, _)| text(p, "ZDDM")).collect::<Vec<_>>(), vec![zddm(OWN, 1)]);
    let again = decode(&get(&st, &format!("/tiles/parcels/{z}/{x}/{y}.mvt"), &both).await.bytes, "parcels");
    assert_eq!(again.len(), 2);
    // The other county's own tile is empty for this caller.
    let far = mercator(&pool, 510_020.0, 3_300_020.0).await;
    let (xo, yo) = tile_of(far, 17);
    let r = get(&st, &format!("/tiles/parcels/17/{xo}/{yo}"), &own).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.bytes.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn empty_tiles_are_204_everywhere_on_earth(pool: PgPool) {
    let (st, token) = seeded(&pool).await;
    // A tile 1 km off the data, the whole-world tile and a deep tile over the Atlantic.
    let off = mercator(&pool, 501_000.0, 3_301_000.0).await;
    let (x, y) = tile_of(off, 17);
    for uri in [
        format!("/tiles/parcels/17/{x}/{y}"),
        "/tiles/parcels/1/0/0".to_owned(),
        "/tiles/subdistricts/20/400000/300000.mvt".to_owned(),
    ] {
        let r = get(&st, &uri, &token).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{uri}: {:?}", r.json);
    }
    // Low zooms show sub-districts only: a 200 km sub-district is in the world tile
    // and every zoom down, while the parcel inside it is not drawn below z14.
    sqlx::query(
        "INSERT INTO sub_districts (county, djzqdm, djzqmc, geom)
         VALUES ($1, $1 || '001001', '大子区', ST_Multi(ST_MakeEnvelope(400000, 3200000, 600000, 3400000, 4549)))",
    )
    .bind(OWN)
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let inside = mercator(&pool, 500_020.0, 3_300_020.0).await;
    for z in 0..=16 {
        let (x, y) = tile_of(inside, z);
        let r = get(&st, &format!("/tiles/subdistricts/{z}/{x}/{y}"), &token).await;
        assert_eq!(r.status, StatusCode::OK, "z={z}");
        let codes: Vec<String> = decode(&r.bytes, "subdistricts").iter().map(|(p, _)| text(p, "DJZQDM")).collect();
        assert_eq!(codes, vec![format!("{OWN}001001")], "z={z}");
        let parcels = get(&st, &format!("/tiles/parcels/{z}/{x}/{y}"), &token).await;
        assert_eq!(parcels.status == StatusCode::OK, z >= 14, "parcels at z={z}: {}", parcels.status);
        let buildings = get(&st, &format!("/tiles/buildings/{z}/{x}/{y}"), &token).await;
        assert_eq!(buildings.status == StatusCode::OK, z >= 15, "buildings at z={z}: {}", buildings.status);
    }
    assert_eq!(get(&st, "/tiles/parcels/1/0/0", &token).await.status, StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn boundary_points_with_their_numbers_from_z18(pool: PgPool) {
    let (st, token) = seeded(&pool).await;
    // The seeded parcel's four corners, numbered clockwise from the north-west.
    for (n, (x, y)) in
        [(500_000.0, 3_300_040.0), (500_040.0, 3_300_040.0), (500_040.0, 3_300_000.0), (500_000.0, 3_300_000.0)]
            .into_iter()
            .enumerate()
    {
        sqlx::query("INSERT INTO boundary_points (county, zddm, jzdh, jblx, geom) VALUES ($1, $2, $3, '3', ST_SetSRID(ST_MakePoint($4, $5), 4549))")
            .bind(OWN)
            .bind(zddm(OWN, 1))
            .bind(format!("J{}", n + 1))
            .bind(x)
            .bind(y)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let centre = mercator(&pool, 500_020.0, 3_300_020.0).await;
    let (x, y) = tile_of(centre, 17);
    assert_eq!(get(&st, &format!("/tiles/points/17/{x}/{y}"), &token).await.status, StatusCode::NO_CONTENT);
    // The tiles of the four corners at z18 and z19 hold each number, with its point.
    for z in [18u32, 19] {
        let mut numbers = std::collections::BTreeSet::new();
        for (x, y) in
            [(500_000.0, 3_300_040.0), (500_040.0, 3_300_040.0), (500_040.0, 3_300_000.0), (500_000.0, 3_300_000.0)]
        {
            let (tx, ty) = tile_of(mercator(&pool, x, y).await, z);
            let r = get(&st, &format!("/tiles/points/{z}/{tx}/{ty}"), &token).await;
            assert_eq!(r.status, StatusCode::OK, "z={z}");
            for (p, g) in decode(&r.bytes, "points") {
                assert!(matches!(g, geo_types::Geometry::Point(_) | geo_types::Geometry::MultiPoint(_)), "{g:?}");
                numbers.insert(text(&p, "JZDH"));
            }
        }
        assert_eq!(numbers.into_iter().collect::<Vec<_>>(), ["J1", "J2", "J3", "J4"], "z={z}");
    }
}

/// Exterior-ring vertices (without the closing repeat) of the decoded features of `zddm`.
fn ring_vertices(features: &[(HashMap<String, MvtValue>, geo_types::Geometry<f32>)], code: &str) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for (props, geom) in features.iter().filter(|(p, _)| text(p, "ZDDM") == code) {
        let polygons = match geom {
            geo_types::Geometry::Polygon(p) => vec![p.clone()],
            geo_types::Geometry::MultiPolygon(m) => m.0.clone(),
            other => panic!("{props:?}: expected polygons, got {other:?}"),
        };
        for p in polygons {
            let ring: Vec<_> = p.exterior().coords().map(|c| (f64::from(c.x), f64::from(c.y))).collect();
            out.extend_from_slice(&ring[..ring.len().saturating_sub(1)]);
        }
    }
    out
}

/// Survey zooms (z ≥ 17) show every surveyed vertex; below, tiles are simplified.
/// The parcel's north edge zigzags 0.1 m every 2 m: within z16's tolerance (one
/// tile unit, 0.15 m of Web Mercator) but 1.5 tile units at z17.
#[sqlx::test(migrator = "MIGRATOR")]
async fn survey_zooms_keep_every_vertex(pool: PgPool) {
    let (st, token) = seeded(&pool).await;
    // The centre of a z19 tile, so the 20 m parcel lies inside one tile at z16..=19.
    let (tx, ty) = tile_of(mercator(&pool, 502_000.0, 3_300_500.0).await, 19);
    let w19 = 2.0 * HALF_WORLD / f64::from(1u32 << 19);
    let (cx, cy): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 3857), 4549) AS p) s",
    )
    .bind(-HALF_WORLD + (f64::from(tx) + 0.5) * w19)
    .bind(HALF_WORLD - (f64::from(ty) + 0.5) * w19)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (x0, y0, x1, y1) = (cx - 10.0, cy - 10.0, cx + 10.0, cy + 10.0);
    let mut ring = vec![(x0, y0), (x1, y0)];
    ring.extend((0..=10).rev().map(|i| (x0 + 2.0 * f64::from(i), y1 + if i % 2 == 1 { 0.1 } else { 0.0 })));
    ring.push((x0, y0));
    let wkt = ring.iter().map(|(x, y)| format!("{x} {y}")).collect::<Vec<_>>().join(",");
    let code = zddm(OWN, 77);
    sqlx::query(
        "INSERT INTO parcels (county, zddm, zdmj, yt, qllx, geom)
         VALUES ($1, $2, 400, '0701', '4', ST_Multi(ST_GeomFromText('POLYGON((' || $3 || '))', 4549)))",
    )
    .bind(OWN)
    .bind(&code)
    .bind(&wkt)
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stored: Vec<(f64, f64)> = sqlx::query_as(
        "SELECT ST_X(d.geom), ST_Y(d.geom) FROM parcels, ST_DumpPoints(geom_3857) d
         WHERE zddm = $1 AND state = 'current' ORDER BY d.path",
    )
    .bind(&code)
    .fetch_all(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stored = &stored[..stored.len() - 1];
    assert_eq!(stored.len(), 13); // two south corners, eleven along the north edge
    for z in 16u32..=19 {
        let (x, y) = tile_of(stored[0], z);
        let r = get(&st, &format!("/tiles/parcels/{z}/{x}/{y}.mvt"), &token).await;
        assert_eq!(r.status, StatusCode::OK, "z={z}");
        let decoded = ring_vertices(&decode(&r.bytes, "parcels"), &code);
        let width = 2.0 * HALF_WORLD / f64::from(1u32 << z);
        // A stored vertex in tile units; the tile rounds to whole units.
        let unit = |(mx, my): (f64, f64)| {
            (((mx + HALF_WORLD) / width - f64::from(x)) * 4096.0, ((HALF_WORLD - my) / width - f64::from(y)) * 4096.0)
        };
        let kept = stored
            .iter()
            .map(|v| unit(*v))
            .filter(|(u, w)| decoded.iter().any(|(a, b)| (a - u).abs() <= 1.0 && (b - w).abs() <= 1.0))
            .count();
        if z >= 17 {
            assert_eq!((kept, decoded.len()), (stored.len(), stored.len()), "z={z}: every vertex, nothing else");
        } else {
            assert!(decoded.len() < stored.len() && kept == decoded.len(), "z={z}: simplified, got {decoded:?}");
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn clients_get_no_tiles_and_bad_addresses_are_400(pool: PgPool) {
    let (st, token) = seeded(&pool).await;
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    for uri in ["/api/tiles/parcels/17/0/0", "/api/map/parcels?county=330102"] {
        let r = get(&st, uri, &client).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{uri}");
    }
    for uri in [
        "/api/tiles/parcels/23/0/0",
        "/api/tiles/parcels/2/4/0",
        "/api/tiles/parcels/2/0/-1",
        "/api/tiles/parcels/x/0/0",
        "/api/tiles/parcels/2/0/1.png",
        "/api/tiles/parcels/99999999999/0/0",
    ] {
        let r = get(&st, uri, &token).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{uri}: {:?}", r.json);
    }
    let r = get(&st, "/api/tiles/households/1/0/0", &token).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = call(&st, axum::http::Method::GET, "/api/tiles/parcels/0/0/0", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn map_layer_is_the_callers_county_as_geojson(pool: PgPool) {
    let (st, token) = seeded(&pool).await;
    let r = get(&st, &format!("/api/map/parcels?county={OWN}"), &token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["type"], "FeatureCollection");
    assert_eq!(r.json["srid"], 4549);
    assert_eq!((r.json["total"].as_i64(), r.json["truncated"].as_bool()), (Some(1), Some(false)));
    let f = &r.json["features"][0];
    assert_eq!(f["properties"]["ZDDM"], zddm(OWN, 1));
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    assert_eq!(f["geometry"]["coordinates"][0][0][0][0], 500_000.0);
    let r = get(&st, &format!("/api/map/buildings?county={OWN}"), &token).await;
    assert_eq!(r.json["features"][0]["properties"]["ZRZH"], zrzh(OWN));
    let r = get(&st, &format!("/api/map/parcels?county={OTHER}"), &token).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "county_forbidden"));
    let r = get(&st, "/api/map/parcels?county=33010", &token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn summary_counts_current_objects_per_county_in_scope(pool: PgPool) {
    let (st, own) = seeded(&pool).await;
    let client = client_token(&st, "reg", &[OWN], None, &[]).await;
    // An edit makes a historical version, which must not be counted.
    let admin = user_token(&st, "adm2", Role::Admin, &[OWN]).await;
    let again = put(&st, &format!("/api/households/{}", bdcdyh(OWN, 101)), &admin, &household_body(1, 101)).await;
    assert_eq!(again.status, StatusCode::OK);
    for token in [&own, &client] {
        let r = get(&st, "/api/summary", token).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        let rows = r.json["counties"].as_array().cloned().unwrap_or_default();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(row["county"], OWN);
        assert_eq!(
            (
                row["parcels"].as_i64(),
                row["buildings"].as_i64(),
                row["households"].as_i64(),
                row["sub_districts"].as_i64()
            ),
            (Some(1), Some(1), Some(2), Some(0))
        );
        let last: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT max(at) FROM audit WHERE county = $1 AND action = 'household.update'")
                .bind(OWN)
                .fetch_one(&pool)
                .await
                .unwrap_or_default();
        let shown = row["last_write"].as_str().and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok());
        assert_eq!(shown, last);
    }
    let both = user_token(&st, "both", Role::Reviewer, &[OTHER, OWN, "330104"]).await;
    let r = get(&st, "/api/summary", &both).await;
    let counties: Vec<&str> = r.json["counties"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["county"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(counties, vec![OWN, OTHER, "330104"]);
    assert_eq!(r.json["counties"][2]["parcels"], 0);
    assert!(r.json["counties"][2]["last_write"].is_null());
    assert_eq!(call(&st, axum::http::Method::GET, "/api/summary", None, None).await.status, StatusCode::UNAUTHORIZED);
}
