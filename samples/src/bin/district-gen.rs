//! `district-gen`: writes a synthetic cadastral district (shapefiles ZD, ZRZ,
//! DJZQ, DJQ, building tables, truth.json) with optional injected defects.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cadastre_samples::{write_generated, Config, DefectPlan, Rule, TextEncoding};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// The committed sample district (samples/district): 200 parcels, seed 330106, building tables.
    Sample,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Enc {
    /// GBK (code page 936), what Chinese GIS software expects.
    Gbk,
    /// UTF-8.
    Utf8,
}

/// Generate a synthetic cadastral district (宗地/自然幢/地籍子区/地籍区) with known defects.
#[derive(Debug, Parser)]
#[command(name = "district-gen", version, about)]
struct Args {
    /// Number of parcels (1,000 to 1,000,000 typical).
    #[arg(long, required_unless_present = "preset")]
    parcels: Option<u64>,
    /// Random seed; the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Inject K defects, cycling through every injectable rule.
    #[arg(long, conflicts_with = "defect")]
    defects: Option<u32>,
    /// Inject COUNT defects of RULE, e.g. `--defect parcel.overlap=3` (repeatable).
    #[arg(long, value_name = "RULE=COUNT")]
    defect: Vec<String>,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// EPSG code: CGCS2000 3-degree Gauss-Kruger without zone prefix (4534..4554).
    #[arg(long, default_value_t = 4549)]
    crs: u32,
    /// DBF text encoding.
    #[arg(long, value_enum, default_value_t = Enc::Gbk)]
    encoding: Enc,
    /// Reproduce a named district exactly (other options except --out are ignored).
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Also write building tables (楼盘表) for the featured buildings of the first block.
    #[arg(long)]
    building_tables: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_defect(s: &str) -> Result<(Rule, u32)> {
    let (rule, count) = s.split_once('=').with_context(|| format!("--defect {s:?}: expected RULE=COUNT"))?;
    let rule: Rule = rule.trim().parse()?;
    if !Rule::INJECTABLE.contains(&rule) {
        bail!("--defect {s:?}: {rule} is a check rule the generator cannot inject");
    }
    let count = count.trim().parse().with_context(|| format!("--defect {s:?}: COUNT must be a whole number"))?;
    Ok((rule, count))
}

fn config(args: &Args) -> Result<Config> {
    if let Some(Preset::Sample) = args.preset {
        return Ok(Config::sample());
    }
    let parcels = args.parcels.context("--parcels is required")?;
    let mut c = Config::new(parcels).with_seed(args.seed);
    c.epsg = args.crs;
    c.encoding = match args.encoding {
        Enc::Gbk => TextEncoding::Gbk,
        Enc::Utf8 => TextEncoding::Utf8,
    };
    c.building_tables = args.building_tables;
    c.defects = if let Some(k) = args.defects {
        DefectPlan::Spread(k)
    } else if args.defect.is_empty() {
        DefectPlan::None
    } else {
        DefectPlan::Exact(args.defect.iter().map(|s| parse_defect(s)).collect::<Result<_>>()?)
    };
    c.validate()?;
    Ok(c)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let c = config(&args)?;
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(c.parcels) };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} parcels ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let truth = write_generated(&c, &args.out, &mut |n| bar.set_position(n))
        .with_context(|| format!("generating into {}", args.out.display()))?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {} parcels, {} buildings, {} sub-districts, {} blocks, {} defects to {} in {:.2} s",
        truth.counts.parcels,
        truth.counts.buildings,
        truth.counts.subdistricts,
        truth.counts.blocks,
        truth.defects.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
