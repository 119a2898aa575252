-- Cheaper writes (issue #5, bulk import): the store SRID is enforced by a CHECK with
-- the SRID as a literal instead of the per-row `enforce_store_srid` trigger, which ran
-- a PL/pgSQL function and a SELECT on store_settings for every row inserted. Indexes
-- are unchanged (each one serves a query in src/db; parcels_zl serves address search as
-- an index-only scan). The SRID can only change while
-- the store holds no geometry (see `db::configure_store`); when it does, the trigger on
-- store_settings below rebuilds the CHECKs with the new literal.

CREATE FUNCTION store_srid_checks(want INTEGER) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['districts', 'sub_districts', 'parcels', 'boundary_points',
                             'boundary_lines', 'buildings']
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', t, t || '_geom_srid');
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (ST_SRID(geom) = %s)', t, t || '_geom_srid', want);
    END LOOP;
END $$;

CREATE FUNCTION store_srid_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM store_srid_checks(NEW.srid);
    RETURN NULL;
END $$;

CREATE TRIGGER store_settings_srid AFTER UPDATE OF srid ON store_settings
    FOR EACH ROW WHEN (OLD.srid IS DISTINCT FROM NEW.srid) EXECUTE FUNCTION store_srid_changed();

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['districts', 'sub_districts', 'parcels', 'boundary_points',
                             'boundary_lines', 'buildings']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_srid', t);
    END LOOP;
    PERFORM store_srid_checks((SELECT srid FROM store_settings));
END $$;
