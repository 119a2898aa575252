//! Lineage in PostgreSQL: `uc_event` and `uc_lineage`, walked with recursive CTEs.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{order_steps, Direction, Event, EventInput, EventKind, Lineage, LineageEdge, LineageError, LineageStep};
use crate::alloc::{AllocError, PgAllocator};
use crate::record::{AnyCode, CodeStatus};

/// Edges reachable from a code going new → old. `UNION` (not `UNION ALL`)
/// drops rows already produced, so the walk ends even on a malformed cycle.
const ANCESTORS: &str = "\
WITH RECURSIVE walk (old_code, new_code, event_id) AS (
    SELECT old_code, new_code, event_id FROM uc_lineage WHERE county = $1::bpchar AND new_code = $2
  UNION
    SELECT l.old_code, l.new_code, l.event_id
    FROM uc_lineage l JOIN walk w ON l.county = $1::bpchar AND l.new_code = w.old_code
)
SELECT w.old_code, w.new_code, w.event_id, e.kind, e.at
FROM walk w JOIN uc_event e ON e.county = $1::bpchar AND e.event_id = w.event_id";

/// Edges reachable from a code going old → new.
const DESCENDANTS: &str = "\
WITH RECURSIVE walk (old_code, new_code, event_id) AS (
    SELECT old_code, new_code, event_id FROM uc_lineage WHERE county = $1::bpchar AND old_code = $2
  UNION
    SELECT l.old_code, l.new_code, l.event_id
    FROM uc_lineage l JOIN walk w ON l.county = $1::bpchar AND l.old_code = w.new_code
)
SELECT w.old_code, w.new_code, w.event_id, e.kind, e.at
FROM walk w JOIN uc_event e ON e.county = $1::bpchar AND e.event_id = w.event_id";

type EdgeRow = (String, String, i64, String, DateTime<Utc>);
type EventRow = (i64, String, DateTime<Utc>, String, String, Vec<String>, Vec<String>);

fn parse_code(s: &str) -> Result<AnyCode, AllocError> {
    s.trim().parse().map_err(|e| AllocError::Corrupt(format!("code {s:?}: {e}")))
}

fn parse_kind(s: &str) -> Result<EventKind, AllocError> {
    EventKind::from_db(s).ok_or_else(|| AllocError::Corrupt(format!("event kind {s:?}")))
}

fn to_edge(row: EdgeRow) -> Result<LineageEdge, AllocError> {
    let (old, new, event_id, kind, at) = row;
    Ok(LineageEdge { old: parse_code(&old)?, new: parse_code(&new)?, event_id, kind: parse_kind(&kind)?, at })
}

fn to_event(row: EventRow) -> Result<Event, AllocError> {
    let (id, kind, at, actor, note, old, new) = row;
    let codes = |v: Vec<String>| v.iter().map(|s| parse_code(s)).collect::<Result<Vec<_>, _>>();
    Ok(Event {
        id,
        at,
        input: EventInput { kind: parse_kind(&kind)?, actor, note, old: codes(old)?, new: codes(new)? },
    })
}

impl PgAllocator {
    /// [`Lineage::record_event`] inside the caller's transaction.
    pub async fn record_event_in(conn: &mut PgConnection, input: EventInput) -> Result<Event, LineageError> {
        let effects = input.effects()?;
        for c in &input.new {
            match Self::record_in(conn, *c).await?.map(|r| r.status) {
                None => return Err(AllocError::UnknownCode { code: c.to_string() }.into()),
                Some(CodeStatus::Historical) => return Err(AllocError::Retired { code: c.to_string() }.into()),
                Some(CodeStatus::Current) => {}
            }
        }
        for c in &effects.retire {
            Self::retire_in(conn, *c).await?;
        }
        let strings = |v: &[AnyCode]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        let (id, at): (i64, DateTime<Utc>) = sqlx::query_as(
            "INSERT INTO uc_event (county, kind, actor, note, old_codes, new_codes) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING event_id, at",
        )
        .bind(input.county())
        .bind(input.kind.as_str())
        .bind(&input.actor)
        .bind(&input.note)
        .bind(strings(&input.old))
        .bind(strings(&input.new))
        .fetch_one(&mut *conn)
        .await
        .map_err(AllocError::db("recording an event"))?;
        if !effects.edges.is_empty() {
            let (olds, news): (Vec<String>, Vec<String>) =
                effects.edges.iter().map(|(o, n)| (o.to_string(), n.to_string())).unzip();
            sqlx::query(
                "INSERT INTO uc_lineage (county, event_id, old_code, new_code, kind) \
                 SELECT $1, $2, o, n, $3 FROM UNNEST($4::text[], $5::text[]) AS t(o, n)",
            )
            .bind(input.county())
            .bind(id)
            .bind(input.kind.as_str())
            .bind(olds)
            .bind(news)
            .execute(&mut *conn)
            .await
            .map_err(AllocError::db("recording lineage edges"))?;
        }
        Ok(Event { id, at, input })
    }

    async fn walk(&self, code: AnyCode, dir: Direction) -> Result<Vec<LineageStep>, LineageError> {
        let sql = match dir {
            Direction::Up => ANCESTORS,
            Direction::Down => DESCENDANTS,
        };
        let rows: Vec<EdgeRow> = sqlx::query_as(sql)
            .bind(code.county())
            .bind(code.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(AllocError::db("walking the lineage"))?;
        let edges = rows.into_iter().map(to_edge).collect::<Result<Vec<_>, _>>()?;
        Ok(order_steps(code, edges, dir))
    }
}

impl Lineage for PgAllocator {
    async fn record_event(&self, event: EventInput) -> Result<Event, LineageError> {
        let mut tx = self.pool().begin().await.map_err(AllocError::db("starting a transaction"))?;
        let event = Self::record_event_in(&mut tx, event).await?;
        tx.commit().await.map_err(AllocError::db("committing an event"))?;
        Ok(event)
    }

    async fn ancestors(&self, code: AnyCode) -> Result<Vec<LineageStep>, LineageError> {
        self.walk(code, Direction::Up).await
    }

    async fn descendants(&self, code: AnyCode) -> Result<Vec<LineageStep>, LineageError> {
        self.walk(code, Direction::Down).await
    }

    async fn events_of(&self, code: AnyCode) -> Result<Vec<Event>, LineageError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT event_id, kind, at, actor, note, old_codes, new_codes FROM uc_event \
             WHERE county = $1::bpchar AND ($2 = ANY (old_codes) OR $2 = ANY (new_codes)) ORDER BY event_id",
        )
        .bind(code.county())
        .bind(code.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(AllocError::db("listing events"))?;
        Ok(rows.into_iter().map(to_event).collect::<Result<Vec<_>, _>>()?)
    }
}
