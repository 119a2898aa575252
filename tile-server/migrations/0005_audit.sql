-- Append-only audit log: who, when, what, before, after. Written in the same
-- transaction as the write it records. Nobody may change or remove a row:
--   * the application role cadastre_app gets INSERT and SELECT only;
--   * a trigger refuses UPDATE, DELETE and TRUNCATE for every role, owner included.
-- Partitioned by month; retention >= 1 year (see docs/store.md): old partitions are
-- detached and archived by the database owner, never by the application.
-- PostgreSQL 15 has no identity columns on partitioned tables, hence a sequence.
-- audit_id doubles as the cursor of the change feed (/api/changes).
CREATE SEQUENCE audit_id_seq AS BIGINT;
CREATE TABLE audit (
    county       CHAR(6) NOT NULL,
    audit_id     BIGINT NOT NULL DEFAULT nextval('audit_id_seq'),
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor        TEXT NOT NULL,              -- 'user:<username>' or 'client:<client_id>'
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,              -- e.g. parcel.upsert, household.upsert, submission.decide
    object_type  TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    before       JSONB,
    after        JSONB,
    PRIMARY KEY (county, audit_id, at)
) PARTITION BY RANGE (at);

CREATE TABLE audit_default PARTITION OF audit DEFAULT;

-- Creates the monthly partition holding `day` if missing. Called by the migration
-- for the next year and by the server at startup.
CREATE FUNCTION audit_ensure_partition(day DATE) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo DATE := date_trunc('month', day)::date;
    hi DATE := (date_trunc('month', day) + interval '1 month')::date;
    name TEXT := format('audit_%s', to_char(lo, 'YYYYMM'));
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF audit FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    END IF;
END $$;

SELECT audit_ensure_partition((now() + make_interval(months => m))::date)
FROM generate_series(0, 12) AS m;

CREATE INDEX audit_object ON audit (county, object_type, object_key);
CREATE INDEX audit_id ON audit (audit_id);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only: % refused', TG_OP USING ERRCODE = '42501';
END $$;

CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Privileges of the application role: no DELETE anywhere (versioned rows), no
-- UPDATE on audit.
GRANT SELECT ON store_settings TO cadastre_app;
GRANT SELECT, INSERT, UPDATE ON users, api_clients, tokens, districts, sub_districts, parcels,
    boundary_points, boundary_lines, buildings, logical_buildings, floors, households, submissions
    TO cadastre_app;
GRANT SELECT, INSERT ON audit TO cadastre_app;
GRANT USAGE ON SEQUENCE audit_id_seq TO cadastre_app;
