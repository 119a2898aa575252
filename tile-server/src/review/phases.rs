//! Wall-clock time of the phases of a check or an accept, logged as one line at `info`
//! (target `tile_server::review`), so a slow submission shows where its time went
//! (`RUST_LOG=tile_server::review=info`; `scripts/bench-review.sh` keeps these lines).

use std::time::{Duration, Instant};

/// A stopwatch with named laps.
#[derive(Debug)]
pub struct Phases {
    what: String,
    start: Instant,
    last: Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Phases {
    /// Starts timing `what` (e.g. `check 330106/12 v1`).
    pub fn start(what: impl Into<String>) -> Self {
        let now = Instant::now();
        Self { what: what.into(), start: now, last: now, laps: Vec::new() }
    }

    /// Ends the lap `name` (the time since the previous lap).
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }

    /// The laps so far, `name 12.3 ms` joined, with the total first.
    pub fn summary(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut s = format!("{}: {:.1} ms", self.what, ms(self.last - self.start));
        for (name, d) in &self.laps {
            s.push_str(&format!("; {name} {:.1} ms", ms(*d)));
        }
        s
    }

    /// Logs [`Phases::summary`].
    pub fn log(&self) {
        tracing::info!(target: "tile_server::review", "{}", self.summary());
    }
}

#[cfg(test)]
mod tests {
    use super::Phases;

    #[test]
    fn the_summary_names_every_lap_in_order() {
        let mut p = Phases::start("check 1");
        p.lap("unpack");
        p.lap("qc");
        let s = p.summary();
        assert!(s.starts_with("check 1: "), "{s}");
        let (u, q) = (s.find("; unpack "), s.find("; qc "));
        assert!(u.is_some() && q.is_some(), "{s}");
        assert!(u < q, "{s}");
    }
}
