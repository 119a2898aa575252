//! Cost of the signature part of verifying a package: SM2 (with the SM3 user-id
//! digest) and Ed25519 over a manifest-sized message, per package. Used by
//! `scripts/bench-sync.sh`; run with `cargo run --release -p share-sync --example signature_cost`.

use std::time::Instant;

use share_sync::keys::KeyPair;

fn main() {
    let key = KeyPair::generate();
    // A manifest is about 1.5 KB (five data files with two digests each).
    let manifest = vec![b'x'; 1536];
    let sigs = key.sign(&manifest);
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        key.public().verify(&manifest, &sigs).unwrap_or_else(|e| panic!("{e}"));
    }
    let both = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..200 {
        let _ = key.sign(&manifest);
    }
    let sign = t.elapsed() / 200;
    println!("verify SM2 + Ed25519 per package: {} µs", both.as_micros());
    println!("sign SM2 + Ed25519 per package: {} µs", sign.as_micros());
}
