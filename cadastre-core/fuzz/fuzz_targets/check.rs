//! Whatever loads must go through every quality-check rule without a panic: odd rings,
//! spikes, NaN-free but degenerate coordinates, duplicate codes.
#![no_main]

mod common;

use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::qc::{check, QcConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(shp) = common::write_layer(data) {
        if let Ok(sub) = load_submission(&shp, &LoadOptions::default()) {
            let _ = check(&sub, &QcConfig::default());
        }
    }
});
