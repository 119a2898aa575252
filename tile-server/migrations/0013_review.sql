-- The reviewers' workflow (受理 → 质检 → 审核 → 入库): result packages as versions of a
-- submission, their checks and diffs, a job queue, and the state machine
--   checking -> ready -> accepted | returned, plus failed (unreadable package)
-- enforced here, so no code path (or plain SQL) can skip a step.

-- `submissions` becomes the case; its status mirrors its latest version (trigger below).
ALTER TABLE submissions DROP CONSTRAINT IF EXISTS submissions_status_check;
UPDATE submissions SET status = 'ready' WHERE status = 'received';
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check
    CHECK (status IN ('checking', 'ready', 'accepted', 'returned', 'failed'));
ALTER TABLE submissions ALTER COLUMN status SET DEFAULT 'checking';
ALTER TABLE submissions ALTER COLUMN package DROP NOT NULL;
ALTER TABLE submissions ADD COLUMN latest_version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE submission_versions (
    county          CHAR(6) NOT NULL,
    submission_id   BIGINT NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    submitted_by    BIGINT NOT NULL REFERENCES users (user_id),
    submitted_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    package         BYTEA NOT NULL,                 -- the zip as handed in
    package_bytes   BIGINT NOT NULL,
    package_sha256  TEXT NOT NULL,
    manifest        JSONB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'checking'
                    CHECK (status IN ('checking', 'ready', 'accepted', 'returned', 'failed')),
    status_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    failure         TEXT,                           -- why it failed (unreadable package)
    verdict         TEXT CHECK (verdict IN ('pass', 'fail')),
    score           DOUBLE PRECISION,
    findings_count  INTEGER,
    report          JSONB,                          -- cadastre check, JSON
    report_html     TEXT,                           -- cadastre check, HTML
    diff            JSONB,                          -- cadastre_core::diff::Diff
    diff_area       JSONB,                          -- what of the store the diff read (db::review_store::Area)
    diff_fingerprint TEXT,                          -- their versions, hashed (db::review_store)
    diff_at         TIMESTAMPTZ,
    decided_by      BIGINT REFERENCES users (user_id),
    decided_at      TIMESTAMPTZ,
    decision_note   TEXT,
    override_reason TEXT,                           -- accepting a failed check needs one
    returned_findings JSONB,                        -- what the surveyor must fix
    codes_issued    JSONB,                          -- temporary id -> code, on acceptance
    PRIMARY KEY (county, submission_id, version),
    FOREIGN KEY (county, submission_id) REFERENCES submissions (county, submission_id),
    -- Separation of duties: nobody decides their own submission.
    CHECK (decided_by IS DISTINCT FROM submitted_by),
    CHECK (status NOT IN ('accepted', 'returned') OR (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
    CHECK (status <> 'accepted' OR verdict = 'pass' OR length(trim(coalesce(override_reason, ''))) > 0),
    CHECK (status <> 'ready' OR (report IS NOT NULL AND diff IS NOT NULL))
);
CREATE INDEX submission_versions_by_user ON submission_versions (submitted_by, submitted_at);

-- Every status move, written by the trigger (actor from `SET LOCAL cadastre.actor`).
CREATE TABLE submission_transitions (
    county          CHAR(6) NOT NULL,
    submission_id   BIGINT NOT NULL,
    version         INTEGER NOT NULL,
    at              TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    actor           TEXT NOT NULL,
    note            TEXT
);
CREATE INDEX submission_transitions_key ON submission_transitions (county, submission_id, version, at);

CREATE FUNCTION submission_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allowed BOOLEAN;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'submission versions are never deleted' USING ERRCODE = '42501';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'checking' THEN
            RAISE EXCEPTION 'a new submission version starts as checking, not %', NEW.status USING ERRCODE = '23514';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := (OLD.status, NEW.status) IN (
            ('checking', 'ready'), ('checking', 'failed'),
            ('ready', 'accepted'), ('ready', 'returned'),
            ('ready', 'checking'));             -- the store changed under the diff: check again
        IF NOT allowed THEN
            RAISE EXCEPTION 'submission % version %: % -> % is not allowed', OLD.submission_id, OLD.version,
                OLD.status, NEW.status USING ERRCODE = '23514';
        END IF;
        NEW.status_at := now();
    ELSIF OLD.status IN ('accepted', 'returned', 'failed') THEN
        RAISE EXCEPTION 'submission % version % is % and final', OLD.submission_id, OLD.version, OLD.status
            USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO submission_transitions (county, submission_id, version, from_status, to_status, actor, note)
        VALUES (NEW.county, NEW.submission_id, NEW.version,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
                coalesce(nullif(current_setting('cadastre.actor', true), ''), session_user::text),
                coalesce(NEW.decision_note, NEW.failure));
        UPDATE submissions SET status = NEW.status, latest_version = NEW.version
        WHERE county = NEW.county AND submission_id = NEW.submission_id AND latest_version <= NEW.version;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER submission_versions_guard BEFORE INSERT OR UPDATE OR DELETE ON submission_versions
    FOR EACH ROW EXECUTE FUNCTION submission_version_guard();

-- Background work. A worker owns a job by a session-level advisory lock on its id (no open
-- transaction while it works, so the change feed's xmin horizon never waits for a check);
-- a worker that dies (kill -9, restart) loses its connection and with it the lock, and
-- the next worker takes the job at once.
CREATE TABLE review_jobs (
    job_id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county          CHAR(6) NOT NULL,
    submission_id   BIGINT NOT NULL,
    version         INTEGER NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'check' CHECK (kind IN ('check')),
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_after       TIMESTAMPTZ NOT NULL DEFAULT now(),
    worker          TEXT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    FOREIGN KEY (county, submission_id, version) REFERENCES submission_versions (county, submission_id, version)
);
CREATE INDEX review_jobs_pending ON review_jobs (run_after, job_id) WHERE state = 'queued';

-- The QC rules (TOML, `cadastre check --print-default-rules`) per county; none = defaults.
CREATE TABLE qc_config (
    county      CHAR(6) PRIMARY KEY CHECK (county ~ '^\d{6}$'),
    rules_toml  TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON submission_versions, review_jobs TO cadastre_app;
GRANT SELECT, INSERT ON submission_transitions TO cadastre_app;
GRANT SELECT ON qc_config TO cadastre_app;
