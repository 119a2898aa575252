//! Large writes and the tile cache: a re-import that changes parcels, and one SQL statement
//! changing hundreds of rows, reach the cached tiles through the statement triggers, and
//! only the tiles over the changed rows are rendered again (not their common extent).

use geo::Centroid;
use sqlx::PgPool;
use tile_server::auth::Role;
use tile_server::db::MIGRATOR;

use cadastre_samples::{generate, write_district, Config};

use crate::common::*;
use crate::import::{opts, run_import, tempdir};
use crate::tile_cache::{parcels_in, sync_tiles};
use crate::tiles::{mercator, tile_of};

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_import_refreshes_the_tiles_of_the_parcels_it_changes_and_no_others(pool: PgPool) {
    let config = Config::new(200).with_seed(12);
    let mut district = generate(&config).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (tempdir(), tempdir());
    write_district(&district, &config, a.path()).unwrap_or_else(|e| panic!("{e}"));
    let first = run_import(&pool, &opts(a.path(), None)).await;
    assert_eq!(first.rejected(), 0);
    let county = district.parcels[0].zddm[..6].to_owned();

    let st = state(&pool);
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[&county]).await;
    wait_listening(&st).await;
    sync_tiles(&st, &pool).await;

    // The parcel the import will change, and the one farthest from it.
    let centre = |i: usize| district.parcels[i].geometry.centroid().unwrap_or_else(|| panic!("parcel {i}"));
    let changed = centre(0);
    let (far_i, far_d) = (1..district.parcels.len())
        .map(|i| (i, (centre(i).x() - changed.x()).hypot(centre(i).y() - changed.y())))
        .fold((0, 0.0), |best, c| if c.1 > best.1 { c } else { best });
    assert!(far_d > 500.0, "the district is too small for a far tile: {far_d} m");
    let near_m = mercator(&pool, changed.x(), changed.y()).await;
    let far_m = mercator(&pool, centre(far_i).x(), centre(far_i).y()).await;
    let near: Vec<String> = (14..=18)
        .map(|z| {
            let (x, y) = tile_of(near_m, z);
            format!("/tiles/parcels/{z}/{x}/{y}.mvt")
        })
        .collect();
    let (fx, fy) = tile_of(far_m, 18);
    let far = format!("/tiles/parcels/18/{fx}/{fy}.mvt");
    for uri in near.iter().chain([&far]) {
        get(&st, uri, &viewer).await;
    }
    let before = st.tiles.stats();
    for uri in near.iter().chain([&far]) {
        get(&st, uri, &viewer).await;
    }
    assert_eq!(st.tiles.stats().hits - before.hits, 6, "every tile was cached");

    // The same district again, with parcel 0's use changed.
    let code = district.parcels[0].zddm.clone();
    let new_use = if district.parcels[0].land_use == "0502" { "0701" } else { "0502" };
    district.parcels[0].land_use = new_use.to_owned();
    write_district(&district, &config, b.path()).unwrap_or_else(|e| panic!("{e}"));
    let second = run_import(&pool, &opts(b.path(), None)).await;
    assert_eq!(second.layer("ZD").map(|l| (l.inserted, l.updated)), Some((0, 1)));
    sync_tiles(&st, &pool).await;

    let after = st.tiles.stats();
    for uri in &near {
        let r = get(&st, uri, &viewer).await;
        assert!(parcels_in(&r.bytes).contains(&(code.clone(), new_use.to_owned())), "{uri} shows the new use");
    }
    let fresh = st.tiles.stats();
    assert_eq!(fresh.renders - after.renders, 5, "the five tiles over the parcel were rendered again");
    assert_eq!(fresh.hits, after.hits);
    get(&st, &far, &viewer).await;
    assert_eq!(st.tiles.stats().hits - fresh.hits, 1, "the far tile is still a cache hit");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_statement_of_hundreds_of_rows_keeps_the_tiles_between_them(pool: PgPool) {
    let st = state(&pool);
    let viewer = user_token(&st, "viewer", Role::Surveyor, &[OWN]).await;
    // 150 parcels in a row at the west end, 150 six kilometres east, one in the middle.
    let ins = sqlx::query(
        "INSERT INTO parcels (county, zddm, zl, zdmj, yt, qllx, qlxz, geom)
         SELECT $1, $1 || '001001GB' || lpad(n::text, 5, '0'), '测试路', 900, '0701', '3', '102',
                ST_Multi(ST_MakeEnvelope(x, 3300000, x + 30, 3300030, Find_SRID('public', 'parcels', 'geom')))
         FROM (SELECT n, 500000 + CASE WHEN n <= 150 THEN n * 35 WHEN n <= 300 THEN 6000 + n * 35 ELSE 3000 + 5250 END AS x
               FROM generate_series(1, 301) n) s",
    )
    .bind(OWN)
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ins.rows_affected(), 301);
    wait_listening(&st).await;
    sync_tiles(&st, &pool).await;
    let middle_m = mercator(&pool, 508_265.0, 3_300_015.0).await;
    let west_m = mercator(&pool, 500_015.0 + 35.0 * 75.0, 3_300_015.0).await;
    let tile = |m, z| {
        let (x, y) = tile_of(m, z);
        format!("/tiles/parcels/{z}/{x}/{y}.mvt")
    };
    let (middle, west) = (tile(middle_m, 17), tile(west_m, 17));
    assert!(parcels_in(&get(&st, &middle, &viewer).await.bytes).contains(&(zddm(OWN, 301), "0701".to_owned())));
    get(&st, &west, &viewer).await;
    // One statement changes the 300 parcels at both ends, none in the middle.
    let upd = sqlx::query("UPDATE parcels SET yt = '0502' WHERE county = $1 AND zddm <> $2 AND state = 'current'")
        .bind(OWN)
        .bind(zddm(OWN, 301))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(upd.rows_affected(), 300);
    sync_tiles(&st, &pool).await;
    let before = st.tiles.stats();
    let r = get(&st, &west, &viewer).await;
    assert!(parcels_in(&r.bytes).iter().all(|(_, yt)| yt == "0502"), "the west tile is fresh");
    get(&st, &middle, &viewer).await;
    let after = st.tiles.stats();
    assert_eq!(
        (after.renders - before.renders, after.hits - before.hits),
        (1, 1),
        "only the west tile was rendered again"
    );
}
