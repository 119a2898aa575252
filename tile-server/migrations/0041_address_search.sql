-- Address search (坐落 ZL contains the text, db::search::by_address) and long
-- addresses (issue #14). The btree indexes on zl of 0004/0011 could not serve
-- `LIKE '%…%'` at all, and a btree entry is limited to about 2700 bytes: a long
-- 坐落 made the insert fail with a 500.
-- * households: a GIN trigram index, which has no such limit and answers infix
--   LIKE for texts of three characters or more (CJK characters are word
--   characters to pg_trgm under C.UTF-8).
-- * parcels: no index on zl. Search scans the county's current parcels, as it did
--   before (the btree was never used for it), and a county's bulk load (which
--   rebuilds every index of the parent on its own partition) does not pay for a
--   trigram index over a million addresses.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

DROP INDEX IF EXISTS parcels_zl;
DROP INDEX IF EXISTS households_zl;
CREATE INDEX households_zl_trgm ON households USING gin (zl gin_trgm_ops) WHERE state = 'current';
