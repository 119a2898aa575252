//! Benchmark of the building table (楼盘表) panel on a 100-floor × 20-household
//! tower (2 000 households): CPU time of a frame while the table scrolls, and
//! the apportionment re-run in the app path (input from the table, run, command).
//!
//!   cargo run --release -p survey-desktop --bin tower-bench -- [--frames 600]
//!
//! Headless like `desk-bench`: the egui pass with the whole app plus tessellation.

use std::time::{Duration, Instant};

use clap::Parser;
use egui::{pos2, vec2, Event, MouseWheelUnit, RawInput, Rect};
use survey_desktop::app::units::Tab;
use survey_desktop::app::App;
use survey_desktop::model::units::ops;
use survey_desktop::model::{Document, Editor};

/// mimalloc, not glibc's malloc: after a large import is freed, glibc merges its millions of
/// small free chunks the first time a frame asks for a large block, a 40–55 ms stall at a
/// random frame (`desk-bench`; gone with `GLIBC_TUNABLES=glibc.malloc.mxfast=0` too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Args {
    /// Frames of scrolling.
    #[arg(long, default_value_t = 600)]
    frames: usize,
    /// Apportionment re-runs.
    #[arg(long, default_value_t = 200)]
    runs: usize,
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One headless frame; returns this thread's CPU time.
fn frame(ctx: &egui::Context, app: &mut App, t: f64, events: Vec<Event>) -> Duration {
    let input = RawInput {
        screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), vec2(1400.0, 900.0))),
        time: Some(t),
        events,
        ..RawInput::default()
    };
    let cpu = cpu_time::ThreadTime::now();
    let mut out = ctx.run_ui(input, |ui| app.ui_root(ui));
    let _ = ctx.tessellate(std::mem::take(&mut out.shapes), out.pixels_per_point);
    out.textures_delta.clear();
    cpu.elapsed()
}

fn tower() -> anyhow::Result<Document> {
    const ZRZH: &str = "330106001001GB00001F0001";
    let by = cadastre_core::building::Editor::now("bench");
    let mut ed = Editor::new(Document::default());
    ed.execute(ops::create(ed.doc(), ZRZH, &by)?)?;
    let spec = cadastre_core::building::GridSpec {
        ljzh: "1".into(),
        floors: (1..=100).map(cadastre_core::building::FloorSpec::simple).collect(),
        stair_units: 4,
        rooms_per_unit: 5,
        usage: "住宅".into(),
        zone: "res".into(),
    };
    ed.execute(ops::generate_grid(ed.doc(), ZRZH, &spec, &by)?)?;
    let all: Vec<String> = ed.doc().units[ZRZH].table.current().map(|h| h.hh.clone()).collect();
    let values = ops::BatchValues { predicted_inner: Some("89.50".parse()?), ..Default::default() };
    ed.execute(ops::batch_edit(ed.doc(), ZRZH, &all, &values, &by)?.0)?;
    let mut setup = ed.doc().units[ZRZH].setup.clone();
    setup.shared.push(cadastre_core::apportion::SharedInput {
        id: "core".into(),
        name: Some("核心筒".into()),
        area: "27000.00".parse()?,
        serves: cadastre_core::apportion::Serves { building: Some(true), ..Default::default() },
        shares: None,
    });
    ed.execute(ops::set_setup(ed.doc(), ZRZH, setup, "bench", &by)?)?;
    Ok(ed.doc().clone())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let doc = tower()?;
    let zrzh = doc.units.keys().next().cloned().unwrap_or_default();
    println!("tower: {} households", doc.units[&zrzh].table.current().count());
    let by = cadastre_core::building::Editor::now("bench");
    let mut runs = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let started = Instant::now();
        let (_, r) = ops::run_apportionment(&doc, &zrzh, &by)?;
        runs.push(started.elapsed());
        anyhow::ensure!(r.totals.apportioned == r.totals.shared_area, "shares do not add up");
    }
    println!("apportionment re-run (app path): p50 {:.2} ms, p99 {:.2} ms", pct(&mut runs, 0.5), pct(&mut runs, 0.99));
    let ctx = egui::Context::default();
    let mut app = App::with_document(doc);
    app.units.tab = Tab::Table;
    let mut t = 0.0;
    for _ in 0..10 {
        t += 1.0 / 60.0;
        frame(&ctx, &mut app, t, Vec::new());
    }
    let mut times = Vec::with_capacity(args.frames);
    let over = pos2(700.0, 600.0);
    for k in 0..args.frames {
        t += 1.0 / 60.0;
        // Down 60 points a frame for the first half, back up for the second.
        let dy = if k < args.frames / 2 { -60.0 } else { 60.0 };
        let ev = vec![
            Event::PointerMoved(over),
            Event::MouseWheel {
                unit: MouseWheelUnit::Point,
                delta: vec2(0.0, dy),
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
                modifiers: egui::Modifiers::NONE,
            },
        ];
        times.push(frame(&ctx, &mut app, t, ev));
    }
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "building-table scroll, {} frames: CPU p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        pct(&mut times, 0.5),
        pct(&mut times, 0.99),
        max.as_secs_f64() * 1000.0
    );
    Ok(())
}
