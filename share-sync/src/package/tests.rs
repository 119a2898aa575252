use std::fs;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::manifest::{FeedRange, Manifest, PackageKind, FORMAT};
use super::read::{for_each_line, verify, Keyring, Rejection};
use super::records::{ObjectKind, Record, RetiredRecord, LINEAGE, RETIRED};
use super::write::PackageWriter;
use crate::keys::{KeyPair, Rotation};

fn manifest(sequence: u64, previous: Option<String>) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        kind: PackageKind::Units,
        sender: "internal.411702".into(),
        sequence,
        previous,
        feed: FeedRange { from: None, to: "1:1".into() },
        created_at: Utc::now(),
        key_id: String::new(),
        files: Vec::new(),
    }
}

fn write(dir: &Path, key: &KeyPair, rotation: Option<&Rotation>, rows: usize) -> PathBuf {
    let mut w = PackageWriter::new(dir).unwrap();
    let f = w.open(RETIRED).unwrap();
    for i in 0..rows {
        w.file(f).push(&RetiredRecord { kind: ObjectKind::Unit, key: format!("u{i}") }).unwrap();
    }
    w.open(LINEAGE).unwrap();
    w.finish(manifest(1, None), key, rotation, || {}).unwrap().0
}

fn keyring(keys: &[&KeyPair]) -> Keyring {
    let mut k = Keyring::default();
    for key in keys {
        k.trust(key.public().clone());
    }
    k
}

/// Offset of `needle` in the file (first occurrence).
fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn a_written_package_verifies_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let path = write(dir.path(), &key, None, 3);
    assert_eq!(path.file_name().unwrap(), "internal.411702-units-0000000001.tar");
    // Only the package is left in the outbox.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    let v = verify(&path, &keyring(&[&key])).unwrap();
    assert_eq!(v.manifest.data_rows(), 3);
    assert_eq!(v.manifest.key_id, key.id());
    let mut records = Vec::new();
    for_each_line(&v, |file, line| {
        records.push(Record::parse(file, line)?);
        Ok(())
    })
    .unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2], Record::Retired(RetiredRecord { kind: ObjectKind::Unit, key: "u2".into() }));
}

#[test]
fn one_flipped_byte_anywhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let path = write(dir.path(), &key, None, 5);
    let bytes = fs::read(&path).unwrap();
    let ring = keyring(&[&key]);
    let data_at = find(&bytes, b"{\"kind\":\"unit\",\"key\":\"u3\"}") + 22;
    let manifest_at = find(&bytes, b"\"sequence\"") + 2;
    // The signature members start at 512-byte boundaries after their headers.
    let sig_at = find(&bytes, b"manifest.json.sm2.sig") + 512 + 10;
    let ed_at = find(&bytes, b"manifest.json.ed25519.sig") + 512 + 10;
    for (what, at) in [("data", data_at), ("manifest", manifest_at), ("sm2", sig_at), ("ed25519", ed_at)] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x01;
        let p = dir.path().join(format!("damaged-{what}.tar"));
        fs::write(&p, &damaged).unwrap();
        let err = verify(&p, &ring).unwrap_err();
        match what {
            "data" => assert!(matches!(err, Rejection::Tampered(_)), "{what}: {err}"),
            _ => assert!(matches!(err, Rejection::BadSignature(_)), "{what}: {err}"),
        }
    }
    // Every single-byte flip in the first 8 KiB (headers, manifest, signatures) is caught.
    for at in (0..bytes.len().min(8192)).step_by(13) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x20;
        let p = dir.path().join("flip.tar");
        fs::write(&p, &damaged).unwrap();
        if let Ok(v) = verify(&p, &ring) {
            // A flip in tar padding or an unused header field changes nothing we read.
            assert_eq!(v.manifest, verify(&path, &ring).unwrap().manifest, "flip at {at} accepted");
        }
    }
}

#[test]
fn a_truncated_package_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate();
    let path = write(dir.path(), &key, None, 200);
    let bytes = fs::read(&path).unwrap();
    let ring = keyring(&[&key]);
    for len in [0, 100, 512, 1500, bytes.len() / 2, bytes.len() - 1024 - 513, bytes.len() - 1024, bytes.len() - 1] {
        let p = dir.path().join("short.tar");
        fs::write(&p, &bytes[..len]).unwrap();
        let err = verify(&p, &ring).unwrap_err();
        assert!(
            matches!(err, Rejection::Truncated(_) | Rejection::Malformed(_) | Rejection::Tampered(_)),
            "{len}: {err}"
        );
    }
}

#[test]
fn a_package_signed_by_an_untrusted_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (key, other) = (KeyPair::generate(), KeyPair::generate());
    let path = write(dir.path(), &other, None, 1);
    assert!(matches!(verify(&path, &keyring(&[&key])), Err(Rejection::UntrustedKey(_))));
}

#[test]
fn a_rotated_key_is_trusted_through_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (KeyPair::generate(), KeyPair::generate());
    let rotation = old.certify_successor(new.public());
    let path = write(dir.path(), &new, Some(&rotation), 2);
    let v = verify(&path, &keyring(&[&old])).unwrap();
    assert_eq!(v.signer.id(), new.id());
    assert_eq!(v.rotation.as_ref().unwrap().old_key_id, old.id());
    // A rotation statement made by a stranger does not help.
    let stranger = KeyPair::generate();
    let fake = stranger.certify_successor(new.public());
    let dir2 = tempfile::tempdir().unwrap();
    let path = write(dir2.path(), &new, Some(&fake), 2);
    assert!(matches!(verify(&path, &keyring(&[&old])), Err(Rejection::UntrustedKey(_))));
    // A retired key may not sign from its retirement on.
    let mut ring = keyring(&[&old]);
    ring.retire(old.id(), 1);
    let dir3 = tempfile::tempdir().unwrap();
    let path = write(dir3.path(), &old, None, 1);
    assert!(matches!(verify(&path, &ring), Err(Rejection::RetiredKey { .. })));
}
