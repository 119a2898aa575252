//! `survey-desktop`: the surveyors' desktop app.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use survey_desktop::app::i18n::Lang;
use survey_desktop::app::{App, StartOptions};

/// mimalloc, not glibc's malloc: after a large import is freed, glibc merges its millions of
/// small free chunks the first time a frame asks for a large block, a 40–55 ms stall at a
/// random frame (`desk-bench`; gone with `GLIBC_TUNABLES=glibc.malloc.mxfast=0` too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 不动产测绘桌面端: open a project (GeoPackage) or import a folder of shapefiles,
/// draw and edit parcels with shared boundary points, run the quality checks.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:
  survey-desktop samples/district                 import the sample district (shapefiles) as a new project
  survey-desktop project.gpkg                     open a project (offers to recover unsaved edits)
  survey-desktop samples/district --select 330106001001GB00001 --screenshot shot.png
                                                  zoom to a parcel, save a PNG of the window and exit
  survey-desktop --lang en project.gpkg           English interface
  survey-desktop project.gpkg --panel floor-plan --screenshot plan.png
                                                  open the floor plans and save a PNG"
)]
struct Args {
    /// A project (.gpkg made by this app), a folder of ZD/ZRZ/DJZQ/DJQ shapefiles, a .shp,
    /// a GeoPackage, a DXF or a boundary-point CSV (XZBZ = northing, YZBZ = easting).
    project_or_folder: Option<PathBuf>,
    /// Render the first frames, save them as PNG and exit.
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
    /// Select this parcel (宗地代码) and zoom to it at start.
    #[arg(long, value_name = "ZDDM")]
    select: Option<String>,
    /// Interface language: zh (default) or en.
    #[arg(long, value_parser = ["zh", "en"])]
    lang: Option<String>,
    /// Window size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x800")]
    size: String,
    /// Seconds between autosaves to the project journal.
    #[arg(long, default_value_t = 5.0)]
    autosave: f64,
    /// Test hook: make N small edits, one per frame, and print each autosave.
    #[arg(long, hide = true, default_value_t = 0)]
    script_edits: usize,
    /// Central tab at start: map, building-table, floor-plan or apportion.
    #[arg(long, value_parser = ["map", "building-table", "floor-plan", "apportion"])]
    panel: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<f32>().ok()?, h.parse::<f32>().ok()?)))
        .context("--size must look like 1280x800")?;
    if let Some(p) = &args.project_or_folder {
        anyhow::ensure!(p.exists(), "{} does not exist", p.display());
    }
    let options = StartOptions {
        path: args.project_or_folder,
        screenshot: args.screenshot,
        select: args.select,
        lang: args.lang.as_deref().map(|l| if l == "en" { Lang::En } else { Lang::Zh }),
        autosave_secs: Some(args.autosave),
        script_edits: args.script_edits,
        data_dir: None,
        panel: args.panel.as_deref().and_then(survey_desktop::app::units::Tab::parse),
    };
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([w, h]).with_title("不动产测绘 survey-desktop"),
        ..Default::default()
    };
    eframe::run_native("survey-desktop", native, Box::new(move |_cc| Ok(Box::new(App::new(options)))))
        .map_err(|e| anyhow::anyhow!("cannot open a window: {e}"))
}
