-- Cache coherence across server instances (tile-server/src/cache_sync.rs).
--
-- Every server keeps finished building tables and resolved tokens in memory. A
-- change committed anywhere (another instance, an import, plain SQL) is announced
-- here with NOTIFY, and every instance's listener drops what it cached. NOTIFY is
-- transactional: delivered at commit only (nothing on rollback), and identical
-- notifications within one transaction collapse into one.
--
-- Channel cadastre_tables: payload = the changed buildings' ZRZH, comma-separated,
-- or '' = "flush every building" (TRUNCATE, or more than 256 buildings in one
-- statement: a large import must not flood the notification queue, and 256 × 25
-- bytes stays under NOTIFY's 8000-byte payload limit).
-- Channel cadastre_auth: payload = the table name; receivers flush every token
-- (revocations, disabled accounts and scope changes are rare).

CREATE FUNCTION notify_building_tables() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed TEXT[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('cadastre_tables', '');
        RETURN NULL;
    END IF;
    -- LIMIT 257: enough to tell "more than 256" without collecting every building.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(z) INTO changed FROM (SELECT DISTINCT zrzh::text AS z FROM new_rows LIMIT 257) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(z) INTO changed FROM (SELECT DISTINCT zrzh::text AS z FROM old_rows LIMIT 257) d;
    ELSE
        SELECT array_agg(z) INTO changed FROM (
            SELECT zrzh::text AS z FROM old_rows UNION SELECT zrzh::text FROM new_rows LIMIT 257) d;
    END IF;
    IF changed IS NULL THEN
        RETURN NULL; -- the statement touched no row
    END IF;
    IF cardinality(changed) > 256 THEN
        PERFORM pg_notify('cadastre_tables', '');
    ELSE
        PERFORM pg_notify('cadastre_tables', array_to_string(changed, ','));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION notify_auth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Separate IFs: a TRUNCATE trigger has no old_rows to plan a query on.
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('cadastre_auth', TG_TABLE_NAME);
    ELSIF EXISTS (SELECT 1 FROM old_rows) THEN
        PERFORM pg_notify('cadastre_auth', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- A building table (GET /api/buildings/{zrzh}/table) is built from buildings,
-- floors and households (db::buildings::table_fingerprint); logical_buildings is
-- included so a table that shows 逻辑幢 later is covered from the start.
-- Transition tables allow one event per trigger, hence four triggers per table.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['buildings', 'logical_buildings', 'floors', 'households']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_building_tables()', t || '_notify_ins', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_building_tables()', t || '_notify_upd', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_building_tables()', t || '_notify_del', t);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_building_tables()', t || '_notify_trunc', t);
    END LOOP;
    -- The token lookup (db::accounts::resolve_token_until) reads tokens, users and
    -- api_clients. Only changes to existing rows can make a cached token wrong: an
    -- INSERT (a login, a new account) cannot, and notifying on it would flush every
    -- instance's cache at every login.
    FOREACH t IN ARRAY ARRAY['tokens', 'users', 'api_clients']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth()', t || '_notify_upd', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth()', t || '_notify_del', t);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION notify_auth()', t || '_notify_trunc', t);
    END LOOP;
END $$;
