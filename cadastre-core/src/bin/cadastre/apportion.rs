//! `cadastre apportion FILE.json [--json OUT] [--html OUT]`.
//!
//! Exit codes: 0 done, 1 invalid input (the error names the ids), 2 the file
//! could not be read or an output could not be written.

use cadastre_core::apportion::{Apportion, ApportionInput, RenderHtml};
use std::path::PathBuf;
use std::process::ExitCode;

/// Apportion shared building area among households (共有面积分摊).
#[derive(clap::Args)]
#[command(after_help = "Exit codes: 0 ok, 1 invalid input, 2 unreadable file or unwritable output.\n\
Input format: see docs/apportionment.md.")]
pub struct Args {
    /// Apportionment input (JSON: building, zones, units, shared).
    pub file: PathBuf,
    /// Write the full result as JSON to this file ("-" for standard output).
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write the 房屋面积分摊计算表 as a printable, self-contained HTML file.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            eprintln!("error: {} is not UTF-8 text", args.file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let result = ApportionInput::from_json(text.trim_start_matches('\u{feff}')).and_then(|input| input.apportion());
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let write = |path: &PathBuf, content: &str| -> bool {
        let res = if path.as_os_str() == "-" {
            use std::io::Write;
            std::io::stdout().write_all(content.as_bytes())
        } else {
            std::fs::write(path, content)
        };
        match res {
            Ok(()) => true,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                false
            }
        }
    };
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&result)?;
        if !write(path, &(json + "\n")) {
            return Ok(ExitCode::from(2));
        }
    } else {
        print!("{}", result.summary());
    }
    if let Some(path) = &args.html {
        if !write(path, &result.to_html()) {
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}
