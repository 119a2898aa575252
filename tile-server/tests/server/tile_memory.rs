//! The memory bound of the tile cache, with tiles rendered by the real PostGIS: many
//! more tiles than fit keep the cache's weighted size under its bound, and the
//! tiles that no longer fit are rendered again (counted by the cache's counters).

use sqlx::PgPool;
use tile_server::cache_sync::SyncedCache;
use tile_server::db::tiles::{self as tiles_db, TileCoord, TileLayer};
use tile_server::db::MIGRATOR;
use tile_server::tile_cache::{Lookup, TileCache};

use crate::common::*;
use crate::tile_cache::parcels_in;
use crate::tiles::{mercator, tile_of};

/// Parcels every 60 m on a 24 × 24 grid from (500 000, 3 300 000).
async fn seed_grid(pool: &PgPool) {
    sqlx::query(
        "INSERT INTO parcels (county, zddm, yt, zdmj, qllx, geom)
         SELECT $1, $1 || '001001GB' || lpad((i * 24 + j + 1)::text, 5, '0'), '0701', 900, '4',
                ST_Multi(ST_MakeEnvelope(500000 + i * 60, 3300000 + j * 60, 500030 + i * 60, 3300030 + j * 60, 4549))
         FROM generate_series(0, 23) i, generate_series(0, 23) j",
    )
    .bind(OWN)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_tiny_bound_holds_and_tiles_that_no_longer_fit_are_rendered_again(pool: PgPool) {
    seed_grid(&pool).await;
    // The z19 tiles over the grid (about 76 m wide: one or two parcels each).
    let mut tiles: Vec<TileCoord> = Vec::new();
    for i in 0..24 {
        for j in (0..24).step_by(2) {
            let m = mercator(&pool, 500_015.0 + f64::from(i) * 60.0, 3_300_015.0 + f64::from(j) * 60.0).await;
            let (x, y) = tile_of(m, 19);
            let t = TileCoord::new(19, x, y).unwrap_or_else(|e| panic!("{e}"));
            if !tiles.contains(&t) {
                tiles.push(t);
            }
        }
    }
    assert!(tiles.len() >= 200, "{}", tiles.len());
    const BOUND: u64 = 16 << 10;
    let cache = TileCache::new(BOUND);
    cache.set_coherent(true);
    let scope = [OWN.to_owned()];
    let fetch = async |t: TileCoord| {
        let (tile, how) = cache
            .tile(TileLayer::Parcels, t, &scope, || async {
                Ok(tiles_db::tile(&pool, TileLayer::Parcels, t, &scope).await?)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!parcels_in(&tile.body).is_empty(), "{t:?} holds a parcel");
        how
    };
    for t in &tiles {
        assert_eq!(fetch(*t).await, Lookup::Rendered);
    }
    let (entries, bytes) = cache.memory_usage();
    assert!(bytes <= BOUND, "{bytes} bytes held, bound {BOUND}");
    assert!(entries > 0 && (entries as usize) < tiles.len() / 4, "{entries} of {} tiles held", tiles.len());
    // A second pass: only tiles still held from the first pass can be hits (each
    // tile is asked for once per pass); everything else is rendered again.
    let first = cache.stats();
    let mut hits = 0u64;
    for t in &tiles {
        match fetch(*t).await {
            Lookup::Hit => hits += 1,
            Lookup::Rendered => {}
            other => panic!("{t:?}: {other:?}"),
        }
    }
    let second = cache.stats();
    assert_eq!(second.hits - first.hits, hits);
    assert!(hits <= entries, "{hits} hits, {entries} held");
    assert_eq!(second.renders - first.renders, tiles.len() as u64 - hits, "{second:?}");
    assert!(second.renders - first.renders >= tiles.len() as u64 - entries, "{second:?}");
    let (_, bytes) = cache.memory_usage();
    assert!(bytes <= BOUND, "still under the bound: {bytes}");
    // The same tiles with room for all of them: the second pass is all hits.
    let roomy = TileCache::new(64 << 20);
    roomy.set_coherent(true);
    for t in &tiles {
        roomy
            .tile(TileLayer::Parcels, *t, &scope, || async {
                Ok(tiles_db::tile(&pool, TileLayer::Parcels, *t, &scope).await?)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (all, _) = roomy.memory_usage();
    assert_eq!(all as usize, tiles.len(), "without the bound every tile stays");
}
