//! The shapefile readers (.shp records, .dbf fields, encodings) must give data or an error,
//! never panic or hang, whatever the bytes.
#![no_main]

mod common;

use cadastre_core::io::{load_submission, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(shp) = common::write_layer(data) {
        let _ = load_submission(&shp, &LoadOptions::default());
    }
});
