//! `share-sync`: signed, chained, coordinate-free packages across the air gap.
//! Exit status: 0 done; 1 something needs the operator (a package held for a gap or
//! quarantined, or a failure while working); 2 unusable arguments (bad URL, key
//! file, missing file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use share_sync::export::{export_units, ExportOptions, ExportOutcome};
use share_sync::keys::{KeyPair, PublicKey, Rotation};
use share_sync::receiver::{self, ReceiverDb};

#[derive(Parser)]
#[command(
    name = "share-sync",
    version,
    about = "Signed, chained, coordinate-free packages across the air gap (离线摆渡 / 单向光闸)",
    after_help = "Examples:
  share-sync keygen --out keys/
  share-sync export --db postgres://localhost/cadastre --key keys/1a2b3c4d5e6f7a8b.key --out outbox/
  share-sync apply --db sqlite://extranet.db --trust keys/1a2b3c4d5e6f7a8b.pub /media/usb/*.tar
  share-sync status --db sqlite://extranet.db --json
  share-sync token --db sqlite://extranet.db --client registration-system
  share-sync serve --db sqlite://extranet.db --listen 0.0.0.0:8443
Exit status: 0 done, 1 held/quarantined/failed (see the message), 2 unusable arguments.
See docs/share-sync.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new signing key (SM2 + Ed25519); prints its key id.
    #[command(after_help = "Examples:
  share-sync keygen --out keys/
  share-sync keygen --out keys/ --rotate-from keys/1a2b3c4d5e6f7a8b.key   # rotation: the old key vouches for the new one
Writes <id>.key (mode 0600) and <id>.pub; with --rotate-from also <id>.rotation,
which `export --key <id>.key` then puts into every package so receivers that trust
the old key accept the new one.")]
    Keygen {
        /// Directory for the key files.
        #[arg(long)]
        out: PathBuf,
        /// The current private key, which signs the hand-over to the new one.
        #[arg(long, value_name = "OLD_PRIVATE_KEY_FILE")]
        rotate_from: Option<PathBuf>,
    },
    /// Write the next package of changes from the internal store (or nothing).
    #[command(after_help = "Examples:
  share-sync export --db postgres://cadastre@localhost/cadastre --key keys/1a2b3c4d5e6f7a8b.key --out outbox/
The first package is a full snapshot; later ones carry what changed since. The
outbox keeps the chain state (.share-sync-state-*.json): keep the directory.")]
    Export {
        /// The internal store (PostgreSQL URL).
        #[arg(long, env = "DATABASE_URL")]
        db: String,
        /// Private key file.
        #[arg(long, value_name = "PRIVATE_KEY_FILE")]
        key: PathBuf,
        /// Outbox directory.
        #[arg(long)]
        out: PathBuf,
        /// Sender id (letters, digits, '_' and '.').
        #[arg(long, default_value = "internal")]
        sender: String,
        /// Public keys this sender used before (to recognise its older packages).
        #[arg(long, value_name = "PUBLIC_KEY_FILE")]
        earlier_key: Vec<PathBuf>,
    },
    /// Verify and apply packages to a receiving database.
    #[command(after_help = "Examples:
  share-sync apply --db sqlite://extranet.db --trust keys/1a2b3c4d5e6f7a8b.pub /media/usb/*.tar
  share-sync apply --db postgres://localhost/cadastre --trust keys/extranet.pub registrations-*.tar
Exit 0: everything given was applied or already there; 1: something was held
(a gap: re-ferry the missing sequence numbers) or quarantined; 2: unusable arguments.")]
    Apply {
        /// Receiving database: sqlite://FILE or postgres://… (the internal store for registration packages).
        #[arg(long)]
        db: String,
        /// Trusted public key files.
        #[arg(long, value_name = "PUBLIC_KEY_FILE", num_args = 1.., required = true)]
        trust: Vec<PathBuf>,
        /// Where held and quarantined copies are kept [default: FILE.inbox beside a SQLite database, else ./share-sync-inbox].
        #[arg(long)]
        inbox: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Package files (files after --trust that are not PEM public keys count as packages too).
        #[arg(value_name = "PACKAGE")]
        packages: Vec<PathBuf>,
    },
    /// Show the last applied sequence, gaps, held and quarantined packages.
    #[command(after_help = "Examples:
  share-sync status --db sqlite://extranet.db
  share-sync status --db sqlite://extranet.db --json")]
    Status {
        /// Receiving database.
        #[arg(long)]
        db: String,
        /// JSON: {\"last_applied\", \"gaps\", \"held\", \"quarantined\": [{\"package\", \"reason\"}], \"streams\"}.
        #[arg(long)]
        json: bool,
    },
    /// Serve the unit-table API from a receiving database (read-only, no coordinates).
    #[command(after_help = "Examples:
  share-sync token --db sqlite://extranet.db --client registration-system
  share-sync serve --db sqlite://extranet.db --listen 0.0.0.0:8443
  share-sync serve --db sqlite://extranet.db --listen 0.0.0.0:8443 --accept-push /srv/pushed --trust keys/1a2b3c4d5e6f7a8b.pub
Paths: GET /api/units/{BDCDYH}, GET /api/buildings/{ZRZH}/table, PUT /api/registrations/{BDCDYH},
GET /api/openapi.json; with --accept-push also POST /api/packages.")]
    Serve {
        /// Receiving database.
        #[arg(long)]
        db: String,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// Accept pushed packages into DIR and apply them like ferried files.
        #[arg(long, value_name = "DIR", requires = "trust")]
        accept_push: Option<PathBuf>,
        /// Trusted public keys for pushed packages.
        #[arg(long, value_name = "PUBLIC_KEY_FILE")]
        trust: Vec<PathBuf>,
        /// Inbox for held and quarantined pushed packages [default: as for apply].
        #[arg(long)]
        inbox: Option<PathBuf>,
    },
    /// Create an API client of `serve` (or give it a new token); prints the token.
    #[command(after_help = "Examples:
  share-sync token --db sqlite://extranet.db --client registration-system --per-minute 600 --may-register")]
    Token {
        /// Receiving database.
        #[arg(long)]
        db: String,
        /// Client id.
        #[arg(long)]
        client: String,
        /// Requests per minute.
        #[arg(long, default_value_t = 600)]
        per_minute: u32,
        /// May record registration results (PUT /api/registrations/{BDCDYH}).
        #[arg(long)]
        may_register: bool,
    },
    /// Write a package of registration results (登簿) from the extranet database (or nothing).
    #[command(after_help = "Examples:
  share-sync export-registration --db sqlite://extranet.db --key keys/9f8e7d6c5b4a3f2e.key --out gate-outbox/
Then on the internal side: share-sync apply --db postgres://…/cadastre --trust keys/9f8e7d6c5b4a3f2e.pub gate-outbox/*.tar")]
    ExportRegistration {
        /// The extranet receiving database.
        #[arg(long)]
        db: String,
        /// Private key file.
        #[arg(long, value_name = "PRIVATE_KEY_FILE")]
        key: PathBuf,
        /// Outbox directory.
        #[arg(long)]
        out: PathBuf,
        /// Sender id.
        #[arg(long, default_value = "extranet")]
        sender: String,
    },
    /// Time the signature part of verifying one package (for scripts/bench-sync.sh).
    #[command(hide = true)]
    SignatureCost,
    /// Send packages to a receiver's push endpoint over a one-way gate; never waits for an answer.
    #[command(after_help = "Examples:
  share-sync push --to http://gate.example:8090/api/packages outbox/internal-units-0000000042.tar")]
    Push {
        /// Receiver URL (http://HOST:PORT/api/packages).
        #[arg(long)]
        to: String,
        /// Package files.
        #[arg(value_name = "PACKAGE", required = true)]
        packages: Vec<PathBuf>,
    },
}

/// An error that means the arguments are unusable (exit 2).
#[derive(Debug)]
struct Unusable(anyhow::Error);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Unusable {}

fn unusable<E: Into<anyhow::Error>>(e: E) -> anyhow::Error {
    anyhow::Error::new(Unusable(e.into()))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("share-sync: {e:#}");
            if e.downcast_ref::<Unusable>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Keygen { out, rotate_from } => keygen(&out, rotate_from.as_deref()),
        Command::Export { db, key, out, sender, earlier_key } => export(&db, &key, &out, &sender, &earlier_key).await,
        Command::Apply { db, trust, inbox, json, packages } => apply(&db, &trust, inbox, json, &packages).await,
        Command::Serve { db, listen, accept_push, trust, inbox } => {
            serve(&db, &listen, accept_push, &trust, inbox).await
        }
        Command::Token { db, client, per_minute, may_register } => {
            let db = ReceiverDb::open(&db).await.map_err(unusable)?;
            let token = share_sync::serve::queries::create_client(&db.pool, &client, per_minute, may_register).await?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::ExportRegistration { db, key, out, sender } => {
            let key_pair = KeyPair::load(&key).map_err(unusable)?;
            let rotation = Rotation::beside(&key).map_err(unusable)?;
            let db = ReceiverDb::open(&db).await.map_err(unusable)?;
            let opts =
                ExportOptions { sender: &sender, key: &key_pair, rotation: rotation.as_ref(), earlier_keys: &[] };
            report_export(share_sync::registrations::export_registrations(&db, &out, &opts).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::SignatureCost => {
            signature_cost();
            Ok(ExitCode::SUCCESS)
        }
        Command::Push { to, packages } => {
            for p in &packages {
                let bytes = share_sync::push::push(&to, p).await.with_context(|| format!("pushing {}", p.display()))?;
                println!("pushed {} ({bytes} bytes)", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { db, json } => {
            let db = ReceiverDb::open(&db).await.map_err(unusable)?;
            let status = receiver::status::status(&db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{status}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn keygen(out: &Path, rotate_from: Option<&Path>) -> anyhow::Result<ExitCode> {
    let old = rotate_from.map(KeyPair::load).transpose().map_err(unusable)?;
    let key = KeyPair::generate();
    let path = key.save(out)?;
    if let Some(old) = &old {
        let rotation = old.certify_successor(key.public());
        let r = rotation.save(out)?;
        eprintln!("rotation from {} written to {}", old.id(), r.display());
    }
    eprintln!("private key {} (mode 0600), public key {}", path.display(), path.with_extension("pub").display());
    println!("{}", key.id());
    Ok(ExitCode::SUCCESS)
}

async fn export(db: &str, key_path: &Path, out: &Path, sender: &str, earlier: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let key = KeyPair::load(key_path).map_err(unusable)?;
    let rotation = Rotation::beside(key_path).map_err(unusable)?;
    let earlier: Vec<PublicKey> =
        earlier.iter().map(|p| PublicKey::load(p)).collect::<Result<_, _>>().map_err(unusable)?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(db)
        .await
        .with_context(|| "connecting to the internal store")
        .map_err(unusable)?;
    let opts = ExportOptions { sender, key: &key, rotation: rotation.as_ref(), earlier_keys: &earlier };
    report_export(export_units(&pool, out, &opts).await?);
    Ok(ExitCode::SUCCESS)
}

fn report_export(outcome: ExportOutcome) {
    match outcome {
        ExportOutcome::Written { path, sequence, rows } => {
            println!("{}", path.display());
            eprintln!("package {sequence}: {rows} rows");
        }
        ExportOutcome::NothingChanged { sequence } => {
            println!("nothing changed since package {sequence}");
        }
    }
}

fn default_inbox(db: &ReceiverDb) -> PathBuf {
    match &db.file {
        Some(file) => PathBuf::from(format!("{}.inbox", file.display())),
        None => PathBuf::from("share-sync-inbox"),
    }
}

async fn serve(
    db: &str,
    listen: &str,
    accept_push: Option<PathBuf>,
    trust: &[PathBuf],
    inbox: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let keys: Vec<PublicKey> = trust.iter().map(|p| PublicKey::load(p)).collect::<Result<_, _>>().map_err(unusable)?;
    let db = ReceiverDb::open(db).await.map_err(unusable)?;
    let inbox = inbox.unwrap_or_else(|| default_inbox(&db));
    let push = accept_push.map(|dir| share_sync::serve::PushIntake { dir, trust: keys, inbox });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))
        .map_err(unusable)?;
    eprintln!("share-sync: serving on http://{}", listener.local_addr()?);
    let app = share_sync::serve::app(share_sync::serve::ServeState::new(db, push));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

async fn apply(
    db: &str,
    trust: &[PathBuf],
    inbox: Option<PathBuf>,
    json: bool,
    packages: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    // `--trust KEY… PACKAGE…` as operators write it: clap gives everything after
    // --trust to it, so files that are not PEM text are the packages.
    let (trust, more): (Vec<PathBuf>, Vec<PathBuf>) = trust.iter().cloned().partition(|p| is_pem(p));
    let packages: Vec<PathBuf> = more.into_iter().chain(packages.iter().cloned()).collect();
    if trust.is_empty() {
        return Err(unusable(anyhow::anyhow!("--trust names no PEM public key file")));
    }
    if packages.is_empty() {
        return Err(unusable(anyhow::anyhow!("no package given")));
    }
    let packages = packages.as_slice();
    if let Some(missing) = packages.iter().find(|p| !p.is_file()) {
        return Err(unusable(anyhow::anyhow!("{}: no such package file", missing.display())));
    }
    let keys: Vec<PublicKey> = trust.iter().map(|p| PublicKey::load(p)).collect::<Result<_, _>>().map_err(unusable)?;
    let db = ReceiverDb::open(db).await.map_err(unusable)?;
    let inbox = inbox.unwrap_or_else(|| default_inbox(&db));
    let report = receiver::apply(&db, &keys, &inbox, packages).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for a in &report.applied {
            println!("applied {} #{}: {} rows ({})", a.sender, a.sequence, a.rows, a.package);
        }
        for d in &report.duplicates {
            println!("duplicate {}: {}", d.package, d.reason);
        }
        for h in &report.held {
            println!("held {}: {}", h.package, h.reason);
        }
        for q in &report.quarantined {
            println!("quarantined {}: {}", q.package, q.reason);
        }
        if !report.gaps.is_empty() {
            let gaps: Vec<String> = report.gaps.iter().map(u64::to_string).collect();
            println!("gap: re-ferry sequence {}", gaps.join(", "));
        }
    }
    Ok(if report.all_applied() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Whether a file starts like PEM text (a public key file), not like a package.
fn is_pem(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 11];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head == *b"-----BEGIN "
}

/// Verifies SM2 + Ed25519 signatures over a manifest-sized message (1.5 KB, five data
/// files with two digests each) many times and prints the cost per package.
fn signature_cost() {
    let key = KeyPair::generate();
    let manifest = vec![b'x'; 1536];
    let sigs = key.sign(&manifest);
    let n: u32 = 2000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        if key.public().verify(&manifest, &sigs).is_err() {
            eprintln!("verification failed");
        }
    }
    let verify = t.elapsed() / n;
    let t = std::time::Instant::now();
    for _ in 0..200 {
        let _ = key.sign(&manifest);
    }
    let sign = t.elapsed() / 200;
    println!("verify SM2 + Ed25519 per package: {} µs", verify.as_micros());
    println!("sign SM2 + Ed25519 per package: {} µs", sign.as_micros());
}
