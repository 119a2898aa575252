//! Benchmark of survey-desktop on a generated district: opening, CPU frame time
//! (egui layout, our drawing, tessellation) while panning and zooming at three
//! zoom levels, and one boundary-point move with the boundary re-derived.
//!
//!   cargo run --release -p survey-desktop --bin desk-bench -- /tmp/d100k [--frames 300]
//!
//! The folder is imported like `survey-desktop FOLDER`, saved as a project
//! (`FOLDER.gpkg` beside it unless --project), reopened from the project, then drawn
//! headless (no window: what is measured is the CPU work of a frame).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use egui::{pos2, vec2, RawInput, Rect};
use geo_types::Coord;
use survey_desktop::app::{App, StartOptions};
use survey_desktop::boundary_info::boundary_info;
use survey_desktop::model::{ops, Document, Editor};
use survey_desktop::project::Project;

/// mimalloc, not glibc's malloc: after a large import is freed, glibc merges its millions of
/// small free chunks the first time a frame asks for a large block, a 40–55 ms stall at a
/// random frame (`desk-bench`; gone with `GLIBC_TUNABLES=glibc.malloc.mxfast=0` too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Args {
    /// Folder of shapefiles (district-gen output).
    folder: PathBuf,
    /// Project file to write and reopen [default: FOLDER.gpkg].
    #[arg(long)]
    project: Option<PathBuf>,
    /// Frames per scenario.
    #[arg(long, default_value_t = 300)]
    frames: usize,
    /// Boundary-point moves to time.
    #[arg(long, default_value_t = 200)]
    moves: usize,
    /// Reuse the project file if it exists (skip the import and the save).
    #[arg(long)]
    reuse: bool,
    /// Open the project this many times (each figure printed), then go on with the last.
    #[arg(long, default_value_t = 1)]
    opens: usize,
    /// Print this many of the slowest wheel-zoom frames with what they drew.
    #[arg(long, default_value_t = 0)]
    worst: usize,
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Wall-clock and this thread's CPU time of one frame.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
    /// CPU of egui's tessellation (the rest is the pass: layout and our drawing).
    tessellate: Duration,
}

/// One headless frame: egui pass with the whole app, then tessellation.
fn frame(ctx: &egui::Context, app: &mut App, t: f64, size: egui::Vec2, events: Vec<egui::Event>) -> Timing {
    let input = RawInput {
        screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), size)),
        time: Some(t),
        events,
        ..RawInput::default()
    };
    let started = Instant::now();
    let cpu = cpu_time::ThreadTime::now();
    let mut out = ctx.run_ui(input, |ui| app.ui_root(ui));
    let tess = cpu_time::ThreadTime::now();
    let _ = ctx.tessellate(std::mem::take(&mut out.shapes), out.pixels_per_point);
    let tessellate = tess.elapsed();
    // No GPU here: texture uploads are dropped (their CPU side, the images, was made).
    out.textures_delta.clear();
    Timing { wall: started.elapsed(), cpu: cpu.elapsed(), tessellate }
}

/// A table row: p50/p99 of CPU time and of wall time.
fn row(name: &str, times: &[Timing]) {
    let mut cpu: Vec<Duration> = times.iter().map(|t| t.cpu).collect();
    let mut wall: Vec<Duration> = times.iter().map(|t| t.wall).collect();
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        times.len(),
        pct(&mut cpu, 0.5),
        pct(&mut cpu, 0.99),
        pct(&mut wall, 0.5),
        pct(&mut wall, 0.99)
    );
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let project = args.project.clone().unwrap_or_else(|| args.folder.with_extension("gpkg"));
    if !(args.reuse && project.is_file()) {
        let t0 = Instant::now();
        let mut sub = survey_desktop::import::read(&args.folder, &Default::default()).context("import")?;
        survey_desktop::import::align_crs(&mut sub, None).context("crs")?;
        let (doc, _) = Document::from_submission(sub);
        let mut ed = Editor::new(doc);
        let import = t0.elapsed();
        let _ = std::fs::remove_file(&project);
        let t1 = Instant::now();
        Project::create(&project).and_then(|mut p| p.save(&mut ed, &Default::default())).context("save")?;
        println!(
            "parcels: {}\nimport shapefiles: {:.2} s, save project: {:.2} s",
            ed.doc().parcels.len(),
            import.as_secs_f64(),
            t1.elapsed().as_secs_f64()
        );
    }
    // Open as the app does (`App::open_path`): read, editor with indexes, renderer reset.
    let mut app = None;
    for _ in 0..args.opens.max(1) {
        // The previous window's project is closed first (a project is open in one window only).
        drop(app.take());
        let mut opened = App::new(StartOptions::default());
        let started = Instant::now();
        let cpu = cpu_time::ThreadTime::now();
        // Process CPU: includes the threads the open works in.
        let process_cpu = cpu_time::ProcessTime::now();
        opened.open_path(&project);
        println!(
            "open project (read, indexes, renderer): {:.2} s wall, {:.2} s CPU (this thread), {:.2} s CPU (process)",
            started.elapsed().as_secs_f64(),
            cpu.elapsed().as_secs_f64(),
            process_cpu.elapsed().as_secs_f64()
        );
        anyhow::ensure!(opened.project_path().is_some(), "open failed: {}", opened.status);
        // The previous run's boundary-point moves are in the project's journal: the app asks
        // whether to recover them. Discarded, so that every run draws the same saved project
        // without a dialog over the map.
        if opened.recovery_pending() {
            opened.push(survey_desktop::app::command::AppCommand::Recover(false));
            opened.run_commands();
        }
        app = Some(opened);
    }
    let mut app = app.context("no open")?;
    let ctx = egui::Context::default();
    let size = vec2(1280.0, 800.0);
    let mut t = 0.0;
    // Warm up: fonts, first layout, level-0 tile.
    let warm = Instant::now();
    let warm_cpu = cpu_time::ThreadTime::now();
    for _ in 0..3 {
        t += 1.0 / 60.0;
        frame(&ctx, &mut app, t, size, Vec::new());
    }
    println!(
        "first frames (fonts, layout, overview tile): {:.0} ms wall, {:.0} ms CPU",
        warm.elapsed().as_secs_f64() * 1000.0,
        warm_cpu.elapsed().as_secs_f64() * 1000.0
    );
    let canvas = app.canvas_rect();
    let (lo, hi) = app.editor.index().extent().context("empty")?;
    let typical = {
        let id = *app.editor.doc().parcels.keys().next().context("no parcels")?;
        let (a, b) = app.editor.index().parcel_bbox(id).context("bbox")?;
        (b[0] - a[0]).max(b[1] - a[1])
    };
    let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let scenarios: [(&str, f64); 3] = [
        ("whole district", 0.0),
        ("district detail (~8 px per parcel)", 8.0 / typical),
        ("survey zoom (~120 px per parcel)", 120.0 / typical),
    ];
    println!("\n| scenario | n | CPU p50 ms | CPU p99 ms | wall p50 ms | wall p99 ms |\n|---|---|---|---|---|---|");
    for (name, scale) in scenarios {
        app.state.view.fit(lo, hi, canvas);
        if scale > 0.0 {
            app.state.view.center = centre;
            app.state.view.scale = scale;
        }
        // Settle (tiles/mesh for the start view), then pan 9 points a frame, back and forth.
        for _ in 0..20 {
            t += 1.0 / 60.0;
            frame(&ctx, &mut app, t, size, Vec::new());
        }
        let mut times = Vec::with_capacity(args.frames);
        for k in 0..args.frames {
            let dir = if (k / 100) % 2 == 0 { 1.0 } else { -1.0 };
            app.state.view.pan_pixels(9.0 * dir, 3.0 * dir);
            t += 1.0 / 60.0;
            times.push(frame(&ctx, &mut app, t, size, Vec::new()));
        }
        row(&format!("pan, {name}"), &times);
    }
    // Zoom with the wheel from the whole district to survey zoom and back.
    app.state.view.fit(lo, hi, canvas);
    let mut times = Vec::new();
    let mut why = Vec::new();
    let at = canvas.center();
    for k in 0..args.frames {
        let steps = args.frames / 2;
        let delta = if k < steps { 60.0 } else { -60.0 };
        let ev = vec![
            egui::Event::PointerMoved(at),
            egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Point,
                delta: vec2(0.0, delta),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Wheel,
                modifiers: egui::Modifiers::NONE,
            },
        ];
        t += 1.0 / 60.0;
        times.push(frame(&ctx, &mut app, t, size, ev));
        why.push((k, app.state.view.scale, app.frame_stats()));
    }
    row("wheel zoom in and out (whole district ↔ survey zoom)", &times);
    // The slowest frames and what they drew: where a p99 comes from.
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|&a, &b| times[b].cpu.cmp(&times[a].cpu));
    for &i in order.iter().take(args.worst) {
        let (k, scale, s) = &why[i];
        println!(
            "  slow wheel frame {k}: {:.2} ms CPU ({:.2} ms tessellating), {:.1} px per parcel, vector {}, rebuilt {}, parcels {}, tiles {}",
            times[i].cpu.as_secs_f64() * 1000.0,
            times[i].tessellate.as_secs_f64() * 1000.0,
            scale * typical,
            s.vector,
            s.rebuilt,
            s.parcels,
            s.tiles
        );
    }

    // One vertex move: build the command, execute it (indexes), re-derive the parcel's boundary.
    let ids: Vec<u32> = app
        .editor
        .doc()
        .points
        .keys()
        .copied()
        .step_by((app.editor.doc().points.len() / args.moves.max(1)).max(1))
        .take(args.moves)
        .collect();
    let mut times = Vec::new();
    for id in ids {
        let started = Instant::now();
        let cpu = cpu_time::ThreadTime::now();
        let c = app.editor.doc().points[&id];
        let cmd = ops::move_point(app.editor.doc(), id, Coord { x: c.x + 0.05, y: c.y + 0.05 })?;
        app.editor.execute(cmd)?;
        if let Some(&parcel) = app.editor.index().users(id).first() {
            let _ = boundary_info(&app.editor, parcel);
        }
        times.push(Timing { wall: started.elapsed(), cpu: cpu.elapsed(), tessellate: Duration::ZERO });
    }
    row("move a boundary point + re-derive its parcel's points, lines, 四至", &times);
    Ok(())
}
