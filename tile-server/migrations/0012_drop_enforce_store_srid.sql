-- The per-row SRID trigger function, unused since 0009 replaced its triggers with CHECKs.
DROP FUNCTION IF EXISTS enforce_store_srid();
