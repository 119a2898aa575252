//! 分户图 from the floor-plan panel and the apportionment table from its panel: the same
//! `cadastre-core::print` sheets the `cadastre print household-plan` and `cadastre apportion`
//! commands make, written to a path.

use std::path::Path;

use cadastre_core::apportion::{xlsx::to_xlsx, Apportionment, RenderHtml as _};
use cadastre_core::print::{apportionment_pdf, HouseholdSheet, PrintFont, SheetOptions};

use crate::model::units::BuildingUnits;

/// Print household `hh` (HH or BDCDYH) of the building to `path`.
pub fn household_plan_pdf(u: &BuildingUnits, hh: &str, path: &Path) -> Result<(), String> {
    let sheet = HouseholdSheet::new(&u.plan, &u.table, hh).map_err(|e| e.to_string())?;
    let font = PrintFont::system_default().map_err(|e| e.to_string())?;
    let pdf = sheet.to_pdf(&font, &SheetOptions::default()).map_err(|e| e.to_string())?;
    std::fs::write(path, pdf).map_err(|e| format!("{}: {e}", path.display()))
}

/// The apportionment calculation table (房屋面积分摊计算表) written to `path`, as HTML,
/// PDF or XLSX by its extension (HTML when it has none of these): the same tables the
/// `cadastre apportion --pdf/--xlsx` command writes.
pub fn apportionment_table(r: &Apportionment, path: &Path) -> Result<(), String> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let bytes = match ext.as_str() {
        "pdf" => {
            let font = PrintFont::system_default().map_err(|e| format!("缺少中文字体 no CJK font: {e}"))?;
            apportionment_pdf(r, &font, &SheetOptions::default()).map_err(|e| e.to_string())?
        }
        "xlsx" => to_xlsx(r).map_err(|e| e.to_string())?,
        _ => r.to_html().into_bytes(),
    };
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
