//! `unit-code`: explain, validate and derive 不动产单元代码 from the command line.
//! Thin: parsing, validation and input handling live in the library.

#[cfg(feature = "postgres")]
mod db;

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use unit_code::input::{csv_column, decode, lines, Encoding};
use unit_code::validate::{validate_any, validate_as, Issue, Options};
use unit_code::{CodeForm, ParcelCode, UnitCode};

const EXAMPLES: &str = "\
Examples:
  unit-code explain 411702600021GB00001F00070027
  unit-code explain --json 340824104207JA00024
  unit-code validate codes.txt > report.jsonl
  cat codes.txt | unit-code validate -
  unit-code validate --column BDCDYH --encoding gbk units.csv
  unit-code validate --lenient legacy.txt      # H00000000 sea-area units as warnings
  unit-code land-unit 411702600021GB00001F00070027
  unit-code db migrate                                  # registry tables (DATABASE_URL)
  unit-code db allocate household --building 330106001001GB00001F0001 --count 24
  unit-code db register --column BDCDYH units.csv       # import issued codes
  unit-code db show 330106001001GB00001                 # status and lineage

Exit status: 0 all codes valid (warnings allowed), 1 some code invalid,
2 input unreadable (missing file, bad encoding, missing CSV column).";

/// Real-estate unit codes (不动产单元代码, GB/T 37346-2019): explain, validate, derive.
#[derive(Parser, Debug)]
#[command(name = "unit-code", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Take a code apart: each segment with positions, value and meaning (中文 / English).
    Explain {
        /// A code of 6, 9, 12, 19, 24 or 28 characters.
        code: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate codes, one JSON object per line on stdout, a summary on stderr.
    ///
    /// Each output line is {"code","valid","errors":[…],"warnings":[…]}; every
    /// issue is {"id","position","message_zh","message_en"}.
    Validate {
        /// File with one code per line, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Read the codes from this column of a CSV file with a header row.
        #[arg(long, value_name = "NAME")]
        column: Option<String>,
        /// Treat the legacy fixture part H00000000 as a warning, not an error.
        #[arg(long)]
        lenient: bool,
        /// Which code form to expect; `auto` picks it by length.
        #[arg(long, value_enum, default_value_t = FormArg::Unit)]
        form: FormArg,
        /// Text encoding of the input.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
    },
    /// Print the land-only unit (first 19 characters + W00000000) of a unit or parcel code.
    LandUnit {
        /// A 28-character unit code or a 19-character parcel code.
        code: String,
    },
    /// The code registry in PostgreSQL: allocate, register, retire, show lineage.
    #[cfg(feature = "postgres")]
    Db(db::DbArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormArg {
    /// 28-character unit code (BDCDYH).
    Unit,
    /// 19-character parcel code (ZDDM).
    Parcel,
    /// 24-character building code (ZRZH).
    Building,
    /// By length.
    Auto,
}

/// A failure and the exit status it maps to.
pub(crate) struct Failure {
    status: u8,
    error: anyhow::Error,
}

pub(crate) fn fail(status: u8) -> impl FnOnce(anyhow::Error) -> Failure {
    move |error| Failure { status, error }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Explain { code, json } => explain(&code, json),
        Command::Validate { file, column, lenient, form, encoding } => {
            validate(&file, column.as_deref(), Options { lenient_legacy: lenient }, form, encoding)
        }
        Command::LandUnit { code } => land_unit(&code),
        #[cfg(feature = "postgres")]
        Command::Db(args) => db::run(args),
    };
    match result {
        Ok(code) => code,
        Err(Failure { status, error }) => {
            eprintln!("error: {error:#}");
            ExitCode::from(status)
        }
    }
}

fn explain(code: &str, json: bool) -> Result<ExitCode, Failure> {
    let e = unit_code::explain::explain(code.trim()).map_err(|e| fail(1)(e.into()))?;
    let text =
        if json { serde_json::to_string_pretty(&e).map_err(|e| fail(1)(e.into()))? + "\n" } else { e.to_string() };
    io::stdout().write_all(text.as_bytes()).map_err(|e| fail(1)(e.into()))?;
    Ok(ExitCode::SUCCESS)
}

fn land_unit(code: &str) -> Result<ExitCode, Failure> {
    let code = code.trim();
    let parcel = match code.chars().count() {
        19 => code.parse::<ParcelCode>(),
        _ => code.parse::<UnitCode>().map(|u| u.parcel()),
    }
    .map_err(|e| fail(1)(e.into()))?;
    writeln!(io::stdout(), "{}", UnitCode::land_only(parcel)).map_err(|e| fail(1)(e.into()))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn read_input(file: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file == "-" {
        io::stdin().lock().read_to_end(&mut bytes).context("cannot read stdin")?;
    } else {
        let path = PathBuf::from(file);
        bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

/// One output line.
#[derive(serde::Serialize)]
struct Line<'a> {
    code: &'a str,
    valid: bool,
    errors: &'a [Issue],
    warnings: &'a [Issue],
}

fn validate(
    file: &str,
    column: Option<&str>,
    options: Options,
    form: FormArg,
    encoding: Encoding,
) -> Result<ExitCode, Failure> {
    // Read and decode everything first: unreadable input gives exit 2 and no
    // partial output.
    let bytes = read_input(file).map_err(fail(2))?;
    let text = decode(&bytes, encoding).map_err(|e| fail(2)(e.into()))?;
    let codes: Vec<String> = match column {
        Some(name) => csv_column(&text, name).map_err(|e| fail(2)(e.into()))?.into_iter().map(|(_, c)| c).collect(),
        None => lines(&text).map(|(_, c)| c.to_owned()).collect(),
    };

    let progress =
        indicatif::ProgressBar::with_draw_target(Some(codes.len() as u64), indicatif::ProgressDrawTarget::stderr());
    // Only worth drawing for big inputs; indicatif hides itself off-terminal.
    if codes.len() < 100_000 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let (mut invalid, mut warned) = (0usize, 0usize);
    for (i, code) in codes.iter().enumerate() {
        let report = match form {
            FormArg::Unit => validate_as(code, CodeForm::Unit, &options),
            FormArg::Parcel => validate_as(code, CodeForm::Parcel, &options),
            FormArg::Building => validate_as(code, CodeForm::Building, &options),
            FormArg::Auto => validate_any(code, &options),
        };
        invalid += usize::from(!report.is_valid());
        warned += usize::from(report.is_valid() && !report.warnings.is_empty());
        let line = Line { code, valid: report.is_valid(), errors: &report.errors, warnings: &report.warnings };
        serde_json::to_writer(&mut out, &line).map_err(|e| fail(1)(e.into()))?;
        out.write_all(b"\n").map_err(|e| fail(1)(e.into()))?;
        if i % 4096 == 0 {
            progress.set_position(i as u64);
        }
    }
    out.flush().map_err(|e| fail(1)(e.into()))?;
    progress.finish_and_clear();
    eprintln!("{} codes: {} valid ({} with warnings), {} invalid", codes.len(), codes.len() - invalid, warned, invalid);
    Ok(if invalid > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
