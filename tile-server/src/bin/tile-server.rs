//! `tile-server`: config → pool → migrate → app → serve, plus account set-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tile_server::auth::{accounts, Role};
use tile_server::config::{FileConfig, Settings, PII_KEY_ENV};
use tile_server::crypto::PiiCipher;
use tile_server::db;
use tile_server::import;
use tile_server::import::bar as progress;
use tile_server::serve::{serve, ServeOptions};
use tile_server::{app, AppState};

// An import builds millions of small Strings and Vecs on two threads: glibc's malloc
// took a quarter of the importer's CPU (measured with perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "tile-server", version, about = "Internal-zone cadastral server: PostGIS store and unit-table API")]
struct Cli {
    /// TOML config file (every key optional; see the crate docs for defaults).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// PostgreSQL URL; overrides the config file and DATABASE_URL.
    #[arg(long, global = true)]
    db: Option<String>,
    /// Who runs this command, for the audit log (required by import and the
    /// account commands: `import:<name>` / `cli:<name>`).
    #[arg(long, global = true, env = "CADASTRE_ACTOR")]
    actor: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the API.
    Serve {
        /// Listen address (overrides the config file). [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Do not migrate or configure the store (when running as the application
        /// role, which may not; run `tile-server migrate` as the owner first).
        #[arg(long)]
        no_migrate: bool,
        /// Serve even when connected as a superuser or the owner of the audit log
        /// (who can switch its protection off). For development only.
        #[arg(long)]
        allow_owner: bool,
    },
    /// Apply migrations only.
    Migrate,
    /// Create a user account (password read from TILE_SERVER_PASSWORD).
    AddUser {
        /// Login name.
        username: String,
        /// surveyor, reviewer, importer or admin.
        #[arg(long)]
        role: String,
        /// Counties in scope (6-digit codes, comma-separated); the first is home.
        #[arg(long, value_delimiter = ',', required = true)]
        counties: Vec<String>,
    },
    /// Import shapefiles / a GeoPackage into the store (validated, versioned, idempotent).
    ///
    /// Exit status: 0 all features loaded, 1 some rejected (see the report), 2 the
    /// input could not be read or the database failed (committed batches stay; rerun).
    #[command(after_help = "PATH is a folder with ZD/ZRZ/DJZQ/DJQ shapefiles, a single .shp (parcels) or a .gpkg.\n\
        Rejected features and warnings go to the --rejects CSV (UTF-8 with BOM, opens in Excel).")]
    Import(ImportArgs),
    /// Change a user's role (their sessions end).
    SetRole {
        /// Login name.
        username: String,
        /// surveyor, reviewer, importer or admin.
        #[arg(long)]
        role: String,
    },
    /// Disable a user (their sessions end).
    DisableUser {
        /// Login name.
        username: String,
    },
    /// Enable a disabled user.
    EnableUser {
        /// Login name.
        username: String,
    },
    /// Expire a user's password: the next login must change it (POST /api/auth/password).
    ExpirePassword {
        /// Login name.
        username: String,
    },
    /// Create a registration-system API client (secret read from TILE_SERVER_PASSWORD).
    AddClient {
        /// Client id.
        client_id: String,
        /// Counties in scope (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        counties: Vec<String>,
        /// Requests per minute.
        #[arg(long)]
        rate_limit: Option<u32>,
        /// Allowed CIDR blocks (comma-separated); none = any address.
        #[arg(long, value_delimiter = ',')]
        allow_ip: Vec<String>,
    },
}

/// Arguments of `tile-server import`.
#[derive(clap::Args)]
struct ImportArgs {
    /// Folder, .shp or .gpkg.
    path: PathBuf,
    /// Reject report (CSV). [default: <PATH name>.rejects.csv in the current folder]
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// DBF text encoding (GBK, UTF-8, ...). [default: the .cpg, else detected]
    #[arg(long)]
    encoding: Option<String>,
    /// Rows per transaction. [default: 65536]
    #[arg(long, default_value_t = import::DEFAULT_BATCH, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    batch: usize,
    /// Only load this county (6 digits); other counties' codes are rejected. [default: the first code's]
    #[arg(long)]
    county: Option<String>,
    /// SRID of layers that have no .prj (otherwise they are refused).
    #[arg(long)]
    assume_srid: Option<u32>,
    /// Connections writing batches in parallel. [default: 3]
    #[arg(long, default_value_t = import::DEFAULT_WRITERS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16))]
    writers: usize,
    /// A county's first import of at least this many parcels loads them into the county's
    /// own partition and builds its indexes once, at the end (much faster; the county is
    /// closed to other writes meanwhile). [default: 100000]
    #[arg(long, default_value_t = import::bulk::DEFAULT_BULK_MIN)]
    bulk_min: u64,
    /// Never bulk load: every batch goes through the ordinary versioned upsert.
    #[arg(long, conflicts_with = "bulk_min")]
    no_bulk: bool,
    /// Do not derive the boundary points (界址点) of the imported parcels afterwards
    /// (a later import without this flag derives what is missing).
    #[arg(long)]
    no_boundary_points: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

fn secret_from_env() -> anyhow::Result<String> {
    match std::env::var("TILE_SERVER_PASSWORD") {
        Ok(s) => Ok(s),
        Err(_) => bail!("set TILE_SERVER_PASSWORD to the password or secret (kept out of shell history and ps)"),
    }
}

/// The operator named by `--actor` / `CADASTRE_ACTOR`, checked.
fn operator(actor: Option<&str>) -> anyhow::Result<String> {
    let Some(name) = actor.map(str::trim).filter(|a| !a.is_empty()) else {
        bail!("name who runs this for the audit log: --actor NAME or CADASTRE_ACTOR=NAME (e.g. your staff id)")
    };
    if name.chars().count() > 64 || name.chars().any(|c| c.is_control() || c == ':') {
        bail!("--actor must be 1..=64 characters without ':' or control characters");
    }
    Ok(name.to_owned())
}

/// Refuses to serve as a role that can switch off the audit log's protection.
async fn check_serving_role(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let (user, superuser, owner): (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'audit'::regclass), 'MEMBER')",
    )
    .fetch_one(pool)
    .await
    .context("checking the database role")?;
    if superuser || owner {
        bail!(
            "serving as {user}, a {} : it could switch off the audit log's protection. Serve as the application \
             role (cadastre_app, see docs/deploy.md) with --no-migrate, or pass --allow-owner (development only)",
            if superuser { "superuser" } else { "member of the audit table's owner" }
        );
    }
    Ok(())
}

fn load_cipher(cfg: &FileConfig) -> anyhow::Result<PiiCipher> {
    match (&cfg.pii_key_file, std::env::var(PII_KEY_ENV)) {
        (Some(path), _) => PiiCipher::from_file(path).with_context(|| format!("PII key file {}", path.display())),
        (None, Ok(text)) => PiiCipher::from_base64(&text).with_context(|| PII_KEY_ENV.to_string()),
        (None, Err(_)) => bail!(
            "no PII key: set pii_key_file in the config or {PII_KEY_ENV} (32 bytes, base64; e.g. `head -c32 /dev/urandom | base64`)"
        ),
    }
}

/// Prints what became of each building table; 1 when anything was not stored.
fn print_tables(tables: &[import::tables::TableOutcome]) -> i32 {
    if tables.is_empty() {
        return 0;
    }
    println!("building tables (楼盘表):");
    for t in tables {
        let name = t.file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match &t.written {
            Ok(w) => println!(
                "  {name}: {} inserted, {} updated, {} unchanged households",
                w.inserted, w.updated, w.unchanged
            ),
            Err(e) => println!("  {name}: NOT STORED: {e}"),
        }
        for (line, hh, reason) in &t.skipped {
            println!("    line {line} HH {}: {reason}", hh.as_deref().unwrap_or("-"));
        }
    }
    i32::from(tables.iter().any(import::tables::TableOutcome::has_rejects))
}

/// Ctrl-C or SIGTERM (what service managers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let importing = matches!(cli.command, Command::Import(_));
    // An import's batch statements are slow by design (tens of thousands of rows each):
    // sqlx's slow-statement warnings would only drown the progress bar.
    let default_filter = if importing {
        "info,sqlx::query=error,sqlx::postgres::notice=warn"
    } else {
        "info,tower_http=info,sqlx::postgres::notice=warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // The import documents 2 for unreadable input and database errors.
            ExitCode::from(if importing { 2 } else { 1 })
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = match &cli.config {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    file.warn_unrecognized_keys();
    let settings = file.resolve()?;
    let pool = connect(cli.db.as_deref(), &file, &settings, application_name(&cli.command)).await?;
    prepare_store(&pool, &cli.command, &settings).await?;
    let actor = cli.actor.as_deref();
    match cli.command {
        Command::Migrate => println!("migrations applied; store SRID {}", settings.store_srid),
        Command::Import(args) => return import_command(&pool, args, actor).await,
        Command::Serve { listen, .. } => serve_command(pool, settings, &file, listen).await?,
        account => account_command(&pool, account, actor).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// What the connections of `command` call themselves in `pg_stat_activity`, so that an
/// operator (or a test) can tell an import's sessions from the server's.
fn application_name(command: &Command) -> &'static str {
    match command {
        Command::Serve { .. } => "tile-server",
        Command::Import(_) => "tile-server import",
        Command::Migrate => "tile-server migrate",
        _ => "tile-server admin",
    }
}

/// The pool, from `--db`, DATABASE_URL or the config file, in that order.
async fn connect(
    db: Option<&str>,
    file: &FileConfig,
    settings: &Settings,
    application_name: &str,
) -> anyhow::Result<sqlx::PgPool> {
    let url = db
        .map(str::to_owned)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .or_else(|| file.database_url.clone())
        .context("no database: pass --db, set DATABASE_URL, or database_url in the config")?;
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .context("reading the database URL (not shown: it may hold a password)")?
        .application_name(application_name);
    tile_server::db::pool_options()
        .max_connections(settings.max_connections)
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL (URL not shown: it may hold a password)")
}

/// Migrates and configures the store, or (serving as the application role) only checks it.
async fn prepare_store(pool: &sqlx::PgPool, command: &Command, settings: &Settings) -> anyhow::Result<()> {
    if let Command::Serve { allow_owner: false, .. } = command {
        check_serving_role(pool).await?;
    }
    if matches!(command, Command::Serve { no_migrate: true, .. }) {
        db::check_store_srid(pool, settings.store_srid).await.context("checking the store")?;
    } else {
        db::migrate(pool).await.context("applying migrations")?;
        db::configure_store(pool, settings.store_srid).await.context("configuring the store")?;
    }
    Ok(())
}

/// The account commands, audited as `cli:<operator>`.
async fn account_command(pool: &sqlx::PgPool, command: Command, actor: Option<&str>) -> anyhow::Result<()> {
    let actor = format!("cli:{}", operator(actor)?);
    let role_of = |role: &str| Role::from_db(role).context("role must be surveyor, reviewer, importer or admin");
    match command {
        Command::AddUser { username, role, counties } => {
            let role = role_of(&role)?;
            let password = secret_from_env()?;
            let counties: Vec<&str> = counties.iter().map(String::as_str).collect();
            let user = accounts::NewUser { username: &username, password: &password, role, counties: &counties };
            let id = accounts::create_user_by(pool, &user, &actor).await?;
            println!("user {username} created (id {id})");
        }
        Command::SetRole { username, role } => {
            let role = role_of(&role)?;
            accounts::set_role(pool, &username, role, &actor).await?;
            println!("user {username} is now {}; their sessions ended", role.as_str());
        }
        Command::DisableUser { username } => {
            accounts::set_disabled(pool, &username, true, &actor).await?;
            println!("user {username} disabled; their sessions ended");
        }
        Command::EnableUser { username } => {
            accounts::set_disabled(pool, &username, false, &actor).await?;
            println!("user {username} enabled");
        }
        Command::ExpirePassword { username } => {
            accounts::expire_password(pool, &username, &actor).await?;
            println!("the password of {username} expired: it must be changed at the next login");
        }
        Command::AddClient { client_id, counties, rate_limit, allow_ip } => {
            let secret = secret_from_env()?;
            let counties: Vec<&str> = counties.iter().map(String::as_str).collect();
            let ips: Vec<&str> = allow_ip.iter().map(String::as_str).collect();
            let client = accounts::NewClient {
                client_id: &client_id,
                secret: &secret,
                counties: &counties,
                rate_limit_per_minute: rate_limit,
                allowed_ips: &ips,
            };
            accounts::create_client_by(pool, &client, &actor).await?;
            println!("client {client_id} created");
        }
        Command::Serve { .. } | Command::Migrate | Command::Import(_) => {}
    }
    Ok(())
}

/// `tile-server import`: the layers, then the building tables of a folder, then the
/// boundary points of the county; the exit status says whether anything was rejected.
async fn import_command(pool: &sqlx::PgPool, args: ImportArgs, actor: Option<&str>) -> anyhow::Result<ExitCode> {
    let encoding = args
        .encoding
        .map(|name| {
            cadastre_core::io::encoding_from_name(&name)
                .with_context(|| format!("unknown encoding {name:?} (try GBK, UTF-8, latin1)"))
        })
        .transpose()?;
    let rejects = args.rejects.unwrap_or_else(|| {
        let name = args
            .path
            .file_stem()
            .or_else(|| args.path.file_name())
            .map_or_else(|| "import".to_owned(), |n| n.to_string_lossy().into_owned());
        PathBuf::from(format!("{name}.rejects.csv"))
    });
    let opts = import::ImportOptions {
        path: args.path,
        encoding,
        batch: args.batch,
        county: args.county,
        assume_srid: args.assume_srid,
        actor: format!("import:{}", operator(actor)?),
        rejects: Some(rejects.clone()),
        writers: args.writers,
        bulk_min: if args.no_bulk { u64::MAX } else { args.bulk_min },
        chunk_records: None,
    };
    let bar = progress::Bar::new(args.quiet);
    let summary =
        import::import(pool, &opts, &bar).await.with_context(|| format!("importing {}", opts.path.display()))?;
    bar.clear();
    print!("{}", progress::summary_table(&summary));
    println!("report: {}", rejects.display());
    let mut exit = summary.exit_code();
    if opts.path.is_dir() {
        let tables = import::tables::import_tables(pool, &opts.path, &opts.actor).await;
        exit = exit.max(print_tables(&tables));
    }
    if let (false, Some(county)) = (args.no_boundary_points, &summary.county) {
        let (parcels, points) = derive_boundary_points(pool, county, args.quiet).await?;
        println!("boundary points (界址点): {points} points of {parcels} parcels derived");
    }
    Ok(ExitCode::from(u8::try_from(exit).unwrap_or(1)))
}

/// `tile-server serve`: the review workers, then the API until a shutdown signal.
async fn serve_command(
    pool: sqlx::PgPool,
    mut settings: Settings,
    file: &FileConfig,
    listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    if let Some(l) = listen {
        settings.listen = l;
    }
    let cipher = load_cipher(file)?;
    if let Some(dir) = &settings.tile_cache_dir {
        tile_server::tile_cache::disk::check_dir(dir)
            .with_context(|| format!("tile_cache_dir {} is not a writable directory", dir.display()))?;
    }
    let addr = settings.listen;
    // Background checks of submissions (the queue lives in the database, so jobs
    // left by a previous run are taken up here).
    for _ in 0..settings.review_workers {
        tile_server::review::worker::spawn(&pool, tile_server::review::limits(&settings))
            .context("starting a review worker thread")?;
    }
    let options = ServeOptions::from_settings(&settings)?;
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    let router = app(AppState::new(pool, settings, cipher));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    tracing::info!(addr = %bound, scheme, "listening");
    serve(listener, router, options, shutdown_signal()).await.context("serving")
}

/// The boundary points of the county's parcels that lack current ones, with a spinner.
async fn derive_boundary_points(pool: &sqlx::PgPool, county: &str, quiet: bool) -> anyhow::Result<(u64, u64)> {
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new_spinner() };
    if let Ok(style) = indicatif::ProgressStyle::with_template("  JZD {spinner} {human_pos} parcels {per_sec}") {
        bar.set_style(style);
    }
    let mut conn = pool.acquire().await.context("connecting for the boundary points")?;
    let done = tile_server::db::boundary_points::derive_missing(&mut conn, county, 20_000, |n| bar.set_position(n))
        .await
        .map_err(|e| anyhow::anyhow!("deriving the boundary points of county {county}: {e}"))?;
    bar.finish_and_clear();
    Ok(done)
}
