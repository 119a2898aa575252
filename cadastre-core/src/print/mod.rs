//! Printed outputs as vector PDF: the parcel map (宗地图) and the household
//! plan (分户图), for the `cadastre print` command, the desktop app and the
//! server alike.
//!
//! Sheets are drawn at true scale (a 10 m edge at 1:500 is 20 mm on paper)
//! in millimetres relative to the sheet, so map coordinates in the millions
//! never reach the PDF's 32-bit floats. Chinese text uses a system CJK font
//! ([`PrintFont`], Noto Sans CJK SC by default) that krilla embeds as a
//! subset with a ToUnicode map, so the text can be searched and copied.
//!
//! ```no_run
//! use cadastre_core::io::{load_submission, LoadOptions};
//! use cadastre_core::print::{ParcelMap, PrintFont, SheetOptions};
//! let sub = load_submission("samples/district".as_ref(), &LoadOptions::default())?;
//! let map = ParcelMap::from_submission(&sub, "330106001001GB00001")?;
//! let pdf = map.to_pdf(&PrintFont::system_default()?, &SheetOptions::default())?;
//! std::fs::write("zdt.pdf", pdf)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apportion_sheet;
pub mod canvas;
mod font;
mod furniture;
mod household_plan;
mod parcel_map;

pub use apportion_sheet::apportionment_pdf;
pub use font::{PrintFont, DEFAULT_FACE, DEFAULT_FONT};
pub use household_plan::{HouseholdAreasText, HouseholdSheet};
pub use parcel_map::{land_use_name, MapBuilding, MapEdge, MapPoint, ParcelMap};

use std::path::PathBuf;

/// Why a sheet could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrintError {
    /// The font could not be used.
    #[error("font {path}: {reason}")]
    Font {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No parcel with this code.
    #[error("no parcel {0} in the data")]
    UnknownParcel(String),
    /// No household with this code.
    #[error("no household {0}")]
    UnknownHousehold(String),
    /// The drawing does not fit the paper at the scale asked for.
    #[error("{what} ({width:.1} m × {height:.1} m) does not fit {paper} at 1:{scale}; use a smaller scale or a larger paper")]
    DoesNotFit {
        /// What was drawn.
        what: String,
        /// Extent east-west, m.
        width: f64,
        /// Extent north-south, m.
        height: f64,
        /// Paper.
        paper: Paper,
        /// Scale denominator.
        scale: u32,
    },
    /// Input that cannot be drawn (empty geometry, a bad scale...).
    #[error("{0}")]
    Invalid(String),
    /// The PDF writer failed.
    #[error("PDF: {0}")]
    Pdf(String),
}

/// Paper size, portrait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// 210 × 297 mm.
    #[default]
    A4,
    /// 297 × 420 mm.
    A3,
}

impl Paper {
    /// Width and height in mm.
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::A3 => (297.0, 420.0),
        }
    }
}

impl std::fmt::Display for Paper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Paper::A4 => "A4",
            Paper::A3 => "A3",
        })
    }
}

impl std::str::FromStr for Paper {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A4" => Ok(Paper::A4),
            "A3" => Ok(Paper::A3),
            other => Err(format!("paper {other:?}: use A4 or A3")),
        }
    }
}

/// Parses a scale "1:500", "1/500" or "500" into its denominator.
///
/// ```
/// use cadastre_core::print::parse_scale;
/// assert_eq!(parse_scale("1:500"), Ok(500));
/// assert_eq!(parse_scale("2000"), Ok(2000));
/// assert!(parse_scale("1:0").is_err());
/// ```
pub fn parse_scale(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let d = t.strip_prefix("1:").or_else(|| t.strip_prefix("1/")).unwrap_or(t);
    match d.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("scale {s:?}: write it as 1:500")),
    }
}

/// Options common to every sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetOptions {
    /// Paper size.
    pub paper: Paper,
    /// Scale denominator; `None` chooses the largest standard scale that fits.
    pub scale: Option<u32>,
    /// 制图员 (surveyor) in the title block.
    pub surveyor: String,
    /// 制图日期, as printed.
    pub date: String,
    /// Compress the PDF's content streams (on by default; off to read the
    /// drawing commands in tests).
    pub compress: bool,
}

impl Default for SheetOptions {
    fn default() -> Self {
        SheetOptions {
            paper: Paper::A4,
            scale: None,
            surveyor: String::new(),
            date: chrono::Local::now().format("%Y-%m-%d").to_string(),
            compress: true,
        }
    }
}

/// Standard scales of cadastral maps, largest first; the last four only
/// when a parcel is too large for 1:2000 on the paper.
pub const PARCEL_SCALES: [u32; 8] = [200, 500, 1000, 2000, 5000, 10000, 20000, 50000];

/// The largest scale of `scales` at which `width` × `height` metres fit in
/// `room_w` × `room_h` millimetres.
pub(crate) fn fit_scale(scales: &[u32], width: f64, height: f64, room_w: f64, room_h: f64) -> Option<u32> {
    scales.iter().copied().find(|&s| fits(s, width, height, room_w, room_h))
}

pub(crate) fn fits(scale: u32, width: f64, height: f64, room_w: f64, room_h: f64) -> bool {
    let k = 1000.0 / f64::from(scale);
    width * k <= room_w && height * k <= room_h
}

/// Makes a krilla document with the sheet's settings.
pub(crate) fn document(options: &SheetOptions) -> krilla::Document {
    krilla::Document::new_with(krilla::SerializeSettings {
        compress_content_streams: options.compress,
        ..krilla::SerializeSettings::default()
    })
}

/// A krilla page of the paper size.
pub(crate) fn page_settings(paper: Paper) -> Result<krilla::page::PageSettings, PrintError> {
    let (w, h) = paper.size_mm();
    krilla::page::PageSettings::from_wh((w * canvas::PT_PER_MM) as f32, (h * canvas::PT_PER_MM) as f32)
        .ok_or_else(|| PrintError::Invalid(format!("paper size {paper}")))
}

pub(crate) fn finish(doc: krilla::Document) -> Result<Vec<u8>, PrintError> {
    doc.finish().map_err(|e| PrintError::Pdf(format!("{e:?}")))
}
