-- Store-wide settings and the guards shared by every versioned table.

-- One row: the SRID every geometry in the store uses. Default 4549 = CGCS2000 /
-- 3-degree Gauss-Kruger CM 120E (no zone prefix). The server sets it from its
-- config (`store_srid`) while the store holds no geometry; afterwards a different
-- configured SRID is a startup error (changing it means re-projecting everything).
-- A reference table (replicated on Citus), hence no county column.
CREATE TABLE store_settings (
    singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    srid       INTEGER NOT NULL DEFAULT 4549 CHECK (srid > 0)
);
INSERT INTO store_settings DEFAULT VALUES;

-- Rejects a geometry whose SRID is not the store SRID (columns are typed
-- geometry(<type>) without SRID so the SRID can be a setting).
CREATE FUNCTION enforce_store_srid() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    want INTEGER;
BEGIN
    IF NEW.geom IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT srid INTO want FROM store_settings;
    IF ST_SRID(NEW.geom) <> want THEN
        RAISE EXCEPTION 'geometry SRID % differs from the store SRID %', ST_SRID(NEW.geom), want
            USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;

-- Versioned rows (现势 current / 历史 historical / 临时 temporary): an edit closes
-- the current row (state historical, valid_to set) and inserts a new one. Rows are
-- never deleted, and a historical row never changes again.
CREATE FUNCTION guard_versioned_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are versioned and never deleted', TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
    IF OLD.state = 'historical' THEN
        RAISE EXCEPTION 'historical rows of % are immutable', TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END $$;

-- The role the server runs as in production (a LOGIN role is made a member of it).
-- Roles are cluster-wide and tests create databases concurrently, hence the guard.
DO $$
BEGIN
    CREATE ROLE cadastre_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;
