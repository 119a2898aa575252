//! What the change feed puts in the package chain: a transaction that commits late is
//! exported, not skipped; unit-code lineage travels with the units it links.

use std::path::Path;

use serde_json::Value;
use share_sync::export::{export_units, ExportOptions, ExportOutcome};
use share_sync::keys::{KeyPair, PublicKey};
use share_sync::package::read::{for_each_line, verify, Keyring};
use share_sync::receiver::{self, ReceiverDb};
use sqlx::PgPool;
use tile_server::db::MIGRATOR;

use crate::common::{export_until_written, wait_until_the_feed_covers_everything};

/// Writes a household and its audit row the way the server does (one transaction).
async fn write_household(conn: &mut sqlx::PgConnection, bdcdyh: &str, zl: &str) {
    sqlx::query(
        "INSERT INTO households (county, bdcdyh, zrzh, sjc, myc, zl, scjzmj) VALUES (left($1, 6), $1, left($1, 24), 1, '1', $2, 88.5)",
    )
    .bind(bdcdyh)
    .bind(zl)
    .execute(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO audit (county, actor, actor_role, action, object_type, object_key) VALUES (left($1, 6), 'user:t', 'admin', 'household.create', 'household', $1)",
    )
    .bind(bdcdyh)
    .execute(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The rows of data file `file` in `package` (signed by `key`).
fn rows_in(package: &Path, key: &PublicKey, file: &str) -> Vec<Value> {
    let mut ring = Keyring::default();
    ring.trust(key.clone());
    let v = verify(package, &ring).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for_each_line(&v, |name, line| {
        if name == file {
            out.push(serde_json::from_slice(line).map_err(|e| e.to_string())?);
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    out
}

fn units_in(package: &Path, key: &PublicKey) -> Vec<String> {
    let rows = rows_in(package, key, share_sync::package::records::UNITS);
    rows.iter().map(|u| u["BDCDYH"].as_str().unwrap_or_default().to_owned()).collect()
}

/// A transaction that started earlier but commits later than another is not skipped:
/// while it is open, the later one's change is held back too; once it commits, the
/// next package carries both.
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_change_that_commits_late_is_exported_not_skipped(pool: PgPool) {
    let key = KeyPair::generate();
    let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut conn, "330106001001GB00001F00010001", "一号").await;
    // The first package's cursor must cover the seed, or the seed would count as a change below.
    wait_until_the_feed_covers_everything(&pool).await;
    let (first, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(units_in(&first, key.public()), ["330106001001GB00001F00010001"]);

    // Slow: starts first, writes, stays open. Fast: starts later, commits first.
    let mut slow = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut slow, "330106001001GB00001F00010002", "慢").await;
    let mut fast = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut fast, "330106001001GB00001F00010003", "快").await;
    fast.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let opts = ExportOptions { sender: "internal", key: &key, rotation: None, earlier_keys: &[] };
    // The open slow transaction holds the cluster's xmin at or below its own id: the fast
    // change (a later transaction id) cannot be handed out yet, whatever else runs.
    let held = export_units(&pool, outbox.path(), &opts).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(held, ExportOutcome::NothingChanged { sequence: 1 });
    slow.commit().await.unwrap_or_else(|e| panic!("{e}"));
    // Both below xmin before exporting, so one package carries both.
    wait_until_the_feed_covers_everything(&pool).await;
    let (second, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(units_in(&second, key.public()), ["330106001001GB00001F00010002", "330106001001GB00001F00010003"]);
}

/// Records a lineage edge `old → new` (a split) in the unit-code registry tables.
async fn record_split(pool: &PgPool, old: &str, new: &str) {
    for code in [old, new] {
        sqlx::query(
            "INSERT INTO uc_unit (county, code, level, parent) VALUES (left($1, 6), $1, 'U', left($1, 24)) ON CONFLICT DO NOTHING",
        )
        .bind(code)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let event: i64 = sqlx::query_scalar(
        "INSERT INTO uc_event (county, kind, actor, old_codes, new_codes) VALUES (left($1, 6), 'split', 'test', ARRAY[$1], ARRAY[$2]) RETURNING event_id",
    )
    .bind(old)
    .bind(new)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO uc_lineage (county, event_id, old_code, new_code, kind) VALUES (left($1, 6), $3, $1, $2, 'split')",
    )
    .bind(old)
    .bind(new)
    .bind(event)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

fn lineage_in(package: &Path, key: &PublicKey) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let rows = rows_in(package, key, share_sync::package::records::LINEAGE);
    rows.iter().map(|l| (text(&l["old_code"]), text(&l["new_code"]))).collect()
}

/// Unit-code lineage (新旧单元谱系) travels: all of it in the first package, then the
/// edges of the units a later package carries; the receiver keeps them.
#[sqlx::test(migrator = "MIGRATOR")]
async fn lineage_travels_with_the_units_it_links(pool: PgPool) {
    tile_server::db::migrate(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    let key = KeyPair::generate();
    let outbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b, c, d) = (
        "330106001001GB00001F00010001",
        "330106001001GB00001F00010002",
        "330106001001GB00001F00010003",
        "330106001001GB00001F00010004",
    );
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    write_household(&mut conn, b, "分割后").await;
    record_split(&pool, a, b).await;
    wait_until_the_feed_covers_everything(&pool).await;
    let (first, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(lineage_in(&first, key.public()), [(a.to_owned(), b.to_owned())]);

    record_split(&pool, c, d).await;
    write_household(&mut conn, d, "又一次分割").await;
    wait_until_the_feed_covers_everything(&pool).await;
    let (second, _) = export_until_written(&pool, outbox.path(), &key).await;
    assert_eq!(
        lineage_in(&second, key.public()),
        [(c.to_owned(), d.to_owned())],
        "only the edges of the units carried"
    );

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = ReceiverDb::open(&format!("sqlite://{}", dir.path().join("x.db").display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = receiver::apply(&db, &[key.public().clone()], &dir.path().join("inbox"), &[first, second])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.all_applied(), "{report:?}");
    let edges: Vec<(String, String, String)> =
        sqlx::query_as("SELECT old_code, new_code, kind FROM lineage ORDER BY old_code")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        edges,
        [(a.to_owned(), b.to_owned(), "split".to_owned()), (c.to_owned(), d.to_owned(), "split".to_owned())]
    );
}
