//! `unit-code db …`: the code registry in PostgreSQL (allocation, import,
//! retirement, lineage). Thin: everything real is in `unit_code::alloc` and
//! `unit_code::lineage`.

use std::io::{self, Write};

use anyhow::Context;
use clap::{Args, Subcommand};
use unit_code::alloc::{register_with_ancestors, Allocator, AnyCode, PgAllocator, Registered};
use unit_code::input::{csv_column, decode, lines, Encoding};
use unit_code::lineage::Lineage;
use unit_code::{BuildingCode, ParcelCode, ParcelFeature, SubdistrictCode};

use crate::{fail, read_input, Failure};

#[derive(Args, Debug)]
pub struct DbArgs {
    /// PostgreSQL connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    db: String,
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Create or update the registry tables (uc_*). Safe to run again.
    Migrate,
    /// Register codes issued elsewhere (imported data), with their parcels and
    /// buildings; numbering continues after them. Codes already current are skipped.
    Register {
        /// File with one 19/24/28-character code per line, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Read the codes from this column of a CSV file with a header row.
        #[arg(long, value_name = "NAME")]
        column: Option<String>,
        /// Text encoding of the input.
        #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
        encoding: Encoding,
    },
    /// Allocate new codes: dense, never reused, safe under concurrent use.
    Allocate {
        #[command(subcommand)]
        what: AllocateWhat,
    },
    /// Retire a code (历史). It is never issued again.
    Retire {
        /// A 19, 24 or 28-character code.
        code: String,
    },
    /// Status of a code and where it came from and went (新旧单元谱系).
    Show {
        /// A 19, 24 or 28-character code.
        code: String,
    },
}

#[derive(Subcommand, Debug)]
enum AllocateWhat {
    /// Next parcel codes (宗地代码) of a sub-district and feature code.
    Parcel {
        /// 12-digit sub-district code (地籍子区), e.g. 330106001001.
        #[arg(long)]
        subdistrict: String,
        /// Two-letter parcel feature code (宗地特征码), e.g. GB.
        #[arg(long, default_value = "GB")]
        feature: String,
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Next natural-building codes (自然幢号) on a parcel.
    Building {
        /// 19-character parcel code.
        #[arg(long)]
        parcel: String,
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Next household unit codes (不动产单元代码) of a building, e.g. a whole building table at once.
    Household {
        /// 24-character building code.
        #[arg(long)]
        building: String,
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
}

pub fn run(args: DbArgs) -> Result<std::process::ExitCode, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(fail(2))?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: DbArgs) -> Result<std::process::ExitCode, Failure> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        // A wrong URL should fail in seconds, not after sqlx's 30 s default.
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&args.db)
        .await
        .context("cannot connect to the database (check --db / DATABASE_URL)")
        .map_err(fail(2))?;
    let alloc = PgAllocator::new(pool.clone());
    let mut out = io::stdout().lock();
    match args.command {
        DbCommand::Migrate => {
            unit_code::alloc::migrate(&pool).await.context("migrating").map_err(fail(2))?;
            eprintln!("registry tables are up to date");
        }
        DbCommand::Register { file, column, encoding } => {
            return register(&alloc, &file, column.as_deref(), encoding).await;
        }
        DbCommand::Allocate { what } => {
            let codes: Vec<String> = match what {
                AllocateWhat::Parcel { subdistrict, feature, count } => {
                    let sub: SubdistrictCode = parse(&subdistrict)?;
                    let feature: ParcelFeature = parse(&feature)?;
                    strings(alloc.next_parcels(sub, feature, count).await)?
                }
                AllocateWhat::Building { parcel, count } => {
                    let parcel: ParcelCode = parse(&parcel)?;
                    strings(alloc.next_buildings(parcel, count).await)?
                }
                AllocateWhat::Household { building, count } => {
                    let building: BuildingCode = parse(&building)?;
                    strings(alloc.next_households(building, count).await)?
                }
            };
            for c in codes {
                writeln!(out, "{c}").map_err(|e| fail(2)(e.into()))?;
            }
        }
        DbCommand::Retire { code } => {
            let code: AnyCode = parse(&code)?;
            alloc.retire(code).await.map_err(|e| fail(1)(e.into()))?;
            eprintln!("{code} retired");
        }
        DbCommand::Show { code } => {
            let code: AnyCode = parse(&code)?;
            let record = alloc.record(code).await.map_err(|e| fail(2)(e.into()))?;
            let Some(record) = record else {
                return Err(fail(1)(anyhow::anyhow!("{code} is not in the registry")));
            };
            let ancestors = alloc.ancestors(code).await.map_err(|e| fail(2)(e.into()))?;
            let descendants = alloc.descendants(code).await.map_err(|e| fail(2)(e.into()))?;
            let json = serde_json::json!({
                "code": code.as_str(),
                "status": record.status,
                "created_at": record.created_at,
                "retired_at": record.retired_at,
                "ancestors": ancestors,
                "descendants": descendants,
            });
            let text = serde_json::to_string_pretty(&json).map_err(|e| fail(2)(e.into()))?;
            writeln!(out, "{text}").map_err(|e| fail(2)(e.into()))?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn register(
    alloc: &PgAllocator,
    file: &str,
    column: Option<&str>,
    encoding: Encoding,
) -> Result<std::process::ExitCode, Failure> {
    let bytes = read_input(file).map_err(fail(2))?;
    let text = decode(&bytes, encoding).map_err(|e| fail(2)(e.into()))?;
    let codes: Vec<(usize, String)> = match column {
        Some(name) => csv_column(&text, name).map_err(|e| fail(2)(e.into()))?,
        None => lines(&text).map(|(n, c)| (n, c.to_owned())).collect(),
    };
    let (mut new, mut known, mut refused) = (0usize, 0usize, 0usize);
    for (line, raw) in codes {
        if raw.trim().is_empty() {
            continue;
        }
        let outcome = match raw.trim().parse::<AnyCode>() {
            Ok(code) => register_with_ancestors(alloc, code).await.map_err(anyhow::Error::from),
            Err(e) => Err(e.into()),
        };
        match outcome {
            Ok(Registered::New) => new += 1,
            Ok(Registered::AlreadyCurrent) => known += 1,
            Err(e) => {
                refused += 1;
                eprintln!("line {line}: {raw}: refused: {e:#}");
            }
        }
    }
    eprintln!("registered {new} new, {known} already current, {refused} refused");
    Ok(if refused == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::from(1) })
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, Failure>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.trim().parse::<T>().map_err(|e| fail(1)(anyhow::Error::new(e).context(format!("{s:?}"))))
}

fn strings<T: ToString>(r: Result<Vec<T>, unit_code::alloc::AllocError>) -> Result<Vec<String>, Failure> {
    r.map(|v| v.iter().map(ToString::to_string).collect()).map_err(|e| fail(1)(e.into()))
}
