-- Web Mercator copies of the mapped geometries, for the vector tiles (db/tiles.rs).
--
-- Tiles are cut in Web Mercator (EPSG:3857), the store keeps the Gauss-Krüger zone.
-- Transforming every feature of every tile on each request (what martin does for a
-- table in another SRID) is most of a tile's cost; a stored generated copy is
-- transformed once per written version instead. The partial GiST indexes hold only
-- current versions, which is all a tile ever reads, so history does not slow tiles.
-- A geometry PROJ cannot take into Web Mercator (far outside the zone: bad input
-- the store still keeps and reports) gets NULL and is simply not on the map; a
-- failed transformation must never fail the write.

CREATE FUNCTION tile_geom(g geometry) RETURNS geometry LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN ST_Transform(g, 3857);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['sub_districts', 'parcels', 'buildings', 'boundary_points']
    LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN geom_3857 geometry
                        GENERATED ALWAYS AS (tile_geom(geom)) STORED', t);
        EXECUTE format('CREATE INDEX %I ON %I USING gist (geom_3857) WHERE state = ''current''', t || '_tile', t);
    END LOOP;
END $$;
