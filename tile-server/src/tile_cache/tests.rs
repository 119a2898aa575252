//! The cache against a model world: "features" are Web Mercator boxes with a
//! version; a tile's "render" lists the versions of the features it touches.

use std::sync::Mutex;

use proptest::prelude::*;

use super::*;

const OWN: &str = "330102";

fn own() -> Vec<String> {
    vec![OWN.to_owned()]
}

fn coherent() -> TileCache {
    let c = TileCache::new(64 << 20);
    c.set_coherent(true);
    c
}

/// Features: (box, version), all in county OWN.
#[derive(Debug, Default)]
struct World {
    features: Mutex<Vec<([f64; 4], u32)>>,
}

impl World {
    fn render(&self, tile: TileCoord) -> Vec<u8> {
        let f = self.features.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        for (i, (b, v)) in f.iter().enumerate() {
            if grid::touches(*b, tile) {
                out.extend_from_slice(format!("{i}:{v};").as_bytes());
            }
        }
        out
    }

    /// Edits feature `i` (moves it to `to`) and returns the notice the trigger would send.
    fn edit(&self, i: usize, to: [f64; 4]) -> Notice {
        let mut f = self.features.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = f[i].0;
        f[i] = (to, f[i].1 + 1);
        Notice { layer: TileLayer::Parcels, county: Some(OWN.into()), extent: Extent::Boxes(vec![old, to]) }
    }
}

fn centre_box(tile: TileCoord, size: f64) -> [f64; 4] {
    let [x0, y0, x1, y1] = tile.buffered_bounds();
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    [cx - size, cy - size, cx + size, cy + size]
}

async fn get(cache: &TileCache, world: &World, tile: TileCoord, counties: &[String]) -> (Vec<u8>, Lookup) {
    let (t, how) = cache
        .tile(TileLayer::Parcels, tile, counties, || async { Ok(world.render(tile)) })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (t.body.to_vec(), how)
}

fn tile(z: u32, x: u32, y: u32) -> TileCoord {
    TileCoord::new(z, x, y).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn an_edit_drops_the_tiles_it_touches_at_every_zoom_and_nothing_else() {
    let cache = coherent();
    let world = World::default();
    let near = tile(18, 219_000, 107_000);
    let far = tile(18, 219_010, 107_000);
    world
        .features
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend([(centre_box(near, 5.0), 1), (centre_box(far, 5.0), 1)]);
    let parents: Vec<TileCoord> = (14..18).map(|z| tile(z, near.x >> (18 - z), near.y >> (18 - z))).collect();
    for t in parents.iter().chain([&near, &far]) {
        assert_eq!(get(&cache, &world, *t, &own()).await.1, Lookup::Rendered);
        assert_eq!(get(&cache, &world, *t, &own()).await.1, Lookup::Hit);
    }
    let notice = world.edit(0, centre_box(near, 6.0));
    cache.apply(notice);
    for t in parents.iter().chain([&near]) {
        let (body, how) = get(&cache, &world, *t, &own()).await;
        assert_eq!(how, Lookup::Rendered, "z{} was dropped", t.z);
        assert_eq!(body, world.render(*t));
    }
    assert_eq!(get(&cache, &world, far, &own()).await.1, Lookup::Hit, "a far tile stays cached");
    // Another county's edit drops nothing of ours.
    cache.apply(Notice { layer: TileLayer::Parcels, county: Some("330103".into()), extent: Extent::All });
    assert_eq!(get(&cache, &world, near, &own()).await.1, Lookup::Hit);
    // Nor does an edit of another layer.
    cache.apply(Notice { layer: TileLayer::Buildings, county: Some(OWN.into()), extent: Extent::All });
    assert_eq!(get(&cache, &world, near, &own()).await.1, Lookup::Hit);
}

#[tokio::test]
async fn scopes_are_separate_entries_and_each_is_invalidated() {
    let cache = coherent();
    let world = World::default();
    let t = tile(16, 54_000, 26_000);
    world.features.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((centre_box(t, 3.0), 1));
    let both = vec![OWN.to_owned(), "330103".to_owned()];
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Rendered);
    assert_eq!(get(&cache, &world, t, &both).await.1, Lookup::Rendered, "another scope, another entry");
    assert_eq!(get(&cache, &world, t, &both).await.1, Lookup::Hit);
    cache.apply(world.edit(0, centre_box(t, 4.0)));
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Rendered);
    assert_eq!(get(&cache, &world, t, &both).await.1, Lookup::Rendered);
    assert_eq!(cache.stats().dropped, 2);
}

#[tokio::test]
async fn a_render_that_overlapped_an_edit_of_its_tile_is_not_stored() {
    let cache = coherent();
    let world = World::default();
    let t = tile(17, 109_000, 53_000);
    let other = tile(17, 109_100, 53_000);
    world
        .features
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend([(centre_box(t, 3.0), 1), (centre_box(other, 3.0), 1)]);
    // The render reads the old rows, then the edit commits and is announced.
    let (served, how) = cache
        .tile(TileLayer::Parcels, t, &own(), || async {
            let old = world.render(t);
            cache.apply(world.edit(0, centre_box(t, 4.0)));
            Ok(old)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(how, Lookup::Rendered);
    assert_ne!(served.body.to_vec(), world.render(t), "its own request gets what it read");
    assert_eq!(cache.stats().discarded, 1);
    let (body, how) = get(&cache, &world, t, &own()).await;
    assert_eq!((body, how), (world.render(t), Lookup::Rendered), "the next request renders afresh");
    // An edit elsewhere during a render does not cost the render its place.
    let ticketed = tile(17, 109_000, 53_001);
    cache
        .tile(TileLayer::Parcels, ticketed, &own(), || async {
            let r = world.render(ticketed);
            cache.apply(world.edit(1, centre_box(other, 4.0)));
            Ok(r)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get(&cache, &world, ticketed, &own()).await.1, Lookup::Hit);
}

#[tokio::test]
async fn without_a_listener_every_request_renders() {
    let cache = TileCache::new(1 << 20);
    let world = World::default();
    let t = tile(15, 27_000, 13_000);
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Bypassed, "nothing trusted before listening");
    cache.set_coherent(true);
    get(&cache, &world, t, &own()).await;
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Hit);
    cache.set_coherent(false);
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Bypassed);
    cache.set_coherent(true);
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Rendered, "coming back flushed the cache");
    let off = TileCache::new(0);
    off.set_coherent(true);
    assert_eq!(get(&off, &world, t, &own()).await.1, Lookup::Bypassed, "size 0 = off");
}

#[tokio::test]
async fn a_big_notice_is_applied_by_a_pass_over_the_cache() {
    let cache = coherent();
    let world = World::default();
    let tiles: Vec<TileCoord> = (0..20).map(|i| tile(18, 219_000 + i * 3, 107_000)).collect();
    for t in &tiles {
        get(&cache, &world, *t, &own()).await;
    }
    // A box over the first ten tiles: thousands of z22 tiles, so no key-by-key.
    let [x0, y0, ..] = tiles[0].buffered_bounds();
    let [.., x1, y1] = tiles[9].buffered_bounds();
    cache.zooms[TileLayer::Parcels.index()].fetch_or(1 << 22, Ordering::Relaxed);
    cache.apply(Notice {
        layer: TileLayer::Parcels,
        county: Some(OWN.into()),
        extent: Extent::Boxes(vec![[x0 + 1.0, y0 + 1.0, x1 - 1.0, y1 - 1.0]]),
    });
    for (i, t) in tiles.iter().enumerate() {
        let how = get(&cache, &world, *t, &own()).await.1;
        assert_eq!(how == Lookup::Hit, i >= 10, "tile {i}: {how:?}");
    }
}

#[tokio::test]
async fn an_unreadable_notice_flushes_everything() {
    let cache = coherent();
    let world = World::default();
    let t = tile(15, 27_000, 13_000);
    get(&cache, &world, t, &own()).await;
    let mut events = cache.subscribe();
    cache.on_notification("parcels|330102|1,2");
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Rendered);
    let first = events.try_recv().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.extent, Extent::All, "consoles are told to refresh");
}

#[tokio::test]
async fn concurrent_requests_for_one_tile_share_one_render() {
    let cache = Arc::new(coherent());
    let world = Arc::new(World::default());
    let t = tile(16, 54_000, 26_000);
    let gate = Arc::new(tokio::sync::Notify::new());
    let renders = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (cache, world, gate, renders) = (cache.clone(), world.clone(), gate.clone(), renders.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .tile(TileLayer::Parcels, t, &own(), || {
                    let (world, gate, renders) = (world.clone(), gate.clone(), renders.clone());
                    async move {
                        renders.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Ok(world.render(t))
                    }
                })
                .await
                .map(|(_, how)| how)
        }));
    }
    // Let every task reach the cache, then release the one render.
    while cache.inflight.lock().map(|m| m.is_empty()).unwrap_or(true) {
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    gate.notify_one();
    let mut hows = Vec::new();
    for task in tasks {
        hows.push(task.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}")));
    }
    assert_eq!(renders.load(Ordering::SeqCst), 1, "{hows:?}");
    assert_eq!(hows.iter().filter(|h| **h == Lookup::Rendered).count(), 1, "{hows:?}");
}

#[derive(Debug, Clone)]
enum Op {
    /// Request tile i of the grid.
    Get(usize),
    /// Request tile i while feature j is edited during the render.
    GetDuringEdit(usize, usize, i8, i8),
    /// Edit feature j (move by dx, dy tile widths / 4).
    Edit(usize, i8, i8),
    /// Forget every tile in memory, as a restart does (the disk tier keeps its own).
    ForgetMemory,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..12).prop_map(Op::Get),
        1 => (0usize..12, 0usize..6, -4i8..=4, -4i8..=4).prop_map(|(i, j, dx, dy)| Op::GetDuringEdit(i, j, dx, dy)),
        2 => (0usize..6, -4i8..=4, -4i8..=4).prop_map(|(j, dx, dy)| Op::Edit(j, dx, dy)),
    ]
}

fn op_or_restart() -> impl Strategy<Value = Op> {
    prop_oneof![6 => op(), 1 => Just(Op::ForgetMemory)]
}

/// Runs `ops` against `cache` and a model world; every answer must be what the
/// world renders at that moment.
async fn never_stale(cache: &TileCache, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let world = World::default();
    // A 4 x 3 block of z17 tiles and their z15/z16 parents; six small features.
    let mut grid = Vec::new();
    for z in [15u32, 16, 17] {
        let s = 17 - z;
        for i in 0..4u32 {
            for j in 0..3u32 {
                grid.push(tile(z, (109_000 + i) >> s, (53_000 + j) >> s));
            }
        }
    }
    let base = tile(17, 109_000, 53_000);
    let w = base.width_m();
    {
        let mut f = world.features.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in 0..6 {
            let b = centre_box(tile(17, 109_000 + (k % 4) as u32, 53_000 + (k / 4) as u32), 2.0);
            f.push((b, 0));
        }
    }
    let moved = |j: usize, dx: i8, dy: i8| {
        let f = world.features.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let b = f[j].0;
        let (mx, my) = (f64::from(dx) * w / 4.0, f64::from(dy) * w / 4.0);
        [b[0] + mx, b[1] + my, b[2] + mx, b[3] + my]
    };
    for op in ops {
        match op {
            Op::Get(i) => {
                let t = grid[i % grid.len()];
                let (body, _) = get(cache, &world, t, &own()).await;
                prop_assert_eq!(body, world.render(t), "stale tile {:?}", t);
            }
            Op::GetDuringEdit(i, j, dx, dy) => {
                let t = grid[i % grid.len()];
                let to = moved(j, dx, dy);
                cache
                    .tile(TileLayer::Parcels, t, &own(), || async {
                        let r = world.render(t);
                        cache.apply(world.edit(j, to));
                        Ok(r)
                    })
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                // What the next request gets must include the edit.
                let (body, _) = get(cache, &world, t, &own()).await;
                prop_assert_eq!(body, world.render(t));
            }
            Op::Edit(j, dx, dy) => {
                let to = moved(j, dx, dy);
                cache.apply(world.edit(j, to));
            }
            Op::ForgetMemory => {
                cache.cache.invalidate_all();
                cache.cache.run_pending_tasks();
            }
        }
    }
    for t in &grid {
        let (body, _) = get(cache, &world, *t, &own()).await;
        prop_assert_eq!(body, world.render(*t));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Whatever the interleaving of requests, edits and edits during renders, a
    /// request that starts after an edit's notice never gets a tile without it.
    #[test]
    fn no_stale_tile_is_ever_served(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(never_stale(&coherent(), ops))?;
    }

    /// The same with the disk tier, and memory forgotten now and then: tiles read
    /// back from disk are never stale either (a render overlapping an edit is not
    /// written, an edit deletes what it touches on disk).
    #[test]
    fn no_stale_tile_is_ever_served_from_disk_either(ops in proptest::collection::vec(op_or_restart(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            // No database: the catch-up cannot run, so the disk is trusted by hand.
            let pool = sqlx::postgres::PgPoolOptions::new()
                .connect_lazy("postgres://nobody@127.0.0.1:1/none")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let cache = TileCache::with_disk(64 << 20, dir.path(), pool).map_err(|e| TestCaseError::fail(e.to_string()))?;
            cache.set_coherent(true);
            if let Some(disk) = &cache.disk {
                disk.trust_for_tests();
            }
            prop_assert!(cache.disk_ready());
            never_stale(&cache, ops).await
        })?;
    }
}

#[tokio::test]
async fn a_tile_forgotten_in_memory_comes_back_from_disk() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:1/none");
    let pool = pool.unwrap_or_else(|e| panic!("{e}"));
    let cache = TileCache::with_disk(64 << 20, dir.path(), pool).unwrap_or_else(|e| panic!("{e}"));
    cache.set_coherent(true);
    let world = World::default();
    let t = tile(16, 54_000, 26_000);
    world.features.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((centre_box(t, 3.0), 1));
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Rendered);
    assert_eq!(cache.stats().disk_writes, 1);
    cache.cache.invalidate_all();
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Rendered, "not trusted before the catch-up");
    if let Some(disk) = &cache.disk {
        disk.trust_for_tests();
    }
    cache.cache.invalidate_all();
    let (body, how) = get(&cache, &world, t, &own()).await;
    assert_eq!((body, how), (world.render(t), Lookup::Disk));
    assert_eq!(get(&cache, &world, t, &own()).await.1, Lookup::Hit, "and is kept in memory");
    // An edit deletes it on disk as in memory.
    cache.apply(world.edit(0, centre_box(t, 4.0)));
    cache.cache.invalidate_all();
    let (body, how) = get(&cache, &world, t, &own()).await;
    assert_eq!((body, how), (world.render(t), Lookup::Rendered));
    assert_eq!(cache.stats().disk_dropped, 1);
}
