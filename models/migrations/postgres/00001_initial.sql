-- The schema of the last release made by GORM's AutoMigrate, written out.
-- Every statement is IF NOT EXISTS (or OR REPLACE) so that a database that
-- release made is adopted as it is, and ends with the same catalogue as a
-- fresh one. Names are unqualified: the schema is the connection's
-- search_path.

-- +goose Up
CREATE TABLE IF NOT EXISTS users (
    id bigserial PRIMARY KEY,
    email character varying(254) NOT NULL,
    name character varying(60) NOT NULL,
    password_hash character varying(100) NOT NULL,
    role character varying(10) DEFAULT 'user' NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    token_version bigint DEFAULT 1 NOT NULL,
    last_sign_in_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_users_created_at ON users (created_at);
CREATE INDEX IF NOT EXISTS idx_users_role ON users (role);
CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email ON users (email);

CREATE TABLE IF NOT EXISTS events (
    id bigserial PRIMARY KEY,
    creator_id bigint NOT NULL,
    title character varying(200) NOT NULL,
    image character varying(2048) DEFAULT '' NOT NULL,
    description character varying(5000) DEFAULT '' NOT NULL,
    tags character varying(400) DEFAULT '' NOT NULL,
    location character varying(200) DEFAULT '' NOT NULL,
    starts_at timestamp with time zone,
    ends_at timestamp with time zone,
    visibility character varying(10) DEFAULT 'public' NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT fk_events_creator FOREIGN KEY (creator_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_events_created_at ON events (created_at);
CREATE INDEX IF NOT EXISTS idx_events_creator ON events (creator_id, starts_at);
CREATE INDEX IF NOT EXISTS idx_events_start ON events (starts_at);
CREATE INDEX IF NOT EXISTS idx_events_visibility ON events (visibility);

CREATE TABLE IF NOT EXISTS event_tags (
    event_id bigint NOT NULL,
    tag character varying(30) NOT NULL,
    PRIMARY KEY (event_id, tag),
    CONSTRAINT fk_event_tags_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_event_tags_tag ON event_tags (tag, event_id);

CREATE TABLE IF NOT EXISTS signin_throttles (
    id bigserial PRIMARY KEY,
    email_hash character varying(64) NOT NULL,
    client character varying(64) NOT NULL,
    failures bigint DEFAULT 0 NOT NULL,
    locked_until timestamp with time zone,
    updated_at timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_signin_throttles_locked_until ON signin_throttles (locked_until);
CREATE UNIQUE INDEX IF NOT EXISTS idx_throttle_pair ON signin_throttles (email_hash, client);

CREATE TABLE IF NOT EXISTS revoked_sessions (
    sid character varying(64) PRIMARY KEY,
    expires_at timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_revoked_sessions_expires_at ON revoked_sessions (expires_at);

CREATE TABLE IF NOT EXISTS audit_entries (
    id bigserial PRIMARY KEY,
    at timestamp with time zone NOT NULL,
    actor_email character varying(254) DEFAULT '' NOT NULL,
    actor_id character varying(20) DEFAULT '' NOT NULL,
    action character varying(40) NOT NULL,
    target character varying(300) DEFAULT '' NOT NULL,
    ip character varying(64) DEFAULT '' NOT NULL,
    outcome character varying(20) DEFAULT '' NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_entries_action ON audit_entries (action);
CREATE INDEX IF NOT EXISTS idx_audit_entries_actor_email ON audit_entries (actor_email);
CREATE INDEX IF NOT EXISTS idx_audit_entries_at ON audit_entries (at);

-- The events version (see models/event_version.go), spread over 16 rows.
CREATE TABLE IF NOT EXISTS events_versions (
    slot bigint PRIMARY KEY,
    version bigint DEFAULT 0 NOT NULL
);
INSERT INTO events_versions (slot, version) SELECT n, 0 FROM generate_series(0, 15) AS n
    ON CONFLICT (slot) DO NOTHING;

-- Constraint triggers deferred to commit: the first in a transaction bumps
-- the slot picked by the transaction id, the others nothing, so the counter
-- row is the last lock a writer takes and concurrent writers mostly bump
-- different slots. TRUNCATE has no row triggers and gets a statement one.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('planner.events_version_bumped', true) IS DISTINCT FROM 'yes' THEN
		PERFORM set_config('planner.events_version_bumped', 'yes', true);
		UPDATE events_versions SET version = version + 1 WHERE slot = (txid_current() % 16)::int;
	END IF;
	RETURN NULL;
END $$;
-- +goose StatementEnd
DROP TRIGGER IF EXISTS events_version_events ON events;
DROP TRIGGER IF EXISTS events_version_events_truncate ON events;
DROP TRIGGER IF EXISTS events_version_users ON users;
CREATE CONSTRAINT TRIGGER events_version_events AFTER INSERT OR UPDATE OR DELETE ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION events_version_bump();
CREATE TRIGGER events_version_events_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_version_bump();
CREATE CONSTRAINT TRIGGER events_version_users AFTER UPDATE OF name, email OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION events_version_bump();
