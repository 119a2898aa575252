-- The store is PostGIS; every test database made by #[sqlx::test] starts empty,
-- so the extension has to be created by the first migration.
CREATE EXTENSION IF NOT EXISTS postgis;
