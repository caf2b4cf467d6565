-- Accounts, part 2: the sessions and devices list, e-mail verification and
-- the mail outbox. (00002 is taken by the search migration.)

-- +goose Up
-- Every browser session and API token, keyed by its sid: what the devices
-- page lists. A row is the session's record, not its permission: a token is
-- refused when its sid is in revoked_sessions, as before; revoking a device
-- does that and deletes the row. id is what pages and the API show; the sid
-- never leaves the server.
CREATE TABLE IF NOT EXISTS sessions (
    id bigserial PRIMARY KEY,
    sid character varying(64) NOT NULL,
    user_id bigint NOT NULL,
    kind character varying(10) NOT NULL,
    token_version bigint NOT NULL,
    ip character varying(64) DEFAULT '' NOT NULL,
    user_agent character varying(300) DEFAULT '' NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_sessions_sid ON sessions (sid);
CREATE INDEX IF NOT EXISTS idx_sessions_user ON sessions (user_id, expires_at);
CREATE INDEX IF NOT EXISTS idx_sessions_expires_at ON sessions (expires_at);

ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at timestamp with time zone;

-- Mail waiting to be sent, written in the transaction of the change that
-- causes it; the mail worker sends it, retrying with backoff. Several
-- instances claim rows with FOR UPDATE SKIP LOCKED and a lease.
CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY,
    kind character varying(30) NOT NULL,
    to_addr character varying(254) NOT NULL,
    subject character varying(300) NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    attempts bigint DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claimed_until timestamp with time zone,
    sent_at timestamp with time zone,
    failed_at timestamp with time zone,
    last_error character varying(500) DEFAULT '' NOT NULL,
    created_at timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_outbox_to ON outbox (to_addr, kind, created_at);
