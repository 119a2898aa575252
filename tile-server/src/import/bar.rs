//! The command line's view of an import: an indicatif bar per layer with rate and
//! ETA (total from the .dbf header), and the summary table.

use std::fmt::Write as _;
use std::sync::Mutex;

use cadastre_core::model::Layer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{ImportSummary, LayerSummary, Progress};

/// A progress bar on stderr, or nothing when quiet.
#[derive(Debug)]
pub struct Bar {
    quiet: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// A bar; `quiet` draws nothing.
    pub fn new(quiet: bool) -> Self {
        Self { quiet, current: Mutex::new(None) }
    }

    /// Removes the bar from the terminal.
    pub fn clear(&self) {
        if let Ok(mut g) = self.current.lock() {
            if let Some(b) = g.take() {
                b.finish_and_clear();
            }
        }
    }
}

impl Progress for Bar {
    fn start_layer(&self, layer: Layer, total: Option<u64>) {
        if self.quiet {
            return;
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{prefix:>5} [{bar:40}] {human_pos}/{human_len} {per_sec} ETA {eta}"
        } else {
            "{prefix:>5} {spinner} {human_pos} {per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(layer.standard_name());
        if let Ok(mut g) = self.current.lock() {
            if let Some(old) = g.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(g) = self.current.lock() {
            if let Some(b) = g.as_ref() {
                b.inc(n);
            }
        }
    }

    fn finish_layer(&self, _: Layer, _: &LayerSummary) {
        self.clear();
    }
}

/// The per-layer summary as a text table.
///
/// ```
/// use tile_server::import::{bar::summary_table, ImportSummary, LayerSummary};
/// let mut s = ImportSummary::default();
/// s.layers.push(("ZD".into(), LayerSummary { read: 3, inserted: 2, rejected: 1, ..Default::default() }));
/// let t = summary_table(&s);
/// assert!(t.contains("ZD"));
/// assert!(t.lines().nth(1).is_some_and(|l| l.split_whitespace().collect::<Vec<_>>() == ["ZD", "3", "2", "0", "0", "1", "0"]));
/// ```
pub fn summary_table(s: &ImportSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "layer", "read", "inserted", "updated", "unchanged", "rejected", "warnings"
    );
    for (name, l) in &s.layers {
        let _ = writeln!(
            out,
            "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name, l.read, l.inserted, l.updated, l.unchanged, l.rejected, l.warnings
        );
    }
    for n in &s.notes {
        let _ = writeln!(out, "note   {}: {} / {}", n.layer.standard_name(), n.reason_en, n.reason_zh);
    }
    if let (Some(id), Some(c)) = (s.run_id, &s.county) {
        let _ = writeln!(out, "run {id}, county {c}, {} batches committed", s.batches);
    }
    out
}
