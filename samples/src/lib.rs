//! Synthetic cadastral districts: the committed sample district and a
//! generator for districts of any size with injected, known defects.
//!
//! A district is a grid of street blocks in EPSG:4549 (CGCS2000 3° Gauss-Krüger,
//! CM 120°E) around Hangzhou. Parcels (宗地) tile each block with exactly
//! shared boundary vertices; buildings (自然幢) stand inside parcels;
//! sub-districts (地籍子区) are bands of blocks bounded by street centre lines.
//! Defects are injected one per block and recorded in a [`Truth`].
//!
//! In memory:
//! ```
//! use cadastre_samples::{generate, Config, DefectPlan, Rule};
//! let d = generate(&Config::new(300).with_seed(2).with_defects(DefectPlan::Exact(vec![(Rule::Overlap, 1)])))?;
//! assert_eq!(d.parcels.len(), 300);
//! assert_eq!(d.truth.defects.len(), 1);
//! assert_eq!(d.truth.defects[0].rule, Rule::Overlap);
//! # Ok::<(), cadastre_samples::Error>(())
//! ```
//!
//! To files, streaming (memory stays flat for a million parcels):
//! ```
//! use cadastre_samples::{write_generated, Config};
//! let dir = tempfile::tempdir()?;
//! let truth = write_generated(&Config::new(100), dir.path(), &mut |_| {})?;
//! assert_eq!(truth.counts.parcels, 100);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod codes;
pub mod config;
pub mod defects;
pub mod floorplan;
pub mod generator;
pub mod layout;
pub mod model;
pub mod rule;
pub mod shape;
pub mod tables;
pub mod writer;

use std::path::Path;

pub use cadastre_core::io::TextEncoding;
pub use config::{Config, DefectPlan, Error, SAMPLE_PARCELS, SAMPLE_SEED};
pub use generator::Generator;
pub use model::{Block, Building, CadastralDistrict, Counts, Defect, District, Parcel, SubDistrict, Truth};
pub use rule::Rule;
pub use tables::BuildingTable;
pub use writer::DistrictWriter;

/// Generates a whole district in memory.
///
/// # Errors
/// [`Error::Config`] / [`Error::TooManyDefects`] / [`Error::Code`].
pub fn generate(config: &Config) -> Result<District, Error> {
    let mut g = Generator::new(config)?;
    let (district, subdistricts) = (g.district(), g.subdistricts());
    let (mut parcels, mut buildings, mut tables, mut defects) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for block in g.by_ref() {
        let block = block?;
        parcels.extend(block.parcels);
        buildings.extend(block.buildings);
        tables.extend(block.tables);
        defects.extend(block.defect);
    }
    let truth = g.truth(defects);
    Ok(District { district, subdistricts, parcels, buildings, tables, truth })
}

/// Writes an in-memory district to `dir` (same bytes as [`write_generated`]
/// for the same configuration).
///
/// # Errors
/// [`Error::Io`] / [`Error::Write`].
pub fn write_district(district: &District, config: &Config, dir: &Path) -> Result<Truth, Error> {
    let mut w = DistrictWriter::create(dir, config, &district.district, &district.subdistricts)?;
    // Parcels first, then buildings, in the same order as the streaming writer
    // (each layer is its own file, so interleaving by block does not matter).
    for p in &district.parcels {
        w.write_parcel(p)?;
    }
    for b in &district.buildings {
        w.write_building(b)?;
    }
    for t in &district.tables {
        w.write_table(t)?;
    }
    w.finish(district.truth.clone())
}

/// Generates and writes a district block by block; `progress` is called with
/// the number of parcels written so far after every block.
///
/// # Errors
/// Any [`Error`].
pub fn write_generated(config: &Config, dir: &Path, progress: &mut dyn FnMut(u64)) -> Result<Truth, Error> {
    let mut g = Generator::new(config)?;
    let mut w = DistrictWriter::create(dir, config, &g.district(), &g.subdistricts())?;
    while let Some(block) = g.next() {
        w.write_block(&block?)?;
        progress(g.counts().parcels);
    }
    let truth = g.truth(Vec::new());
    w.finish(truth)
}
