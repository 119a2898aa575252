//! `cadastre check`: run the quality checks on a submission and write JSON/HTML reports.
//! Exit status: 0 pass, 1 fail, 2 unreadable input (or unusable rules file / output).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use cadastre_core::io::{load_submission, LoadOptions};
use cadastre_core::qc::{self, report, QcConfig, Verdict, DEFAULT_RULES_TOML};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(clap::Args)]
#[command(after_help = "Exit status: 0 = pass, 1 = fail, 2 = unreadable input.\n\
Example: cadastre check survey/ --json report.json --html report.html")]
pub struct Args {
    /// Folder with ZD / ZRZ / DJZQ (/ DJQ) shapefiles, or a GeoPackage.
    #[arg(required_unless_present = "print_default_rules")]
    path: Option<PathBuf>,
    /// Rules file (TOML) overriding the defaults; see --print-default-rules.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report (map + table) to this file.
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
    /// DBF text encoding when the .cpg is missing or wrong (gbk, utf-8, latin1, ...).
    #[arg(long, value_name = "ENC")]
    encoding: Option<String>,
    /// Write a repaired copy (duplicate vertices dropped, near-miss vertices snapped, gaps up
    /// to parcel.gap close_max_area merged into a neighbour) as shapefiles to this folder,
    /// with the list of changes in repair-diff.json.
    #[arg(long, value_name = "OUT_DIR")]
    repair: Option<PathBuf>,
    /// Print the documented default rules file and exit.
    #[arg(long)]
    print_default_rules: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.print_default_rules {
        print!("{DEFAULT_RULES_TOML}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(path) = args.path else { anyhow::bail!("PATH is required") };
    let config = match &args.rules {
        Some(file) => {
            let text =
                std::fs::read_to_string(file).with_context(|| format!("reading rules file {}", file.display()))?;
            QcConfig::from_toml(&text).with_context(|| format!("rules file {}", file.display()))?
        }
        None => QcConfig::default(),
    };
    let mut options = LoadOptions::default();
    if let Some(enc) = &args.encoding {
        options = options.with_encoding_name(enc)?;
    }
    // Only what the rules read, unless the repaired copy must carry every attribute (the HTML
    // report draws geometry only).
    if args.repair.is_none() {
        options.only_attributes = Some(config.attributes_read());
    }

    let bar = ProgressBar::with_draw_target(Some(qc::ALL_RULE_IDS.len() as u64 + 1), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar.set_message(format!("读取 loading {}", path.display()));
    let timing = Timing::from_env();
    let submission = load_submission(&path, &options).with_context(|| format!("cannot read {}", path.display()))?;
    timing.mark("load");
    bar.inc(1);
    bar.set_message(format!("质检 checking {} parcels", submission.parcels.len()));
    let finished = AtomicUsize::new(0);
    let report = qc::check_with_progress(&submission, &config, &|id| {
        finished.fetch_add(1, Ordering::Relaxed);
        timing.mark(id);
        bar.inc(1);
        bar.set_message(format!("done {id}"));
    });
    bar.finish_and_clear();
    timing.mark("check");

    if let Some(out) = &args.json {
        std::fs::write(out, report::to_json(&report)).with_context(|| format!("writing {}", out.display()))?;
        timing.mark("json");
    }
    if let Some(out) = &args.html {
        std::fs::write(out, report::to_html(&report, &submission))
            .with_context(|| format!("writing {}", out.display()))?;
        timing.mark("html");
    }
    if let Some(dir) = &args.repair {
        let (fixed, changes) = qc::repair::repair(&submission, &config);
        cadastre_core::io::write_shapefiles(&fixed, dir, cadastre_core::io::TextEncoding::Gbk)
            .with_context(|| format!("writing repaired shapefiles to {}", dir.display()))?;
        let diff = dir.join("repair-diff.json");
        std::fs::write(&diff, serde_json::to_string_pretty(&changes).unwrap_or_default())
            .with_context(|| format!("writing {}", diff.display()))?;
        eprintln!("repair: {} change(s) written to {} (see {})", changes.len(), dir.display(), diff.display());
    }
    let verdict = match report.verdict {
        Verdict::Pass => "通过 pass",
        Verdict::Fail => "不通过 fail",
    };
    println!(
        "{} parcels, {} buildings: {} findings, score {:.2}, {verdict}",
        submission.parcels.len(),
        submission.buildings.len(),
        report.findings.len(),
        report.score
    );
    for (rule, n) in report.counts.iter().filter(|(_, n)| **n > 0) {
        println!("  {rule:<28} {n}");
    }
    // Problems with the files themselves are few and easy to miss in a report: shown here.
    let input: Vec<&qc::Finding> = report.findings.iter().filter(|f| f.rule == qc::INPUT_LOAD).collect();
    for f in input.iter().take(10) {
        println!("  [{}] {} / {}", f.severity.as_str(), f.message_zh, f.message_en);
    }
    if input.len() > 10 {
        println!("  … {} more input.load findings in the report", input.len() - 10);
    }
    let code = match report.verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(1),
    };
    // Freeing millions of small allocations one by one takes seconds at a county's size and
    // the process ends right after: let the OS reclaim the memory instead.
    std::mem::forget(submission);
    std::mem::forget(report);
    timing.mark("summary");
    Ok(code)
}

/// Phase timings on stderr when `CADASTRE_TIMING` is set (for benchmarks).
struct Timing(Option<std::time::Instant>);

impl Timing {
    fn from_env() -> Self {
        Self(std::env::var_os("CADASTRE_TIMING").map(|_| std::time::Instant::now()))
    }

    fn mark(&self, phase: &str) {
        if let Some(start) = self.0 {
            // Resident memory too: at a county's size, every fresh page costs system time.
            let rss = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l[6..].trim().to_owned()))
                .unwrap_or_default();
            // CPU so far too (user, system; clock ticks of 10 ms): on a shared machine the
            // wall clock says little, and system time is where fresh memory shows.
            let cpu = std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|s| {
                    // Fields after the parenthesised command name; utime and stime are 14th and 15th.
                    let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
                    Some(format!(", CPU user {} sys {} cs", rest.get(11)?, rest.get(12)?))
                })
                .unwrap_or_default();
            eprintln!("timing: {phase:<8} done at {:>8.3} s, RSS {rss}{cpu}", start.elapsed().as_secs_f64());
        }
    }
}
