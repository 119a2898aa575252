-- The status the map draws on parcels and buildings (issue #12: tile attributes "codes, use,
-- area, status"): `review` (审核中) while a submission awaiting review would change or remove
-- the feature, else `current` (现势). A tile holds current versions only, so the version
-- state alone would say `current` everywhere; what a reviewer needs to see is which current
-- features a pending package touches.
--
-- `features_under_review` holds, per submission version that is checking or ready and has a
-- diff, the codes its diff changes or removes (parcels, buildings) and the buildings whose
-- households it changes (building tables). A row trigger on submission_versions keeps it,
-- so every path (the worker, an accept, a return, plain SQL) does; the tile query reads it
-- as one hashed set per tile. Rows coming and going announce the tiles of the current
-- features they name (tile_notify_rows, 0060), so cached tiles change status exactly where
-- a submission arrives, is returned or is accepted.
--
-- The trigger never fails the review's write: an unreadable diff only leaves the status out.

CREATE TABLE features_under_review (
    county         CHAR(6) NOT NULL,
    submission_id  BIGINT NOT NULL,
    version        INTEGER NOT NULL,
    layer          TEXT NOT NULL CHECK (layer IN ('parcels', 'buildings')),
    code           TEXT NOT NULL,
    PRIMARY KEY (county, submission_id, version, layer, code)
);
CREATE INDEX features_under_review_code ON features_under_review (layer, county, code);

-- The codes a diff (cadastre_core::diff::Diff as JSON) would change or remove.
CREATE FUNCTION diff_codes(diff jsonb) RETURNS TABLE (layer text, code text) LANGUAGE sql IMMUTABLE AS $$
    WITH arr AS (
        SELECT l, CASE WHEN jsonb_typeof(diff -> l -> k) = 'array' THEN diff -> l -> k ELSE '[]' END AS a
        FROM (VALUES ('parcels'), ('buildings')) AS ls(l), (VALUES ('changed'), ('removed')) AS ks(k)
    )
    SELECT l, e ->> 'id' FROM arr, jsonb_array_elements(a) AS e WHERE e ->> 'id' IS NOT NULL
    UNION
    SELECT 'buildings', t ->> 'zrzh'
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(diff -> 'tables') = 'array' THEN diff -> 'tables' ELSE '[]' END) AS t
    WHERE t ->> 'zrzh' IS NOT NULL
      AND EXISTS (SELECT 1 FROM (VALUES ('added'), ('changed'), ('removed')) AS ks(k)
                  WHERE jsonb_typeof(t -> k) = 'array' AND jsonb_array_length(t -> k) > 0)
$$;

CREATE FUNCTION submission_review_features() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    was BOOLEAN := TG_OP = 'UPDATE' AND OLD.status IN ('checking', 'ready') AND OLD.diff IS NOT NULL;
    now_pending BOOLEAN := NEW.status IN ('checking', 'ready') AND NEW.diff IS NOT NULL;
BEGIN
    IF was = now_pending AND (NOT was OR OLD.diff IS NOT DISTINCT FROM NEW.diff) THEN
        RETURN NULL;
    END IF;
    BEGIN
        IF was THEN
            DELETE FROM features_under_review
            WHERE county = NEW.county AND submission_id = NEW.submission_id AND version = NEW.version;
        END IF;
        IF now_pending THEN
            INSERT INTO features_under_review (county, submission_id, version, layer, code)
            SELECT NEW.county, NEW.submission_id, NEW.version, d.layer, d.code FROM diff_codes(NEW.diff) d
            ON CONFLICT DO NOTHING;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'features under review of submission % version %: %', NEW.submission_id, NEW.version, SQLERRM;
    END;
    RETURN NULL;
END $$;

CREATE TRIGGER submission_versions_review_features AFTER INSERT OR UPDATE OF status, diff ON submission_versions
    FOR EACH ROW EXECUTE FUNCTION submission_review_features();

-- Announces the tiles of the current parcels and buildings named by the changed rows.
CREATE FUNCTION notify_review_tiles() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    counties text[];
    geoms geometry[];
BEGIN
    SELECT array_agg(p.county::text), array_agg(p.geom_3857) INTO counties, geoms
    FROM changed_rows r JOIN parcels p ON p.zddm = r.code::char(19) AND p.county = r.county AND p.state = 'current'
    WHERE r.layer = 'parcels';
    IF counties IS NOT NULL THEN
        PERFORM tile_notify_rows('parcels', counties, geoms);
    END IF;
    SELECT array_agg(b.county::text), array_agg(b.geom_3857) INTO counties, geoms
    FROM changed_rows r JOIN buildings b ON b.zrzh = r.code::char(24) AND b.county = r.county AND b.state = 'current'
    WHERE r.layer = 'buildings';
    IF counties IS NOT NULL THEN
        PERFORM tile_notify_rows('buildings', counties, geoms);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER features_under_review_ins AFTER INSERT ON features_under_review
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_review_tiles();
CREATE TRIGGER features_under_review_del AFTER DELETE ON features_under_review
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_review_tiles();

-- Submissions already waiting when this migration runs.
INSERT INTO features_under_review (county, submission_id, version, layer, code)
SELECT v.county, v.submission_id, v.version, d.layer, d.code
FROM submission_versions v, diff_codes(v.diff) d
WHERE v.status IN ('checking', 'ready') AND v.diff IS NOT NULL
ON CONFLICT DO NOTHING;

GRANT SELECT ON features_under_review TO cadastre_app;
