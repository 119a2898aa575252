//! Printing from the app: the selected parcel's 宗地图 through `cadastre-core::print`
//! (the code the `cadastre print` command and the server use), written to a path the
//! UI asked for, so tests need no dialog.

use std::path::Path;

use cadastre_core::print::{Paper, ParcelMap, PrintFont, SheetOptions};

use crate::model::Document;

/// Paper and scale of a printed sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrintChoice {
    /// A4 or A3, portrait.
    pub paper: Paper,
    /// Scale denominator; `None`: the largest standard scale that fits.
    pub scale: Option<u32>,
}

/// Scales offered (1:200 … 1:2000; `None` = automatic).
pub const SCALES: [Option<u32>; 5] = [None, Some(200), Some(500), Some(1000), Some(2000)];

/// Writes the 宗地图 of parcel `zddm` of `doc` to `out` as PDF. Errors are in Chinese,
/// for the status bar.
pub fn print_parcel_map(
    doc: &Document,
    zddm: &str,
    choice: PrintChoice,
    surveyor: &str,
    out: &Path,
) -> Result<(), String> {
    let sub = doc.to_submission();
    let map = ParcelMap::from_submission(&sub, zddm).map_err(|e| format!("无法生成宗地图：{e}"))?;
    let font = PrintFont::system_default().map_err(|e| format!("缺少中文字体：{e}"))?;
    let options = SheetOptions {
        paper: choice.paper,
        scale: choice.scale,
        surveyor: surveyor.to_owned(),
        ..SheetOptions::default()
    };
    let pdf = map.to_pdf(&font, &options).map_err(|e| format!("无法生成宗地图：{e}"))?;
    write_atomically(out, &pdf)
}

fn write_atomically(out: &Path, bytes: &[u8]) -> Result<(), String> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let err = |e: std::io::Error| format!("无法写入 {}：{e}", out.display());
    let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(err)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(err)?;
    tmp.persist(out).map_err(|e| err(e.error))?;
    Ok(())
}
