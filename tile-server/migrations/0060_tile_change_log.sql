-- A log of the tile-change notifications, for the optional disk tile cache (issue #12,
-- `tile_cache_dir`, tile-server/src/tile_cache/disk.rs).
--
-- NOTIFY reaches only listeners connected at commit: a server that was stopped (or whose
-- listener was down) misses the changes of that gap. Its memory cache starts empty, but
-- tiles kept on disk may show rows changed meanwhile. So every notification is also
-- written here, in the same transaction, and a server coming back reads the entries its
-- disk has not seen and drops exactly those tiles before it trusts the disk again.
--
-- "Not seen" is decided by transaction visibility, not by id: a server records the
-- snapshot (`pg_current_snapshot()`) it took once it was listening, and later asks for the
-- entries whose transaction that snapshot does not see (committed after it, whatever the
-- order their ids were drawn in). Entries are appended only (no row lock a writer could
-- wait on), kept `tile_changes_keep()` = 7 days; a disk cache whose snapshot is older than
-- that is emptied instead.
--
-- The functions that write the log are SECURITY DEFINER: any role allowed to change a
-- mapped layer must not fail its write for want of a privilege on the log.

CREATE TABLE tile_changes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload  TEXT NOT NULL                        -- the notification: layer|county|boxes
);
CREATE INDEX tile_changes_xid ON tile_changes (xid);
CREATE INDEX tile_changes_at ON tile_changes (at);

-- This store's identity: a disk cache filled from another database is never trusted.
CREATE TABLE tile_store (
    one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    id   UUID NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO tile_store DEFAULT VALUES;

CREATE FUNCTION tile_changes_keep() RETURNS interval LANGUAGE sql IMMUTABLE AS $$
    SELECT interval '7 days'
$$;

-- Announces a change on cadastre_tiles and logs it.
CREATE FUNCTION tile_changed(payload text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM pg_notify('cadastre_tiles', payload);
    INSERT INTO tile_changes (payload) VALUES (payload);
END $$;

-- Drops log entries older than the retention (servers call it; the application role has
-- no DELETE).
CREATE FUNCTION tile_changes_prune() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH gone AS (DELETE FROM tile_changes WHERE at < now() - tile_changes_keep() RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- 0050's function, announcing through tile_changed.
CREATE OR REPLACE FUNCTION tile_notify_rows(layer text, counties text[], geoms geometry[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN
        WITH changed AS (
            SELECT c AS county, g AS geom, row_number() OVER () AS rn, count(*) OVER (PARTITION BY c) AS n
            FROM unnest(counties, geoms) AS u(c, g) WHERE g IS NOT NULL
        ), boxes AS (
            SELECT county, tile_box(ST_Extent(geom)) AS box
            FROM changed
            GROUP BY county,
                     CASE WHEN n <= 2048 THEN rn END,
                     CASE WHEN n > 2048 THEN floor((ST_XMin(geom) + ST_XMax(geom)) / 2 / 1223) END,
                     CASE WHEN n > 2048 THEN floor((ST_YMin(geom) + ST_YMax(geom)) / 2 / 1223) END
        ), numbered AS (
            SELECT county, box, row_number() OVER (PARTITION BY county ORDER BY box) AS i,
                   count(*) OVER (PARTITION BY county) AS cells
            FROM boxes
        )
        SELECT county, CASE WHEN max(cells) > 4096 THEN '*' ELSE string_agg(box, ';') END AS boxes
        FROM numbered
        GROUP BY county, CASE WHEN cells > 4096 THEN 0 ELSE (i - 1) / 150 END
    LOOP
        PERFORM tile_changed(layer || '|' || r.county || '|' || r.boxes);
    END LOOP;
END $$;

-- 0021's trigger function, announcing TRUNCATE through tile_changed.
CREATE OR REPLACE FUNCTION notify_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counties text[];
    geoms geometry[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM tile_changed(TG_ARGV[0] || '|*|*');
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(county::text), array_agg(geom_3857) INTO counties, geoms
        FROM new_rows WHERE state = 'current';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(county::text), array_agg(geom_3857) INTO counties, geoms
        FROM old_rows WHERE state = 'current';
    ELSE
        SELECT array_agg(county), array_agg(geom) INTO counties, geoms FROM (
            SELECT county::text AS county, geom_3857 AS geom FROM old_rows WHERE state = 'current'
            UNION ALL
            SELECT county::text, geom_3857 FROM new_rows WHERE state = 'current') u;
    END IF;
    IF counties IS NOT NULL THEN
        PERFORM tile_notify_rows(TG_ARGV[0], counties, geoms);
    END IF;
    RETURN NULL;
END $$;

GRANT SELECT ON tile_changes, tile_store TO cadastre_app;
