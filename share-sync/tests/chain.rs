//! The receiver against a chain of packages, on SQLite and on PostgreSQL (every test
//! runs on both: `sqlite::…` and `postgres::…`): lost, duplicated, reordered,
//! tampered, truncated, wrongly signed and forked packages; a key rotation mid-stream;
//! and the property that any delivery order of any subset leaves the receiver where
//! applying the delivered prefix of the chain in order leaves it.
//!
//! The PostgreSQL receivers are fresh databases on `DATABASE_URL`'s server, dropped
//! when the test's receiver goes.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{TimeZone as _, Utc};
use proptest::prelude::*;
use share_sync::keys::{KeyPair, Rotation};
use share_sync::package::manifest::{sm3_hex, FeedRange, Manifest, PackageKind, FORMAT};
use share_sync::package::records::{UnitRecord, UNITS};
use share_sync::package::write::PackageWriter;
use share_sync::receiver::{self, ApplyReport, ReceiverDb};

fn unit(n: u32, version: i64) -> UnitRecord {
    UnitRecord {
        bdcdyh: format!("330106001001GB00001F0001{n:04}"),
        zrzh: "330106001001GB00001F0001".into(),
        fwbm: None,
        ljzh: Some("1".into()),
        sjc: 1,
        myc: "1".into(),
        dyh: "1".into(),
        shbw: format!("{n:03}"),
        hx: None,
        fwyt: Some("住宅".into()),
        zl: format!("文三路{n}号 第{version}版"),
        yctnjzmj: None,
        ycftjzmj: None,
        ycjzmj: Some(90.0),
        sctnjzmj: Some(80.5),
        scftjzmj: Some(10.25),
        scjzmj: Some(90.75),
        ftxs: Some(0.127_329_19),
        gytdmj: None,
        fttdmj: Some(12.5),
        dytdmj: None,
        mortgaged: false,
        sealed: false,
        state: "current".into(),
        version_id: version,
        valid_from: Utc.timestamp_opt(1_760_000_000 + version, 0).single().unwrap_or_default(),
    }
}

/// Package `seq` (following `previous`, signed by `key` with `rotation` if any) holding
/// exactly `rows` (sorted by code, as the exporter writes them), written into `dir`.
fn package_of(
    dir: &Path,
    key: &KeyPair,
    rotation: Option<&Rotation>,
    seq: u64,
    previous: Option<String>,
    mut rows: Vec<UnitRecord>,
) -> (PathBuf, String) {
    let mut w = PackageWriter::new(dir).unwrap();
    let f = w.open(UNITS).unwrap();
    rows.sort_by(|a, b| a.bdcdyh.cmp(&b.bdcdyh));
    for r in &rows {
        w.file(f).push(r).unwrap();
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        kind: PackageKind::Units,
        sender: "internal".into(),
        sequence: seq,
        previous,
        feed: FeedRange { from: None, to: seq.to_string() },
        created_at: Utc::now(),
        key_id: String::new(),
        files: Vec::new(),
    };
    let (path, bytes) = w.finish(manifest, key, rotation, || {}).unwrap();
    (path, sm3_hex(&bytes))
}

/// Writes package `seq` (following `previous`) into `dir`: unit `seq % 3` gets version
/// `seq`, and unit `100 + seq` appears.
fn package(
    dir: &Path,
    key: &KeyPair,
    rotation: Option<&Rotation>,
    seq: u64,
    previous: Option<String>,
) -> (PathBuf, String) {
    let v = i64::try_from(seq).unwrap();
    let rows = vec![unit(u32::try_from(seq % 3).unwrap(), v), unit(100 + u32::try_from(seq).unwrap(), v)];
    package_of(dir, key, rotation, seq, previous, rows)
}

/// A chain of `n` packages signed by `key`, each in its own directory (so a test can
/// deliver any of them).
fn chain(root: &Path, key: &KeyPair, n: u64) -> Vec<PathBuf> {
    let mut prev = None;
    (1..=n)
        .map(|seq| {
            let (p, h) = package(&root.join(format!("p{seq}")), key, None, seq, prev.take());
            prev = Some(h);
            p
        })
        .collect()
}

/// The receiving database's engine.
#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

struct Receiver {
    _dir: tempfile::TempDir,
    db: ReceiverDb,
    inbox: PathBuf,
    /// The PostgreSQL database to drop afterwards.
    pg_name: Option<String>,
}

/// `DATABASE_URL` with its database replaced by `db`.
fn pg_url(db: &str) -> String {
    let base =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| panic!("DATABASE_URL (a PostgreSQL server) must be set"));
    let base = base.split('?').next().unwrap().to_owned();
    let cut = base.rfind('/').unwrap();
    format!("{}/{db}", &base[..cut])
}

async fn admin_execute(statement: &str) {
    use sqlx::{Connection as _, Executor as _};
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| panic!("DATABASE_URL (a PostgreSQL server) must be set"));
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    admin.execute(statement).await.unwrap();
    admin.close().await.unwrap();
}

impl Receiver {
    async fn new(engine: Engine) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_name) = match engine {
            Engine::Sqlite => (format!("sqlite://{}", dir.path().join("r.db").display()), None),
            Engine::Postgres => {
                let name = format!("share_sync_chain_{:016x}", rand::random::<u64>());
                admin_execute(&format!("CREATE DATABASE {name}")).await;
                (pg_url(&name), Some(name))
            }
        };
        let db = ReceiverDb::open(&url).await.unwrap();
        let inbox = dir.path().join("inbox");
        Self { _dir: dir, db, inbox, pg_name }
    }

    async fn apply(&self, keys: &[&KeyPair], packages: &[&PathBuf]) -> ApplyReport {
        let trusted: Vec<_> = keys.iter().map(|k| k.public().clone()).collect();
        let packages: Vec<PathBuf> = packages.iter().map(|p| (*p).clone()).collect();
        receiver::apply(&self.db, &trusted, &self.inbox, &packages).await.unwrap()
    }

    /// The data and the chain position.
    async fn dump(&self) -> (Vec<(String, String, i64)>, u64) {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT bdcdyh, zl, version_id FROM units ORDER BY bdcdyh")
                .fetch_all(&self.db.pool)
                .await
                .unwrap();
        let status = receiver::status::status(&self.db).await.unwrap();
        (rows, status.last_applied)
    }
}

impl Drop for Receiver {
    /// Drops the PostgreSQL database (from a thread of its own: no await in `drop`).
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(admin_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
            })
            .join();
        }
    }
}

/// Runs each `async fn test(engine)` as `sqlite::test` and `postgres::test`.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Engine::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Engine::Postgres).await;
            })*
        }
    };
}

on_both_engines!(
    awkward_text_and_numbers_come_back_exactly,
    a_lost_package_is_a_gap_and_later_ones_wait_for_it,
    duplicates_are_ignored_and_a_fork_is_quarantined,
    damaged_and_wrongly_signed_packages_are_quarantined_and_nothing_is_applied,
    a_key_rotation_mid_stream_is_followed_and_the_old_key_retired,
    an_older_version_of_a_unit_never_replaces_a_newer_one,
);

/// The upsert keeps the higher version: a later package carrying an older version of a
/// unit (a re-export of an old row) leaves the newer row as it was, and applies the rest.
async fn an_older_version_of_a_unit_never_replaces_a_newer_one(engine: Engine) {
    let root = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let (p1, h1) = package_of(&root.path().join("p1"), &key, None, 1, None, vec![unit(1, 5)]);
    let (p2, _) = package_of(&root.path().join("p2"), &key, None, 2, Some(h1), vec![unit(1, 3), unit(2, 4)]);
    let r = Receiver::new(engine).await;
    assert_eq!(seqs(&r.apply(&[&key], &[&p1, &p2]).await), [1, 2]);
    let (rows, last) = r.dump().await;
    assert_eq!(last, 2);
    let by_code = |n: u32| rows.iter().find(|(c, _, _)| c.ends_with(&format!("{n:04}"))).cloned().unwrap();
    assert_eq!(by_code(1), (unit(1, 5).bdcdyh, unit(1, 5).zl, 5), "the newer row stays");
    assert_eq!(by_code(2).2, 4, "the rest of the package is applied");
}

/// Units whose text holds what array literals, JSON and SQL quote (quotes, backslashes,
/// braces, commas, the word NULL, empty strings, control characters) and whose numbers
/// need every digit, read back through `serve` exactly as they were sent.
async fn awkward_text_and_numbers_come_back_exactly(engine: Engine) {
    let root = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let mut odd = unit(1, 7);
    odd.zl = r#"文三路 "1" 号 \ {a,b} NULL ' ; --"#.into();
    odd.fwbm = Some("NULL".into());
    odd.hx = Some(String::new());
    odd.myc = "\n\t\u{1}".into();
    odd.yctnjzmj = Some(1e-7);
    odd.ycftjzmj = Some(123_456_789.123_456_78);
    odd.ycjzmj = Some(0.1 + 0.2);
    odd.dytdmj = Some(f64::MAX);
    odd.mortgaged = true;
    odd.sealed = true;
    odd.version_id = i64::MAX;
    odd.valid_from = Utc.timestamp_opt(1_760_000_000, 123_456_789).single().unwrap();
    let mut bare = unit(2, 1);
    (bare.fwbm, bare.ljzh, bare.hx, bare.fwyt) = (None, None, None, None);
    (bare.ycjzmj, bare.sctnjzmj, bare.scftjzmj, bare.scjzmj, bare.ftxs, bare.fttdmj) =
        (None, None, None, None, None, None);
    let mut w = PackageWriter::new(&root.path().join("odd")).unwrap();
    let f = w.open(UNITS).unwrap();
    for r in [&odd, &bare] {
        w.file(f).push(r).unwrap();
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        kind: PackageKind::Units,
        sender: "internal".into(),
        sequence: 1,
        previous: None,
        feed: FeedRange { from: None, to: "1".into() },
        created_at: Utc::now(),
        key_id: String::new(),
        files: Vec::new(),
    };
    let (path, _) = w.finish(manifest, &key, None, || {}).unwrap();
    let r = Receiver::new(engine).await;
    assert_eq!(seqs(&r.apply(&[&key], &[&path]).await), [1]);
    for sent in [&odd, &bare] {
        let got = share_sync::serve::queries::household_of(&r.db.pool, &sent.bdcdyh).await.unwrap().unwrap();
        assert_eq!(&got.unit, sent);
    }
}

fn seqs(r: &ApplyReport) -> Vec<u64> {
    r.applied.iter().map(|a| a.sequence).collect()
}

async fn a_lost_package_is_a_gap_and_later_ones_wait_for_it(engine: Engine) {
    let root = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let p = chain(root.path(), &key, 5);
    let r = Receiver::new(engine).await;
    let report = r.apply(&[&key], &[&p[0], &p[1], &p[4], &p[3]]).await;
    assert_eq!(seqs(&report), [1, 2]);
    assert_eq!(report.gaps, [3]);
    assert_eq!(report.held.iter().filter_map(|h| h.sequence).collect::<Vec<_>>(), [4, 5]);
    assert!(!report.all_applied());
    let status = receiver::status::status(&r.db).await.unwrap();
    assert_eq!((status.last_applied, status.gaps.clone(), status.held.clone()), (2, vec![3], vec![4, 5]));
    let json = serde_json::to_value(&status).unwrap();
    for k in ["last_applied", "gaps", "held", "quarantined"] {
        assert!(json.get(k).is_some(), "{k}");
    }
    // The original files of 4 and 5 may be gone (the media went back): the inbox kept copies.
    fs::remove_dir_all(root.path().join("p4")).unwrap();
    fs::remove_dir_all(root.path().join("p5")).unwrap();
    let report = r.apply(&[&key], &[&p[2]]).await;
    assert_eq!(seqs(&report), [3, 4, 5]);
    assert!(report.all_applied(), "{report:?}");
    assert!(receiver::status::status(&r.db).await.unwrap().held.is_empty());
}

async fn duplicates_are_ignored_and_a_fork_is_quarantined(engine: Engine) {
    let root = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let p = chain(root.path(), &key, 2);
    let r = Receiver::new(engine).await;
    assert_eq!(seqs(&r.apply(&[&key], &[&p[0], &p[1]]).await), [1, 2]);
    let before = r.dump().await;
    let report = r.apply(&[&key], &[&p[1], &p[0]]).await;
    assert!(report.applied.is_empty() && report.duplicates.len() == 2 && report.all_applied(), "{report:?}");
    // A different package claiming sequence 2 (a replay of another chain, or a fork).
    let (fork, _) = package(&root.path().join("fork"), &key, None, 2, None);
    let report = r.apply(&[&key], &[&fork]).await;
    assert!(report.quarantined.len() == 1 && !report.all_applied(), "{report:?}");
    assert_eq!(r.dump().await, before);
    // A package 3 that does not follow the applied 2 breaks the chain.
    let (stranger, _) = package(&root.path().join("stranger"), &key, None, 3, Some("00".repeat(32)));
    let report = r.apply(&[&key], &[&stranger]).await;
    assert!(report.quarantined[0].reason.contains("chain broken"), "{report:?}");
    assert_eq!(r.dump().await, before);
}

async fn damaged_and_wrongly_signed_packages_are_quarantined_and_nothing_is_applied(engine: Engine) {
    let root = tempfile::tempdir().unwrap();
    let (key, stranger) = (KeyPair::generate(), KeyPair::generate());
    let p = chain(root.path(), &key, 1);
    let bytes = fs::read(&p[0]).unwrap();
    let at = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let flip = |i: usize| {
        let mut b = bytes.clone();
        b[i] ^= 1;
        b
    };
    cases.push(("data", flip(at("文三路".as_bytes()) + 1)));
    cases.push(("manifest", flip(at(b"\"sequence\"") + 3)));
    cases.push(("sm2 signature", flip(at(b"manifest.json.sm2.sig") + 512 + 8)));
    cases.push(("ed25519 signature", flip(at(b"manifest.json.ed25519.sig") + 512 + 8)));
    cases.push(("truncated", bytes[..bytes.len() / 2].to_vec()));
    cases.push(("truncated end", bytes[..bytes.len() - 600].to_vec()));
    let r = Receiver::new(engine).await;
    for (what, damaged) in &cases {
        let path = root.path().join(format!("{what}.tar"));
        fs::write(&path, damaged).unwrap();
        let report = r.apply(&[&key], &[&path]).await;
        assert_eq!(report.quarantined.len(), 1, "{what}: {report:?}");
        assert!(report.applied.is_empty(), "{what}");
    }
    let (wrong, _) = package(&root.path().join("wrong"), &stranger, None, 1, None);
    let report = r.apply(&[&key], &[&wrong]).await;
    assert!(report.quarantined[0].reason.contains("wrongly signed"), "{report:?}");
    assert_eq!(r.dump().await, (vec![], 0), "nothing applied");
    let status = receiver::status::status(&r.db).await.unwrap();
    assert_eq!(status.quarantined.len(), cases.len() + 1);
    for q in &status.quarantined {
        assert!(Path::new(&q.package).exists(), "quarantined copy kept: {q:?}");
    }
    // The intact package still applies.
    assert_eq!(seqs(&r.apply(&[&key], &[&p[0]]).await), [1]);
}

async fn a_key_rotation_mid_stream_is_followed_and_the_old_key_retired(engine: Engine) {
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (KeyPair::generate(), KeyPair::generate());
    let rotation = old.certify_successor(new.public());
    let (p1, h1) = package(&root.path().join("1"), &old, None, 1, None);
    let (p2, h2) = package(&root.path().join("2"), &old, None, 2, Some(h1));
    let (p3, h3) = package(&root.path().join("3"), &new, Some(&rotation), 3, Some(h2.clone()));
    let (p4, h4) = package(&root.path().join("4"), &new, Some(&rotation), 4, Some(h3));
    let r = Receiver::new(engine).await;
    // Only the old key is trusted; 4 arrives before 3 and is held, verified through the rotation.
    let report = r.apply(&[&old], &[&p1, &p2, &p4]).await;
    assert_eq!((seqs(&report), report.gaps.clone()), (vec![1, 2], vec![3]));
    let report = r.apply(&[&old], &[&p3]).await;
    assert_eq!(seqs(&report), [3, 4]);
    // The old key may no longer sign from sequence 3 on.
    let (late_old, _) = package(&root.path().join("5old"), &old, None, 5, Some(h4.clone()));
    let report = r.apply(&[&old], &[&late_old]).await;
    assert!(report.quarantined[0].reason.contains("retired"), "{report:?}");
    // The new key is remembered: a later run trusting only the old key file still
    // accepts the new key's packages.
    let (p5, _) = package(&root.path().join("5"), &new, None, 5, Some(h4));
    assert_eq!(seqs(&r.apply(&[&old], &[&p5]).await), [5]);
    let _ = h2;
}

fn expected_prefix(delivered: &[usize], n: usize) -> usize {
    (0..n).take_while(|i| delivered.contains(i)).count()
}

/// One proptest case: deliver `order` filtered by `keep` (plus one duplicate), one
/// package per run, and compare with applying the delivered prefix in order.
fn delivery_case(engine: Engine, order: &[usize], keep: &[bool], duplicate: usize) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let root = tempfile::tempdir().unwrap();
        let key = KeyPair::generate();
        let p = chain(root.path(), &key, 6);
        let mut delivered: Vec<usize> = order.iter().copied().filter(|&i| keep[i]).collect();
        if keep[duplicate] {
            delivered.push(duplicate);
        }
        let got = Receiver::new(engine).await;
        for &i in &delivered {
            got.apply(&[&key], &[&p[i]]).await;
        }
        let prefix = expected_prefix(&delivered, 6);
        let want = Receiver::new(engine).await;
        for path in p.iter().take(prefix) {
            want.apply(&[&key], &[path]).await;
        }
        prop_assert_eq!(got.dump().await, want.dump().await);
        let status = receiver::status::status(&got.db).await.unwrap();
        let held: Vec<u64> = (prefix + 1..6).filter(|i| delivered.contains(i)).map(|i| i as u64 + 1).collect();
        prop_assert_eq!(status.held, held);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever subset arrives, in whatever order, one package per `apply` run (as
    /// media arrive), the receiver ends where applying the delivered prefix of the
    /// chain in order leaves it: same rows, same last sequence.
    #[test]
    fn any_delivery_order_of_any_subset_equals_the_delivered_prefix(
        order in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
        keep in proptest::collection::vec(any::<bool>(), 6),
        duplicate in 0..6usize,
    ) {
        delivery_case(Engine::Sqlite, &order, &keep, duplicate)?;
    }
}

proptest! {
    // Two fresh PostgreSQL databases per case: fewer cases than on SQLite.
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// The same property with PostgreSQL receivers.
    #[test]
    fn on_postgres_any_delivery_order_of_any_subset_equals_the_delivered_prefix(
        order in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
        keep in proptest::collection::vec(any::<bool>(), 6),
        duplicate in 0..6usize,
    ) {
        delivery_case(Engine::Postgres, &order, &keep, duplicate)?;
    }
}
