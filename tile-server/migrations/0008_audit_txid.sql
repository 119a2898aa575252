-- Commit-ordered change feed. `audit_id` comes from a sequence and is taken when a row is
-- written, not when its transaction commits, so a reader that moved past id N could miss a
-- slower transaction's id N-1 committing later. Each row now records its transaction id;
-- the feed orders by (txid, audit_id) and only hands out rows of transactions older than
-- the oldest one still running (pg_snapshot_xmin), whose set can no longer grow.
ALTER TABLE audit ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX audit_feed ON audit (txid, audit_id);
