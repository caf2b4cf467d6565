-- The per-IP rate limit of the routes that run bcrypt or send mail, kept in
-- the database so several instances count toward one limit: one row per
-- client (a keyed digest), its one-minute window and the attempts in it.

-- +goose Up
CREATE TABLE IF NOT EXISTS `rate_limits` (`client_key` text NOT NULL,`window_start` integer NOT NULL,`hits` integer NOT NULL,PRIMARY KEY (`client_key`));
CREATE INDEX IF NOT EXISTS `idx_rate_limits_window_start` ON `rate_limits`(`window_start`);

-- +goose Down
DROP TABLE IF EXISTS `rate_limits`;
