-- Last use of each token, for the session idle timeout (issue #14,
-- `session_idle_minutes`). A table of its own: every UPDATE of `tokens` notifies all
-- instances to flush their token caches (0010), which a per-use timestamp must not
-- do. Written by the token lookup (db::sessions::resolve_token_until) at most once
-- per token-cache period. The index on tokens serves the per-user session cap and
-- the revocations of account changes.
CREATE TABLE token_activity (
    token_hash    BYTEA PRIMARY KEY REFERENCES tokens (token_hash),
    last_used_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id) WHERE revoked_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON token_activity TO cadastre_app;
