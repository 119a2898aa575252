-- Batch imports (`tile-server import`): one row per run. Batches are written in
-- their own transactions (see tile-server/src/import/store.rs); `batches` counts
-- those committed, so a run killed half-way shows status 'running' with the
-- number of batches that made it. Rerunning the same file completes the job.
-- county: the county being loaded (tenant scope, Citus distribution column).
CREATE TABLE import_runs (
    county        CHAR(6) NOT NULL CHECK (county ~ '^\d{6}$'),
    run_id        BIGINT GENERATED ALWAYS AS IDENTITY,
    source        TEXT NOT NULL,                 -- path as given
    source_size   BIGINT,                        -- bytes, all files of the source
    source_mtime  TIMESTAMPTZ,                   -- newest modification time among them
    actor         TEXT NOT NULL,                 -- 'import:<os user>' or --actor
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at   TIMESTAMPTZ,
    status        TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed')),
    batches       INTEGER NOT NULL DEFAULT 0,
    counts        JSONB NOT NULL DEFAULT '{}',   -- per layer: read, inserted, updated, unchanged, rejected, warnings
    PRIMARY KEY (county, run_id)
);

GRANT SELECT ON import_runs TO cadastre_app;
