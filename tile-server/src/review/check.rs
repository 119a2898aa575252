//! The background check of one version: `cadastre check` with the county's stored QC
//! rules (report JSON and HTML) and the diff against the store, stored together.

use cadastre_core::diff::{diff, HouseholdRecord, TableSide};
use cadastre_core::package::{check_for_package, Limits};
use cadastre_core::qc::{self, QcConfig, Verdict};
use serde_json::Value;
use sqlx::PgPool;

use super::phases::Phases;
use super::unpack::{unpack, Unpacked};
use crate::db::review_store;
use crate::db::submissions::{self, Checked, VersionKey};
use crate::error::{AppError, Result};

/// How a check ended.
#[derive(Debug)]
pub enum Outcome {
    /// Report and diff stored; the version is `ready`.
    Ready(Box<Checked>),
    /// The package cannot be read; the version is `failed` with this reason.
    Failed(String),
}

/// The county's QC rules (table `qc_config`), else the defaults.
pub async fn qc_config(pool: &PgPool, county: &str) -> Result<QcConfig> {
    let text: Option<String> = sqlx::query_scalar("SELECT rules_toml FROM qc_config WHERE county = $1::bpchar")
        .bind(county)
        .fetch_optional(pool)
        .await
        .map_err(AppError::db("reading QC rules"))?;
    match text {
        None => Ok(QcConfig::default()),
        Some(t) => QcConfig::from_toml(&t)
            .map_err(|e| AppError::internal(format!("reading the stored QC rules of {county}"), e)),
    }
}

/// The CPU part: QC report of the package and the package's side of the tables.
/// The same run as the desktop's before packing (`cadastre_core::package::check_for_package`).
fn check_package(u: &Unpacked, config: &QcConfig) -> (qc::Report, String, String) {
    let packed = check_for_package(&u.submission, config);
    (packed.report, packed.json, packed.html)
}

/// Table sides: the package's households against the store's.
pub fn table_sides(u: &Unpacked, store: &[(String, HouseholdRecord)]) -> Vec<TableSide> {
    u.tables
        .iter()
        .map(|t| TableSide {
            zrzh: t.table.zrzh.clone(),
            store: store.iter().filter(|(z, _)| *z == t.table.zrzh).map(|(_, r)| r.clone()).collect(),
            package: t.table.current().map(HouseholdRecord::from_household).collect(),
        })
        .collect()
}

/// Runs the check of one version (blocking work on the blocking pool).
pub async fn run(pool: &PgPool, key: &VersionKey, limits: Limits) -> Result<Outcome> {
    let mut phases = Phases::start(format!("check {}/{} v{}", key.county, key.submission_id, key.version));
    let (bytes, _manifest, _by) = {
        let mut conn = pool.acquire().await.map_err(AppError::db("acquiring a connection"))?;
        submissions::package(&mut conn, key).await?
    };
    let srid = crate::db::store_srid(pool).await?;
    let config = qc_config(pool, &key.county).await?;
    phases.lap("fetch package");
    let (unpacked, mut phases) = tokio::task::spawn_blocking(move || {
        let u = unpack(&bytes, &limits, srid, &mut phases);
        (u, phases)
    })
    .await
    .map_err(|e| AppError::internal("check task", e))?;
    let unpacked = match unpacked {
        Ok(u) => u,
        Err(reason) => return Ok(Outcome::Failed(reason)),
    };
    let area = unpacked.area();
    let rows = {
        let mut conn = pool.acquire().await.map_err(AppError::db("acquiring a connection"))?;
        review_store::read(&mut conn, &area, false).await?
    };
    phases.lap("read store");
    let area_kept = area.clone();
    let (checked, phases) = tokio::task::spawn_blocking(move || {
        let (report, json, html) = check_package(&unpacked, &config);
        phases.lap("qc");
        let tables = table_sides(&unpacked, &rows.households);
        let mut d = diff(&rows.side, &unpacked.submission, &unpacked.manifest.replaces, &tables);
        d.notices.clone_from(&unpacked.notices);
        phases.lap("diff");
        let checked = Checked {
            verdict: match report.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
            },
            score: report.score,
            findings: i32::try_from(report.findings.len()).unwrap_or(i32::MAX),
            report: serde_json::from_str(&json).unwrap_or(Value::Null),
            report_html: html,
            diff: serde_json::to_value(&d).unwrap_or(Value::Null),
            area: area_kept,
            fingerprint: rows.fingerprint,
        };
        phases.lap("to json");
        (checked, phases)
    })
    .await
    .map_err(|e| AppError::internal("check task", e))?;
    phases.log();
    Ok(Outcome::Ready(Box::new(checked)))
}
