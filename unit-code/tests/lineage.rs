//! Lifecycle events and lineage, the same scenarios in memory and on the real
//! PostgreSQL, which must answer identically.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "postgres")]
mod alloc_common;

use unit_code::alloc::{AllocError, Allocator, AnyCode, CodeStatus, MemoryAllocator};
use unit_code::lineage::{EventInput, EventKind, Lineage, LineageError, LineageStep};

type Walk = Vec<(u32, String, String, EventKind, i64)>;

fn simple(steps: &[LineageStep]) -> Walk {
    steps
        .iter()
        .map(|s| (s.depth, s.edge.old.to_string(), s.edge.new.to_string(), s.edge.kind, s.edge.event_id))
        .collect()
}

fn code(s: &str) -> AnyCode {
    s.parse().unwrap()
}

/// Parcels 1..=3, then: split 1 → 4, 5; merge 5 + 2 → 6 (new code);
/// merge 6 + 3 keeping 3. Returns the ancestors of 3 and descendants of 1.
async fn split_then_merge<R: Allocator + Lineage>(reg: &R) -> (Walk, Walk) {
    let sub = "330106001001".parse().unwrap();
    let gb = "GB".parse().unwrap();
    let p: Vec<AnyCode> = reg.next_parcels(sub, gb, 3).await.unwrap().into_iter().map(AnyCode::from).collect();
    let created = reg.record_event(EventInput::create("王五", p.clone())).await.unwrap();
    assert_eq!(created.input.kind, EventKind::Create);
    let q: Vec<AnyCode> = reg.next_parcels(sub, gb, 2).await.unwrap().into_iter().map(AnyCode::from).collect();
    reg.record_event(EventInput::split("王五", p[0], q.clone()).with_note("2026 分割")).await.unwrap();
    let merged = AnyCode::from(reg.next_parcel(sub, gb).await.unwrap());
    reg.record_event(EventInput::merge("赵六", vec![q[1], p[1]], merged)).await.unwrap();
    let kept = reg.record_event(EventInput::merge("赵六", vec![merged, p[2]], p[2])).await.unwrap();
    assert_eq!(kept.input.actor, "赵六");

    let historical = [p[0], p[1], q[1], merged];
    for c in historical {
        assert_eq!(reg.status(c).await.unwrap(), Some(CodeStatus::Historical), "{c}");
    }
    for c in [p[2], q[0]] {
        assert_eq!(reg.status(c).await.unwrap(), Some(CodeStatus::Current), "{c}");
    }
    // A retired code cannot take part in a new event.
    let e = reg.record_event(EventInput::split("x", p[0], vec![q[0], p[2]])).await.unwrap_err();
    assert!(matches!(e, LineageError::Alloc(AllocError::Retired { .. })), "{e}");
    // Nothing of the refused event was written: q[0] is still current.
    assert_eq!(reg.status(q[0]).await.unwrap(), Some(CodeStatus::Current));

    let events = reg.events_of(q[1]).await.unwrap();
    assert_eq!(events.iter().map(|e| e.input.kind).collect::<Vec<_>>(), vec![EventKind::Split, EventKind::Merge]);
    assert_eq!(events[0].input.note, "2026 分割");
    assert!(events[0].at <= events[1].at);

    (simple(&reg.ancestors(p[2]).await.unwrap()), simple(&reg.descendants(p[0]).await.unwrap()))
}

fn expected() -> (Walk, Walk) {
    let c = |n: u32| format!("330106001001GB{n:05}");
    use EventKind::{Merge, Split};
    // Codes: 1, 2, 3 created (event 1); 1 → 4, 5 (event 2); 5 + 2 → 6 (event 3); 6 + 3 → 3 (event 4).
    let ancestors = vec![
        (1, c(6), c(3), Merge, 4),
        (2, c(2), c(6), Merge, 3),
        (2, c(5), c(6), Merge, 3),
        (3, c(1), c(5), Split, 2),
    ];
    let descendants = vec![
        (1, c(1), c(4), Split, 2),
        (1, c(1), c(5), Split, 2),
        (2, c(5), c(6), Merge, 3),
        (3, c(6), c(3), Merge, 4),
    ];
    (ancestors, descendants)
}

#[tokio::test]
async fn memory_split_then_merge_chain() {
    let reg = MemoryAllocator::new();
    assert_eq!(split_then_merge(&reg).await, expected());
}

#[tokio::test]
async fn memory_event_shapes_are_checked() {
    let reg = MemoryAllocator::new();
    let sub = "330106001001".parse().unwrap();
    let p: Vec<AnyCode> =
        reg.next_parcels(sub, "GB".parse().unwrap(), 3).await.unwrap().into_iter().map(AnyCode::from).collect();
    let invalid = |e: Result<_, LineageError>| matches!(e, Err(LineageError::InvalidEvent { .. }));
    assert!(invalid(reg.record_event(EventInput::split("a", p[0], vec![p[1]])).await));
    assert!(invalid(reg.record_event(EventInput::split("a", p[0], vec![p[0], p[1]])).await));
    assert!(invalid(reg.record_event(EventInput::merge("a", vec![p[0]], p[1])).await));
    assert!(invalid(reg.record_event(EventInput::merge("a", vec![p[0], p[0]], p[1])).await));
    assert!(invalid(reg.record_event(EventInput::extinguish("a", vec![])).await));
    assert!(invalid(reg.record_event(EventInput::create("", vec![p[0]])).await));
    let other_county = code("330107001001GB00001");
    assert!(matches!(
        reg.record_event(EventInput::change("a", p[0], other_county)).await,
        Err(LineageError::CrossCounty { .. })
    ));
    let unknown = code("330106001001GB00099");
    assert!(matches!(
        reg.record_event(EventInput::change("a", p[0], unknown)).await,
        Err(LineageError::Alloc(AllocError::UnknownCode { .. }))
    ));
    // None of the refusals changed anything.
    for c in &p {
        assert_eq!(reg.status(*c).await.unwrap(), Some(CodeStatus::Current));
    }
    // Attribute-only change: same code, no edge, stays current.
    reg.record_event(EventInput::change("a", p[0], p[0])).await.unwrap();
    assert_eq!(reg.status(p[0]).await.unwrap(), Some(CodeStatus::Current));
    assert!(reg.descendants(p[0]).await.unwrap().is_empty());
    // Extinguish retires, and the counter never hands the number out again.
    reg.record_event(EventInput::extinguish("a", vec![p[2]])).await.unwrap();
    assert_eq!(reg.status(p[2]).await.unwrap(), Some(CodeStatus::Historical));
    assert_eq!(reg.next_parcel(sub, "GB".parse().unwrap()).await.unwrap().sequence(), 4);
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use alloc_common::TestDb;
    use unit_code::alloc::PgAllocator;

    #[tokio::test]
    async fn postgres_split_then_merge_chain_matches_memory() {
        let db = TestDb::new("lineage", 4).await;
        let reg = PgAllocator::new(db.pool.clone());
        assert_eq!(split_then_merge(&reg).await, expected());
        let edges: i64 = sqlx::query_scalar("SELECT count(*) FROM uc_lineage").fetch_one(&db.pool).await.unwrap();
        assert_eq!(edges, 5);
        db.drop_db().await;
    }

    /// Per table of the registry: sequential scans and index pages read so
    /// far, as the statistics say once `pool`'s session has flushed its own.
    async fn reads(pool: &sqlx::PgPool) -> Vec<(String, i64, i64)> {
        sqlx::query("SELECT pg_stat_force_next_flush()").execute(pool).await.unwrap();
        sqlx::query_as(
            "SELECT t.relname::text, t.seq_scan, \
                    (SELECT coalesce(sum(i.idx_blks_hit + i.idx_blks_read), 0)::bigint \
                     FROM pg_statio_user_indexes i WHERE i.relid = t.relid) \
             FROM pg_stat_user_tables t WHERE t.relname IN ('uc_unit', 'uc_counter', 'uc_lineage', 'uc_event') ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    /// Every lookup of the registry goes straight to its rows through an index.
    /// `county` is CHAR(6) and sqlx binds text: `county = $1` compared as text,
    /// which no index on the bpchar column serves, so each lookup read the
    /// whole table (or, with sequential scans off, the whole primary key). The
    /// registry holds 200,000 other codes, so one such lookup reads more index
    /// pages (~1,300) than the whole workload may.
    #[tokio::test]
    async fn postgres_lookups_never_scan_a_whole_table() {
        let db = TestDb::new("lineage_index", 4).await;
        // One session, so its statistics are the ones flushed before reading.
        let pool = db.other_pool_with(1, &[("enable_seqscan", "off")]).await;
        let reg = PgAllocator::new(pool.clone());
        for sub in ["330106009008", "330106009009"] {
            let filler = unit_code::alloc::Scope::parcels(sub.parse().unwrap(), "GB".parse().unwrap());
            reg.allocate(filler, 99_999).await.unwrap();
        }
        let before = reads(&pool).await;

        assert_eq!(split_then_merge(&reg).await, expected());
        let parcel: unit_code::ParcelCode = "330106001001GB00004".parse().unwrap();
        let building = reg.next_building(parcel).await.unwrap();
        let households = reg.next_households(building, 3).await.unwrap();
        reg.retire(households[1].into()).await.unwrap();
        assert_eq!(reg.children(building.into()).await.unwrap().len(), 3);
        let scope = unit_code::alloc::Scope::households(building);
        assert_eq!(reg.last_issued(scope).await.unwrap(), 3);
        let land: AnyCode = "330106001001GB00004W00000000".parse().unwrap();
        reg.register(land).await.unwrap();

        let after = reads(&pool).await;
        assert_eq!(after.len(), 4, "{after:?}");
        let scans: Vec<_> = before.iter().zip(&after).filter(|(b, a)| a.1 > b.1).collect();
        assert!(scans.is_empty(), "a registry statement scanned a whole table: {scans:?}");
        let pages: i64 = before.iter().zip(&after).map(|(b, a)| a.2 - b.2).sum();
        assert!(pages > 0, "no index page read counted: statistics not flushed? {after:?}");
        assert!(pages < 1_000, "{pages} index pages read by a few dozen lookups: {before:?} → {after:?}");
        pool.close().await;
        db.drop_db().await;
    }

    #[tokio::test]
    async fn postgres_refused_event_writes_nothing() {
        let db = TestDb::new("lineage_refuse", 4).await;
        let reg = PgAllocator::new(db.pool.clone());
        let sub = "330106001001".parse().unwrap();
        let p: Vec<AnyCode> =
            reg.next_parcels(sub, "GB".parse().unwrap(), 3).await.unwrap().into_iter().map(AnyCode::from).collect();
        reg.retire(p[2]).await.unwrap();
        // The old code is retired before the new one is found to be retired: all rolled back.
        let e = reg.record_event(EventInput::split("a", p[0], vec![p[1], p[2]])).await.unwrap_err();
        assert!(matches!(e, LineageError::Alloc(AllocError::Retired { .. })), "{e}");
        let e = reg.record_event(EventInput::extinguish("a", vec![p[0], p[2]])).await.unwrap_err();
        assert!(matches!(e, LineageError::Alloc(AllocError::Retired { .. })), "{e}");
        assert_eq!(reg.status(p[0]).await.unwrap(), Some(CodeStatus::Current));
        let events: i64 = sqlx::query_scalar("SELECT count(*) FROM uc_event").fetch_one(&db.pool).await.unwrap();
        assert_eq!(events, 0);
        db.drop_db().await;
    }
}
