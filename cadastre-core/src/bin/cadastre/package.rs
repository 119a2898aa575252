//! `cadastre package`: build and verify result packages (成果包).
//! Exit status: 0 good, 2 refused or unreadable (the message says why).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use cadastre_core::package::{build_from_dir, Limits, Package};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Pack a folder of layers into a result package.
    #[command(after_help = "The manifest's fields come from DIR/manifest.toml when present (county, project,\n\
survey_firm, business_kind 首次/变更/分割/合并/灭失, [[replaces]]); otherwise the county is\n\
derived from the codes and the kind is 首次.\n\
Example: cadastre package build samples/district --out district.zip")]
    Build {
        /// Folder with ZD/ZRZ/DJZQ shapefiles or a GeoPackage, buildings/*.csv, JZD.csv ...
        dir: PathBuf,
        /// The package to write.
        #[arg(long, value_name = "PKG.zip")]
        out: PathBuf,
    },
    /// Check a package: structure, manifest, every digest, size limits.
    #[command(after_help = "Example: cadastre package verify district.zip --county 330106")]
    Verify {
        /// The package.
        package: PathBuf,
        /// Counties the package may belong to (repeat or comma-separate); any when absent.
        #[arg(long, value_delimiter = ',')]
        county: Vec<String>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Build { dir, out } => {
            let tmp = out.with_extension("zip.part");
            let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let manifest = match build_from_dir(&dir, std::io::BufWriter::new(file)) {
                Ok(m) => m,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            };
            std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{}: county {}, {} ({}), {} files",
                out.display(),
                manifest.county,
                manifest.business_kind.name_zh(),
                if manifest.project.is_empty() { "no project name" } else { &manifest.project },
                manifest.files.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { package, county } => {
            let file = std::fs::File::open(&package).with_context(|| format!("opening {}", package.display()))?;
            let mut pkg = Package::open(std::io::BufReader::new(file), &Limits::default())?;
            if !county.is_empty() {
                pkg.check_scope(&county)?;
            }
            pkg.verify()?;
            let m = pkg.manifest();
            println!(
                "{}: good, county {}, {}, {} files",
                package.display(),
                m.county,
                m.business_kind.name_zh(),
                m.files.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
