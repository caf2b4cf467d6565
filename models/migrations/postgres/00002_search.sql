-- The search index: pg_trgm GIN indexes on the ASCII-lower-cased searched
-- columns of events, which serve LIKE '%...%' (see models/event_search.go).
-- lower() under the "C" collation folds A-Z only, as SQLite does, so both
-- databases find the same rows.
--
-- An extension is one per database and lives in one schema. pg_trgm goes
-- into public when the role may create there (so dropping one of several
-- application schemas, as the tests do, never drops it from under the
-- others), else into the current schema; the indexes name its operator
-- class with that schema, so they are built whatever the search_path. The
-- query itself only uses LIKE, which lives in pg_catalog. A lock on the
-- database serialises this between schemas migrating at once.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    ns text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('planner pg_trgm', 0));
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public'
                   AND has_schema_privilege(oid, 'CREATE')) THEN
            CREATE EXTENSION pg_trgm SCHEMA public;
        ELSE
            CREATE EXTENSION pg_trgm;
        END IF;
    END IF;
    SELECT quote_ident(n.nspname) INTO ns
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX IF NOT EXISTS idx_events_search_title ON events USING gin (lower(title COLLATE "C") %s.gin_trgm_ops) WITH (gin_pending_list_limit = 512)', ns);
    EXECUTE format('CREATE INDEX IF NOT EXISTS idx_events_search_description ON events USING gin (lower(description COLLATE "C") %s.gin_trgm_ops) WITH (gin_pending_list_limit = 512)', ns);
    EXECUTE format('CREATE INDEX IF NOT EXISTS idx_events_search_location ON events USING gin (lower(location COLLATE "C") %s.gin_trgm_ops) WITH (gin_pending_list_limit = 512)', ns);
END $$;
-- +goose StatementEnd
