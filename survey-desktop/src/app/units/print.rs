//! 分户图 from the floor-plan panel: the same `cadastre-core::print` sheet the
//! `cadastre print household-plan` command makes, written to a PDF path.

use std::path::Path;

use cadastre_core::print::{HouseholdSheet, PrintFont, SheetOptions};

use crate::model::units::BuildingUnits;

/// Print household `hh` (HH or BDCDYH) of the building to `path`.
pub fn household_plan_pdf(u: &BuildingUnits, hh: &str, path: &Path) -> Result<(), String> {
    let sheet = HouseholdSheet::new(&u.plan, &u.table, hh).map_err(|e| e.to_string())?;
    let font = PrintFont::system_default().map_err(|e| e.to_string())?;
    let pdf = sheet.to_pdf(&font, &SheetOptions::default()).map_err(|e| e.to_string())?;
    std::fs::write(path, pdf).map_err(|e| format!("{}: {e}", path.display()))
}
