//! Buildings and the building table (楼盘表): natural building (ZRZ) →
//! logical building (LJZ) → floor (C) → household (H), with a change log,
//! grid operations, predicted↔measured links and CSV/XLSX exchange.
//!
//! The household is the row; logical building (LJZH), stair unit (DYH),
//! nominal floor (MYC) and physical floors (SJC) are its coordinates in the
//! grid, as in the agreed CSV format (`notes/csv-format.md`).

pub mod csv_io;
pub mod delta;
pub mod grid;
pub mod history;
pub mod link;
pub mod model;
pub mod row;
pub mod types;
pub mod xlsx_io;

pub use crate::model::floor_name;
pub use csv_io::{read_csv, write_csv, TableIoError};
pub use delta::{HouseholdChange, ListDelta, TableDelta};
pub use grid::{FloorRow, FloorSpec, GridSpec};
pub use history::{Change, ChangeLog, Editor, Target};
pub use model::BuildingTable;
pub use row::{ImportReport, RowIssue, COLUMNS};
pub use types::{AreaLink, BuildingError, Household, LinkKind, PhysicalFloors, SideBySide, Status};
pub use xlsx_io::{read_xlsx, write_xlsx};
