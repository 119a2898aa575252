-- Tile invalidation of large statements (issue #12: "marks the tiles whose extent intersects
-- the old or new geometry's bounding box ... and only those").
--
-- 0021 sent a statement of more than 64 rows as the common box of all of them: an accepted
-- submission touching parcels at both ends of a county, or an import batch, dropped every
-- cached tile in between. Now:
--   * up to 2,048 rows: one box per row, as for small statements;
--   * more: one box per 1,223 m cell (a z15 tile at the equator) that the rows' centres fall
--     in, each the extent of that cell's rows only;
--   * more than 4,096 such boxes: the whole county (`*`), as before for bulk loads.
-- A notification carries at most 150 boxes (pg_notify payloads stay under 8,000 bytes), so a
-- statement may send several per county; each is an ordinary `layer|county|boxes` notice.
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
        PERFORM pg_notify('cadastre_tiles', layer || '|' || r.county || '|' || r.boxes);
    END LOOP;
END $$;
