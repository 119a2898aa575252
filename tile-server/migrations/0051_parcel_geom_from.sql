-- When a parcel's geometry took its current shape (issue #11, the accept benchmark).
--
-- Boundary points (界址点) are derived from a parcel's geometry, and they were rewritten
-- whenever a new version of the parcel was written: an accepted package that changes
-- only the addresses (ZL) of 5,000 parcels closed and re-inserted ~25,000 points, 6.6 s
-- of a 10 s accept. A version that changes only attributes now keeps the geometry time
-- of the version it replaces, and its points are kept as they are.
--
-- `geom_from` NULL means "since valid_from" (every row written before this migration,
-- and every insert that does not say otherwise). Points are up to date when they are at
-- least as new as coalesce(geom_from, valid_from) (db/boundary_points.rs).
--
-- A geometry changed in place by SQL (an UPDATE of a current row) moves `geom_from` to
-- now, so the next `tile-server import` derives the parcel's points again.

ALTER TABLE parcels ADD COLUMN geom_from TIMESTAMPTZ;

CREATE FUNCTION parcels_geom_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom_from := now();
    RETURN NEW;
END $$;

CREATE TRIGGER parcels_geom_from BEFORE UPDATE OF geom ON parcels
    FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom) EXECUTE FUNCTION parcels_geom_moved();
