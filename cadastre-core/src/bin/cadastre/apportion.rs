//! `cadastre apportion FILE.json [--json OUT] [--html OUT] [--pdf OUT] [--xlsx OUT]`.
//!
//! Exit codes: 0 done, 1 invalid input (the error names the ids), 2 the file
//! could not be read or an output could not be written.

use cadastre_core::apportion::{Apportion, ApportionInput, RenderHtml};
use std::path::PathBuf;
use std::process::ExitCode;

/// Apportion shared building area among households (共有面积分摊).
#[derive(clap::Args)]
#[command(after_help = "Exit codes: 0 ok, 1 invalid input, 2 unreadable file or unwritable output.\n\
Input format: see docs/apportionment.md.\n\n\
Example: cadastre apportion samples/district/buildings/330106001001GB00001F0001.apportion.json --pdf ft.pdf --xlsx ft.xlsx")]
pub struct Args {
    /// Apportionment input (JSON: building, zones, units, shared).
    pub file: PathBuf,
    /// Write the full result as JSON to this file ("-" for standard output).
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write the 房屋面积分摊计算表 as a printable, self-contained HTML file.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
    /// Write the 房屋面积分摊计算表 as a vector PDF (A4, embedded Noto Sans CJK).
    #[arg(long, value_name = "OUT")]
    pub pdf: Option<PathBuf>,
    /// Write the 房屋面积分摊计算表 as an XLSX workbook (numbers as numbers).
    #[arg(long, value_name = "OUT")]
    pub xlsx: Option<PathBuf>,
    /// CJK font of the PDF (TTF/OTF/TTC).
    #[arg(long, value_name = "FILE", default_value = cadastre_core::print::DEFAULT_FONT)]
    pub font: PathBuf,
    /// Face index in a font collection (NotoSansCJK-Regular.ttc: 2 = Simplified Chinese).
    #[arg(long, default_value_t = cadastre_core::print::DEFAULT_FACE)]
    pub face: u32,
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
    let write = |path: &PathBuf, content: &[u8]| -> bool {
        let res = if path.as_os_str() == "-" {
            use std::io::Write;
            std::io::stdout().write_all(content)
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
        if !write(path, (json + "\n").as_bytes()) {
            return Ok(ExitCode::from(2));
        }
    } else {
        print!("{}", result.summary());
    }
    if let Some(path) = &args.html {
        if !write(path, result.to_html().as_bytes()) {
            return Ok(ExitCode::from(2));
        }
    }
    if let Some(path) = &args.xlsx {
        let bytes = cadastre_core::apportion::xlsx::to_xlsx(&result)?;
        if !write(path, &bytes) {
            return Ok(ExitCode::from(2));
        }
    }
    if let Some(path) = &args.pdf {
        use cadastre_core::print::{apportionment_pdf, PrintFont, SheetOptions};
        let font = match PrintFont::load(&args.font, args.face) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        };
        let bytes = apportionment_pdf(&result, &font, &SheetOptions::default())?;
        if !write(path, &bytes) {
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}
