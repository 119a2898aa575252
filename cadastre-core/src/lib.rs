//! Cadastral domain model, geometry, topology, quality checks, area and
//! apportionment. Knows nothing about HTTP, SQL or GUIs.

pub use unit_code;

pub mod apportion;
pub mod area;
pub mod boundary;
pub mod building;
pub mod crs;
pub mod diff;
pub mod floorplan;
pub mod io;
pub mod model;
pub mod package;
#[cfg(feature = "print")]
pub mod print;
pub mod qc;
pub mod ring;
