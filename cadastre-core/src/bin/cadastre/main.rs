//! `cadastre`: quality checks (质检) and area apportionment (面积分摊) from the command line.

mod apportion;
mod check;
mod package;

use clap::{Parser, Subcommand};

// A county is millions of features, each with a few small Vecs and Strings: glibc's malloc
// spent seconds of user and system time on them (arena locking, trimming, page faults).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cadastre",
    version,
    about = "Cadastral survey toolkit: quality checks, apportionment, result packages"
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
    /// Build or verify a result package (成果包).
    Package(package::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Apportion(args) => apportion::run(args),
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
