-- Vector-tile cache invalidation (tile-server/src/tile_cache/).
--
-- Every server caches rendered tiles. A change to a mapped layer committed anywhere
-- (the API, an import, an accepted submission, plain SQL) is announced on channel
-- cadastre_tiles, and each instance drops exactly the cached tiles that the old or
-- the new geometry touches, at every zoom (osm2pgsql --expire-tiles: bounding box
-- plus the tile buffer).
--
-- Payload: `layer|county|boxes`, one notification per county a statement touched.
--   boxes = `x0,y0,x1,y1;...`: Web Mercator (EPSG:3857) bounding boxes in metres,
--           rounded outwards, one per changed row (old and new version alike);
--   boxes = `*`: the whole county (more than 64 rows in the statement are sent as
--           their common box instead, so 65,536-row import batches stay one short
--           notification; a bulk-loaded partition is attached without triggers, so
--           import/bulk.rs sends `*` itself).
-- `layer|*|*` (TRUNCATE): every county.
-- Only rows that are or were current matter: historical and temporary versions are
-- never drawn. An UPDATE that only touches attributes still changes the tiles
-- (they carry codes, use and area), so every changed current row counts.
-- NOTIFY is transactional: sent at commit, nothing on rollback; identical payloads
-- within a transaction collapse.

-- The box of a Web Mercator geometry (the rows' geom_3857, migration 0020, so no
-- transformation here) as `x0,y0,x1,y1` in whole metres rounded outwards.
CREATE FUNCTION tile_box(b box2d) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT concat_ws(',', floor(ST_XMin(b))::bigint, floor(ST_YMin(b))::bigint,
                          ceil(ST_XMax(b))::bigint, ceil(ST_YMax(b))::bigint)
$$;

-- Sends the notifications for the changed rows of one statement.
CREATE FUNCTION tile_notify_rows(layer text, counties text[], geoms geometry[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN
        SELECT county, count(*) AS n, ST_Extent(geom) AS ext,
               string_agg(tile_box(geom::box2d), ';') FILTER (WHERE rn <= 64) AS boxes
        FROM (SELECT c AS county, g AS geom, row_number() OVER (PARTITION BY c) AS rn
              FROM unnest(counties, geoms) AS u(c, g) WHERE g IS NOT NULL) c
        GROUP BY county
    LOOP
        PERFORM pg_notify('cadastre_tiles', layer || '|' || r.county || '|' ||
            CASE WHEN r.n <= 64 THEN r.boxes ELSE tile_box(r.ext) END);
    END LOOP;
END $$;

-- TG_ARGV[0]: the tile layer the table feeds. Separate branches: a trigger without
-- old_rows (INSERT) cannot plan a query on it.
CREATE FUNCTION notify_tiles() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counties text[];
    geoms geometry[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('cadastre_tiles', TG_ARGV[0] || '|*|*');
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

DO $$
DECLARE
    t TEXT[];
BEGIN
    FOREACH t SLICE 1 IN ARRAY ARRAY[['sub_districts', 'subdistricts'], ['parcels', 'parcels'],
                                     ['buildings', 'buildings'], ['boundary_points', 'points']]
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_tiles(%L)', t[1] || '_tiles_ins', t[1], t[2]);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_tiles(%L)', t[1] || '_tiles_upd', t[1], t[2]);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_tiles(%L)', t[1] || '_tiles_del', t[1], t[2]);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_tiles(%L)', t[1] || '_tiles_trunc', t[1], t[2]);
    END LOOP;
END $$;
