-- Hardening for level-3 protection (等保三级), issue #14.

-- Where each audited event came from: the peer address of the request (NULL for the
-- command line and the importer, whose actor names the operator).
ALTER TABLE audit ADD COLUMN source INET;
CREATE INDEX audit_actor ON audit (actor, at);

-- Passwords expire (users.password_changed_at + password_max_age_days) and can be
-- marked for change at the next login (an administrator's reset).
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

-- Last use of each token, for the idle timeout (session_idle_minutes). A table of its
-- own: every UPDATE of `tokens` notifies all instances to flush their token caches
-- (0010), which a per-use timestamp must not do.
CREATE TABLE token_activity (
    token_hash    BYTEA PRIMARY KEY REFERENCES tokens (token_hash),
    last_used_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id) WHERE revoked_at IS NULL;

GRANT SELECT, INSERT, UPDATE ON token_activity TO cadastre_app;
