//! Renumbering: before → after tables for a redrawn sub-district, a split and
//! a merge; applied in memory and in PostgreSQL; refused plans change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "postgres")]
mod alloc_common;

use unit_code::alloc::{Allocator, AnyCode, CodeStatus, MemoryAllocator};
use unit_code::lineage::{EventKind, Lineage};
use unit_code::renumber::{plan, Reason, Redraw, RenumberError, RenumberPlan};
use unit_code::{ParcelCode, ParcelFeature, SubdistrictCode};

fn sub(n: u16) -> SubdistrictCode {
    format!("330106001{n:03}").parse().unwrap()
}

fn gb() -> ParcelFeature {
    "GB".parse().unwrap()
}

fn c(s: &str) -> AnyCode {
    s.parse().unwrap()
}

/// Sub-district 001: parcels 1-3; parcel 1 has buildings 1 (3 flats) and 2
/// (2 flats) and its land-only unit; parcel 2 has building 1 (2 flats).
/// Sub-district 002 already has 4 parcels.
async fn district<R: Allocator>(reg: &R) -> Vec<ParcelCode> {
    let p = reg.next_parcels(sub(1), gb(), 3).await.unwrap();
    let b = reg.next_buildings(p[0], 2).await.unwrap();
    reg.next_households(b[0], 3).await.unwrap();
    reg.next_households(b[1], 2).await.unwrap();
    reg.register(unit_code::UnitCode::land_only(p[0]).into()).await.unwrap();
    let b2 = reg.next_building(p[1]).await.unwrap();
    reg.next_households(b2, 2).await.unwrap();
    reg.next_parcels(sub(2), gb(), 4).await.unwrap();
    p
}

fn rows(plan: &RenumberPlan) -> Vec<(String, String, Reason)> {
    plan.rows.iter().map(|r| (r.before.to_string(), r.after.to_string(), r.reason)).collect()
}

async fn check_move<R: Allocator + Lineage>(reg: &R, plan: &RenumberPlan) {
    // After apply: old codes historical, new current, counters continue.
    for r in &plan.rows {
        assert_eq!(reg.status(r.before).await.unwrap(), Some(CodeStatus::Historical), "{}", r.before);
        assert_eq!(reg.status(r.after).await.unwrap(), Some(CodeStatus::Current), "{}", r.after);
    }
    assert_eq!(reg.next_parcel(sub(2), gb()).await.unwrap().sequence(), 7);
    let new_p1: ParcelCode = "330106001002GB00005".parse().unwrap();
    assert_eq!(reg.next_building(new_p1).await.unwrap().number(), 3);
    let new_b1 = "330106001002GB00005F0001".parse().unwrap();
    assert_eq!(reg.next_household(new_b1).await.unwrap().household_no(), Some(4));
    let d = reg.descendants(c("330106001001GB00001F00010002")).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].edge.new, c("330106001002GB00005F00010002"));
    assert_eq!(d[0].edge.kind, EventKind::Change);
}

fn expect_move_rows(plan: &RenumberPlan) {
    let r = rows(plan);
    assert_eq!(r.len(), 13, "{r:#?}");
    assert_eq!(r[0], ("330106001001GB00001".into(), "330106001002GB00005".into(), Reason::Moved));
    assert_eq!(r[1], ("330106001001GB00002".into(), "330106001002GB00006".into(), Reason::Moved));
    assert!(r.contains(&("330106001001GB00001F0002".into(), "330106001002GB00005F0002".into(), Reason::Follows)));
    assert!(r.contains(&(
        "330106001001GB00002F00010002".into(),
        "330106001002GB00006F00010002".into(),
        Reason::Follows
    )));
    assert!(r.contains(&(
        "330106001001GB00001W00000000".into(),
        "330106001002GB00005W00000000".into(),
        Reason::Follows
    )));
    let csv = plan.to_csv();
    assert_eq!(csv.lines().count(), 14);
    assert!(
        csv.starts_with("before,after,reason,reason_zh\n330106001001GB00001,330106001002GB00005,moved,调整地籍子区\n")
    );
}

#[tokio::test]
async fn memory_move_to_new_subdistrict() {
    let reg = MemoryAllocator::new();
    let p = district(&reg).await;
    let plan = plan(&reg, Redraw::Move { parcels: vec![p[0], p[1]], to: sub(2) }, "测绘员").await.unwrap();
    expect_move_rows(&plan);
    unit_code::renumber::apply_memory(&reg, &plan).unwrap();
    check_move(&reg, &plan).await;
    // Applying twice is refused: the old codes are no longer current.
    let again = unit_code::renumber::apply_memory(&reg, &plan).unwrap_err();
    assert!(matches!(again, RenumberError::StalePlan { .. }), "{again}");
}

#[tokio::test]
async fn memory_split_and_merge() {
    let reg = MemoryAllocator::new();
    let p = district(&reg).await;
    let b = |s: &str| s.parse().unwrap();
    // Building 2 goes to the first new parcel, building 1 to the second.
    let split = Redraw::Split {
        parcel: p[0],
        parts: vec![vec![b("330106001001GB00001F0002")], vec![b("330106001001GB00001F0001")]],
    };
    let plan1 = plan(&reg, split, "a").await.unwrap();
    let r = rows(&plan1);
    assert!(r.contains(&("330106001001GB00001".into(), "330106001001GB00004".into(), Reason::Split)));
    assert!(r.contains(&("330106001001GB00001".into(), "330106001001GB00005".into(), Reason::Split)));
    assert!(r.contains(&("330106001001GB00001F0002".into(), "330106001001GB00004F0001".into(), Reason::Follows)));
    assert!(r.contains(&(
        "330106001001GB00001F00010003".into(),
        "330106001001GB00005F00010003".into(),
        Reason::Follows
    )));
    assert!(r.contains(&("330106001001GB00001W00000000".into(), "330106001001GB00005W00000000".into(), Reason::Split)));
    unit_code::renumber::apply_memory(&reg, &plan1).unwrap();
    let down = reg.descendants(p[0].into()).await.unwrap();
    assert_eq!(
        down.iter().map(|s| (s.edge.kind, s.edge.new.to_string())).collect::<Vec<_>>(),
        vec![
            (EventKind::Split, "330106001001GB00004".to_string()),
            (EventKind::Split, "330106001001GB00005".to_string()),
        ]
    );

    // Bad splits are refused before anything happens.
    let incomplete = Redraw::Split { parcel: p[1], parts: vec![vec![], vec![]] };
    assert!(matches!(plan(&reg, incomplete, "a").await, Err(RenumberError::Invalid(_))));

    // Merge parcel 2 into parcel 3, keeping 3: parcel 2's building becomes building 1 of parcel 3.
    let merge = Redraw::Merge { parcels: vec![p[2], p[1]], keep: Some(p[2]) };
    let plan2 = plan(&reg, merge, "a").await.unwrap();
    assert!(rows(&plan2).contains(&(
        "330106001001GB00002F00010002".into(),
        "330106001001GB00003F00010002".into(),
        Reason::Follows
    )));
    unit_code::renumber::apply_memory(&reg, &plan2).unwrap();
    assert_eq!(reg.status(p[2].into()).await.unwrap(), Some(CodeStatus::Current));
    assert_eq!(reg.status(p[1].into()).await.unwrap(), Some(CodeStatus::Historical));
    assert_eq!(reg.next_building(p[2]).await.unwrap().number(), 2);
    let up = reg.ancestors(p[2].into()).await.unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!((up[0].edge.old, up[0].edge.kind), (p[1].into(), EventKind::Merge));
}

#[tokio::test]
async fn memory_merge_into_a_new_code() {
    let reg = MemoryAllocator::new();
    let p = district(&reg).await;
    // Parcel 1 (2 buildings, land unit) and parcel 2 (1 building) merge into new parcel 4.
    let merge_plan = plan(&reg, Redraw::Merge { parcels: vec![p[0], p[1]], keep: None }, "a").await.unwrap();
    let r = rows(&merge_plan);
    assert!(r.contains(&("330106001001GB00001".into(), "330106001001GB00004".into(), Reason::Merged)));
    assert!(r.contains(&("330106001001GB00002".into(), "330106001001GB00004".into(), Reason::Merged)));
    // Buildings are numbered 1.. across the merged parcels, in the order given.
    assert!(r.contains(&("330106001001GB00001F0002".into(), "330106001001GB00004F0002".into(), Reason::Follows)));
    assert!(r.contains(&("330106001001GB00002F0001".into(), "330106001001GB00004F0003".into(), Reason::Follows)));
    assert!(r.contains(&(
        "330106001001GB00002F00010002".into(),
        "330106001001GB00004F00030002".into(),
        Reason::Follows
    )));
    assert!(r.contains(&(
        "330106001001GB00001W00000000".into(),
        "330106001001GB00004W00000000".into(),
        Reason::Merged
    )));
    unit_code::renumber::apply_memory(&reg, &merge_plan).unwrap();
    let merged: ParcelCode = "330106001001GB00004".parse().unwrap();
    assert_eq!(reg.next_building(merged).await.unwrap().number(), 4);
    let up = reg.ancestors(merged.into()).await.unwrap();
    assert_eq!(
        up.iter().map(|s| (s.edge.old, s.edge.kind)).collect::<Vec<_>>(),
        vec![(p[0].into(), EventKind::Merge), (p[1].into(), EventKind::Merge),]
    );
    // Parcels of different scopes cannot merge, and a kept parcel must be one of them.
    let other = reg.next_parcel(sub(2), gb()).await.unwrap();
    let e = plan(&reg, Redraw::Merge { parcels: vec![p[2], other], keep: None }, "a").await.unwrap_err();
    assert!(matches!(e, RenumberError::Invalid(_)), "{e}");
    let e = plan(&reg, Redraw::Merge { parcels: vec![p[2], merged], keep: Some(other) }, "a").await.unwrap_err();
    assert!(matches!(e, RenumberError::Invalid(_)), "{e}");
    // Merging a retired parcel is refused.
    let e = plan(&reg, Redraw::Merge { parcels: vec![p[2], p[0]], keep: None }, "a").await.unwrap_err();
    assert!(matches!(e, RenumberError::NotCurrent { .. }), "{e}");
}

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use alloc_common::TestDb;
    use sqlx::PgPool;
    use unit_code::alloc::PgAllocator;
    use unit_code::renumber::apply_pg;

    /// Everything in the registry, as text, to compare before and after.
    async fn snapshot(pool: &PgPool) -> String {
        sqlx::query_scalar(
            "SELECT concat_ws(' | ',
                (SELECT string_agg(code || ':' || status || ':' || coalesce(retired_at::text, '-'), ',' ORDER BY code) FROM uc_unit),
                (SELECT string_agg(scope || '=' || last_issued, ',' ORDER BY scope) FROM uc_counter),
                (SELECT count(*)::text FROM uc_event),
                (SELECT count(*)::text FROM uc_lineage))",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn postgres_move_applies_atomically() {
        let db = TestDb::new("renumber", 4).await;
        let reg = PgAllocator::new(db.pool.clone());
        let p = district(&reg).await;
        let plan = plan(&reg, Redraw::Move { parcels: vec![p[0], p[1]], to: sub(2) }, "测绘员").await.unwrap();
        expect_move_rows(&plan);
        apply_pg(&db.pool, &plan).await.unwrap();
        check_move(&reg, &plan).await;
        db.drop_db().await;
    }

    #[tokio::test]
    async fn postgres_conflict_late_in_the_plan_changes_nothing() {
        let db = TestDb::new("renumber_conflict", 4).await;
        let reg = PgAllocator::new(db.pool.clone());
        let p = district(&reg).await;
        let plan = plan(&reg, Redraw::Move { parcels: vec![p[0], p[1]], to: sub(2) }, "a").await.unwrap();
        // Behind the plan's back, the last household of the plan is extinguished.
        let last_unit = plan.rows.iter().rev().find(|r| r.before.level() == unit_code::alloc::Level::Unit).unwrap();
        reg.retire(last_unit.before).await.unwrap();
        let before = snapshot(&db.pool).await;
        let e = apply_pg(&db.pool, &plan).await.unwrap_err();
        assert!(matches!(e, RenumberError::NotCurrent { .. }), "{e}");
        assert_eq!(snapshot(&db.pool).await, before, "a refused apply must write nothing");

        // A number taken in the target scope since planning: stale plan, nothing written.
        let plan2 =
            unit_code::renumber::plan(&reg, Redraw::Move { parcels: vec![p[2]], to: sub(2) }, "a").await.unwrap();
        reg.next_parcel(sub(2), gb()).await.unwrap();
        let before = snapshot(&db.pool).await;
        let e = apply_pg(&db.pool, &plan2).await.unwrap_err();
        assert!(matches!(e, RenumberError::StalePlan { expected: 5, found: 6, .. }), "{e}");
        assert_eq!(snapshot(&db.pool).await, before);
        db.drop_db().await;
    }

    #[tokio::test]
    async fn postgres_plan_refuses_retired_and_colliding_targets() {
        let db = TestDb::new("renumber_reuse", 4).await;
        let reg = PgAllocator::new(db.pool.clone());
        let p = district(&reg).await;
        // Legacy data: code 5 of sub-district 002 was used and retired, but the
        // counter never saw it. The plan must not hand it out again.
        sqlx::query(
            "INSERT INTO uc_unit (county, code, level, parent, status, retired_at) \
             VALUES ('330106', '330106001002GB00005', 'P', '330106001002GB', 'historical', now())",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let e = plan(&reg, Redraw::Move { parcels: vec![p[0]], to: sub(2) }, "a").await.unwrap_err();
        assert!(matches!(e, RenumberError::ReusesRetired { ref code } if code == "330106001002GB00005"), "{e}");
        sqlx::query("UPDATE uc_unit SET status = 'current', retired_at = NULL WHERE code = '330106001002GB00005'")
            .execute(&db.pool)
            .await
            .unwrap();
        let e = plan(&reg, Redraw::Move { parcels: vec![p[0]], to: sub(2) }, "a").await.unwrap_err();
        assert!(matches!(e, RenumberError::Collision { .. }), "{e}");
        db.drop_db().await;
    }

    /// Split, then merge keeping a code: PostgreSQL plans exactly what memory
    /// plans, and applying them leaves every before code historical and every
    /// after code current.
    #[tokio::test]
    async fn postgres_split_and_merge_match_memory() {
        let db = TestDb::new("renumber_split", 4).await;
        let pg = PgAllocator::new(db.pool.clone());
        let mem = MemoryAllocator::new();
        let p = district(&pg).await;
        assert_eq!(district(&mem).await, p);
        let b = |s: &str| s.parse().unwrap();
        let redraws = [
            Redraw::Split {
                parcel: p[0],
                parts: vec![vec![b("330106001001GB00001F0002")], vec![b("330106001001GB00001F0001")]],
            },
            Redraw::Merge { parcels: vec![p[2], p[1]], keep: Some(p[2]) },
        ];
        for redraw in redraws {
            let on_pg = plan(&pg, redraw.clone(), "a").await.unwrap();
            let in_mem = plan(&mem, redraw, "a").await.unwrap();
            assert_eq!(rows(&on_pg), rows(&in_mem));
            apply_pg(&db.pool, &on_pg).await.unwrap();
            unit_code::renumber::apply_memory(&mem, &in_mem).unwrap();
            for r in on_pg.rows.iter().filter(|r| r.before != r.after) {
                assert_eq!(pg.status(r.before).await.unwrap(), Some(CodeStatus::Historical), "{}", r.before);
                assert_eq!(pg.status(r.after).await.unwrap(), Some(CodeStatus::Current), "{}", r.after);
            }
        }
        let walk = |s: Vec<unit_code::lineage::LineageStep>| {
            s.into_iter().map(|s| (s.depth, s.edge.old, s.edge.new, s.edge.kind)).collect::<Vec<_>>()
        };
        for code in [p[0].into(), p[1].into(), p[2].into(), c("330106001001GB00002F00010001")] {
            assert_eq!(walk(pg.descendants(code).await.unwrap()), walk(mem.descendants(code).await.unwrap()));
            assert_eq!(walk(pg.ancestors(code).await.unwrap()), walk(mem.ancestors(code).await.unwrap()));
        }
        assert_eq!(pg.next_building(p[2]).await.unwrap().number(), 2);
        db.drop_db().await;
    }
}
