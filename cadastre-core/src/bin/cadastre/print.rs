//! `cadastre print parcel-map|household-plan …`: printed sheets as PDF.
//!
//! Exit codes: 0 written, 1 the sheet cannot be made (unknown code, does not
//! fit), 2 unreadable input, missing font or unwritable output.

use anyhow::Context as _;
use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::print::{
    parse_scale, HouseholdSheet, Paper, ParcelMap, PrintError, PrintFont, SheetOptions, DEFAULT_FACE, DEFAULT_FONT,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Print a parcel map (宗地图) or a household plan (分户图) as PDF.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    sheet: Sheet,
}

#[derive(clap::Subcommand)]
enum Sheet {
    /// 宗地图: the parcel with boundary points, edge lengths, neighbours, buildings and coordinates.
    #[command(
        after_help = "Example:\n  cadastre print parcel-map 330106001001GB00001 samples/district --pdf zdt.pdf\n  \
cadastre print parcel-map 330106001001GB00001 samples/district --pdf zdt.pdf --scale 1:1000 --paper A3\n\n\
Exit codes: 0 written, 1 unknown parcel or does not fit, 2 unreadable input, font or output."
    )]
    ParcelMap {
        /// 宗地代码 ZDDM (19 characters).
        zddm: String,
        /// District folder (ZD / ZRZ shapefiles) or GeoPackage.
        path: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// 分户图: a household on its floor, from buildings/<ZRZH>.csv and <ZRZH>.floorplan.json.
    #[command(
        after_help = "Example:\n  cadastre print household-plan 330106001001GB00002F00010005 samples/district --pdf fht.pdf\n\n\
Exit codes: 0 written, 1 unknown household or does not fit, 2 unreadable input, font or output."
    )]
    HouseholdPlan {
        /// 不动产单元代码 BDCDYH (28 characters).
        bdcdyh: String,
        /// District folder with buildings/<ZRZH>.csv and buildings/<ZRZH>.floorplan.json.
        path: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args)]
struct Common {
    /// Output PDF file.
    #[arg(long, value_name = "OUT")]
    pdf: PathBuf,
    /// Scale, e.g. 1:500; default: the largest standard scale that fits the paper.
    #[arg(long, value_parser = parse_scale, value_name = "1:N")]
    scale: Option<u32>,
    /// Paper size.
    #[arg(long, default_value = "A4", value_parser = ["A4", "A3", "a4", "a3"])]
    paper: String,
    /// CJK font file (TTF/OTF/TTC).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_FONT)]
    font: PathBuf,
    /// Face index in a font collection (NotoSansCJK-Regular.ttc: 2 = Simplified Chinese).
    #[arg(long, default_value_t = DEFAULT_FACE)]
    face: u32,
    /// 制图员 printed in the title block.
    #[arg(long, default_value = "")]
    surveyor: String,
    /// 制图日期 printed in the title block (default today).
    #[arg(long)]
    date: Option<String>,
}

fn options(c: &Common) -> anyhow::Result<SheetOptions> {
    let paper: Paper = c.paper.parse().map_err(anyhow::Error::msg)?;
    let mut o = SheetOptions { paper, scale: c.scale, surveyor: c.surveyor.clone(), ..SheetOptions::default() };
    if let Some(d) = &c.date {
        o.date.clone_from(d);
    }
    Ok(o)
}

fn code_of(e: &PrintError) -> u8 {
    match e {
        PrintError::UnknownParcel(_) | PrintError::UnknownHousehold(_) | PrintError::DoesNotFit { .. } => 1,
        _ => 2,
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (common, made) = match &args.sheet {
        Sheet::ParcelMap { zddm, path, common } => {
            let font = match PrintFont::load(&common.font, common.face) {
                Ok(f) => f,
                Err(e) => return fail(&e),
            };
            let opts = options(common)?;
            let sub = load_submission(path, &LoadOptions::default())
                .with_context(|| format!("cannot read {}", path.display()))?;
            let made = ParcelMap::from_submission(&sub, zddm.trim())
                .and_then(|m| m.to_pdf(&font, &opts).map(|pdf| (pdf, m.points.len())));
            (common, made.map(|(pdf, n)| (pdf, format!("parcel map of {zddm}, {n} boundary points"))))
        }
        Sheet::HouseholdPlan { bdcdyh, path, common } => {
            let font = match PrintFont::load(&common.font, common.face) {
                Ok(f) => f,
                Err(e) => return fail(&e),
            };
            let opts = options(common)?;
            let made = HouseholdSheet::from_folder(path, bdcdyh)
                .and_then(|s| s.to_pdf(&font, &opts).map(|pdf| (pdf, s.areas.inner)));
            (common, made.map(|(pdf, a)| (pdf, format!("household plan of {bdcdyh}, 套内 {a} m²"))))
        }
    };
    let (pdf, what) = match made {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    if let Err(e) = write_atomically(&common.pdf, &pdf) {
        eprintln!("error: cannot write {}: {e}", common.pdf.display());
        return Ok(ExitCode::from(2));
    }
    eprintln!("wrote {} ({what}, {} bytes)", common.pdf.display(), pdf.len());
    Ok(ExitCode::SUCCESS)
}

fn fail(e: &PrintError) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e}");
    Ok(ExitCode::from(code_of(e)))
}

/// Writes beside the target and renames, so a failed run never leaves half a PDF.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("pdf.part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
