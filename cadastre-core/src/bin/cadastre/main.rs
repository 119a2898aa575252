//! `cadastre`: quality checks (质检), area apportionment (面积分摊) and printed maps
//! (宗地图, 分户图) from the command line.

mod apportion;
mod check;
mod package;
mod print;

use clap::{Parser, Subcommand};

// A county is millions of features, each with a few small Vecs and Strings: glibc's malloc
// spent seconds of user and system time on them (arena locking, trimming, page faults).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cadastre",
    version,
    about = "Cadastral survey toolkit: quality checks, apportionment, result packages and printed maps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a survey submission (folder of ZD/ZRZ/DJZQ shapefiles, or a GeoPackage).
    Check(check::Args),
    /// Apportion shared building area among households (共有面积分摊).
    Apportion(apportion::Args),
    /// Print a parcel map (宗地图) or a household plan (分户图) as PDF.
    Print(print::Args),
    /// Build or verify a result package (成果包).
    Package(package::Args),
}

/// Run this program again with mimalloc told not to use transparent huge pages (it then also
/// turns them off for the process), unless the variable is set already (then as the user said).
///
/// At a county's size the model is two GB of fresh memory. With huge pages, the kernel zeroes
/// (and first compacts memory for) 2 MiB at a time, and on this kind of VM that cost 5-6 s of
/// system time for a 1M-parcel check; with 4 KiB pages it was 2-2.4 s, for ~1 s more user time
/// (TLB misses): about 15 % less CPU in all (BENCHMARKS.md). `exec` only returns on failure, and
/// then the check simply runs here.
fn without_huge_pages() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MIMALLOC_ALLOW_THP";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut args = std::env::args_os();
    let name = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let _failed = std::process::Command::new(&exe).arg0(name).args(args).env(VAR, "0").exec();
}

fn main() -> std::process::ExitCode {
    without_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Apportion(args) => apportion::run(args),
        Command::Print(args) => print::run(args),
        Command::Package(args) => package::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
