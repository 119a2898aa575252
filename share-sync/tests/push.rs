//! Push over a one-way gate: `push` sends and never reads an answer; the receiver's
//! push intake applies the package exactly like a ferried file.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use chrono::Utc;
use share_sync::keys::KeyPair;
use share_sync::package::manifest::{FeedRange, Manifest, PackageKind, FORMAT};
use share_sync::package::records::{ObjectKind, RetiredRecord, RETIRED};
use share_sync::package::write::PackageWriter;
use share_sync::receiver::{status::status, ReceiverDb};
use share_sync::serve::{app, PushIntake, ServeState};

fn package(dir: &std::path::Path, key: &KeyPair, seq: u64, previous: Option<String>) -> (PathBuf, String) {
    let mut w = PackageWriter::new(dir).unwrap();
    let f = w.open(RETIRED).unwrap();
    w.file(f)
        .push(&RetiredRecord { kind: ObjectKind::Unit, key: format!("330106001001GB00001F0001{seq:04}") })
        .unwrap();
    let m = Manifest {
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
    let (path, bytes) = w.finish(m, key, None, || {}).unwrap();
    (path, share_sync::package::manifest::sm3_hex(&bytes))
}

#[tokio::test]
async fn pushed_packages_are_applied_like_ferried_ones() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let (p1, h1) = package(&dir.path().join("1"), &key, 1, None);
    let (p2, _) = package(&dir.path().join("2"), &key, 2, Some(h1));
    let db = ReceiverDb::open(&format!("sqlite://{}", dir.path().join("r.db").display())).await.unwrap();
    let intake = PushIntake {
        dir: dir.path().join("pushed"),
        trust: vec![key.public().clone()],
        inbox: dir.path().join("inbox"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = axum::serve(listener, app(ServeState::new(db.clone(), Some(intake))));
    let server = tokio::spawn(async move { serving.await });
    let url = format!("http://{addr}/api/packages");
    // Out of order: 2 is held until 1 arrives.
    for p in [&p2, &p1] {
        share_sync::push::push(&url, p).await.unwrap();
    }
    // The pusher never waits for the receiver: poll the receiver's state.
    let mut last = 0;
    for _ in 0..600 {
        last = status(&db).await.unwrap().last_applied;
        if last == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last, 2);
    let s = status(&db).await.unwrap();
    assert!(s.held.is_empty() && s.gaps.is_empty() && s.quarantined.is_empty(), "{s:?}");
    // A pushed damaged package is quarantined like a ferried one.
    let mut bytes = std::fs::read(&p1).unwrap();
    let at = bytes.windows(10).position(|w| w == b"\"sequence\"").unwrap();
    bytes[at + 3] ^= 1; // inside the signed manifest
    let bad = dir.path().join("bad.tar");
    std::fs::write(&bad, bytes).unwrap();
    share_sync::push::push(&url, &bad).await.unwrap();
    let mut quarantined = 0;
    for _ in 0..600 {
        quarantined = status(&db).await.unwrap().quarantined.len();
        if quarantined == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(quarantined, 1);
    server.abort();
}
