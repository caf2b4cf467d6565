-- The per-IP rate limit of the routes that run bcrypt or send mail, kept in
-- the database so several instances count toward one limit: one row per
-- client (a keyed digest), its one-minute window and the attempts in it.

-- +goose Up
CREATE TABLE IF NOT EXISTS rate_limits (
    client_key character varying(64) PRIMARY KEY,
    window_start bigint NOT NULL,
    hits bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rate_limits_window_start ON rate_limits (window_start);

-- +goose Down
DROP TABLE IF EXISTS rate_limits;
