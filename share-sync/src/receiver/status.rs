//! `status`: where each package chain stands on this receiver.

use std::collections::BTreeSet;

use serde::Serialize;

use super::db::{sql, DbError, ReceiverDb};

/// A quarantined package and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantined {
    /// The kept copy (or the original path when it could not be read).
    pub package: String,
    /// Why it was refused.
    pub reason: String,
}

/// One chain (sender and kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stream {
    /// Sender id.
    pub sender: String,
    /// Package kind.
    pub kind: String,
    /// Last applied sequence (0: none).
    pub last_applied: u64,
    /// Missing sequence numbers before held packages: re-ferry these.
    pub gaps: Vec<u64>,
    /// Held sequence numbers.
    pub held: Vec<u64>,
}

/// The receiver's state. With one chain, its fields are repeated at the top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Last applied sequence of the (only) chain; the lowest over chains otherwise.
    pub last_applied: u64,
    /// Gaps over all chains.
    pub gaps: Vec<u64>,
    /// Held sequence numbers over all chains.
    pub held: Vec<u64>,
    /// Quarantined packages, oldest first.
    pub quarantined: Vec<Quarantined>,
    /// Every chain.
    pub streams: Vec<Stream>,
}

/// Reads the status.
pub async fn status(db: &ReceiverDb) -> Result<Status, DbError> {
    let applied: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT sender, kind, max(sequence) FROM sync_applied GROUP BY sender, kind ORDER BY sender, kind",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(sql("reading applied packages"))?;
    let held: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT DISTINCT sender, kind, sequence FROM sync_held ORDER BY sender, kind, sequence")
            .fetch_all(&db.pool)
            .await
            .map_err(sql("reading held packages"))?;
    let quarantined: Vec<(String, String)> =
        sqlx::query_as("SELECT file, reason FROM sync_quarantine ORDER BY received_at, file")
            .fetch_all(&db.pool)
            .await
            .map_err(sql("reading quarantined packages"))?;
    let keys: BTreeSet<(String, String)> = applied
        .iter()
        .map(|(s, k, _)| (s.clone(), k.clone()))
        .chain(held.iter().map(|(s, k, _)| (s.clone(), k.clone())))
        .collect();
    let to_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
    let streams: Vec<Stream> = keys
        .into_iter()
        .map(|(sender, kind)| {
            let last = applied.iter().find(|(s, k, _)| *s == sender && *k == kind).map_or(0, |(_, _, n)| to_u64(*n));
            let held: Vec<u64> =
                held.iter().filter(|(s, k, _)| *s == sender && *k == kind).map(|(_, _, n)| to_u64(*n)).collect();
            let gaps =
                held.last().map_or_else(Vec::new, |&max| (last + 1..max).filter(|s| !held.contains(s)).collect());
            Stream { sender, kind, last_applied: last, gaps, held }
        })
        .collect();
    Ok(Status {
        last_applied: streams.iter().map(|s| s.last_applied).min().unwrap_or(0),
        gaps: streams.iter().flat_map(|s| s.gaps.iter().copied()).collect(),
        held: streams.iter().flat_map(|s| s.held.iter().copied()).collect(),
        quarantined: quarantined.into_iter().map(|(package, reason)| Quarantined { package, reason }).collect(),
        streams,
    })
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.streams.is_empty() {
            writeln!(f, "nothing applied yet")?;
        }
        for s in &self.streams {
            writeln!(f, "{} ({}): last applied {}", s.sender, s.kind, s.last_applied)?;
            if !s.gaps.is_empty() {
                writeln!(f, "  gaps (re-ferry these): {}", join(&s.gaps))?;
            }
            if !s.held.is_empty() {
                writeln!(f, "  held until the gap is filled: {}", join(&s.held))?;
            }
        }
        if !self.quarantined.is_empty() {
            writeln!(f, "quarantined:")?;
            for q in &self.quarantined {
                writeln!(f, "  {}: {}", q.package, q.reason)?;
            }
        }
        Ok(())
    }
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}
