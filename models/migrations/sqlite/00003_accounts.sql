-- Accounts, part 2: the sessions and devices list, e-mail verification and
-- the mail outbox. (00002 is taken by the search migration.)

-- +goose Up
-- Every browser session and API token, keyed by its sid: what the devices
-- page lists. A row is the session's record, not its permission: a token is
-- refused when its sid is in revoked_sessions, as before; revoking a device
-- does that and deletes the row. id is what pages and the API show; the sid
-- never leaves the server.
CREATE TABLE IF NOT EXISTS `sessions` (`id` integer PRIMARY KEY AUTOINCREMENT,`sid` text NOT NULL,`user_id` integer NOT NULL,`kind` text NOT NULL,`token_version` integer NOT NULL,`ip` text NOT NULL DEFAULT "",`user_agent` text NOT NULL DEFAULT "",`created_at` datetime NOT NULL,`last_seen_at` datetime NOT NULL,`expires_at` datetime NOT NULL,CONSTRAINT `fk_sessions_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_sessions_sid` ON `sessions`(`sid`);
CREATE INDEX IF NOT EXISTS `idx_sessions_user` ON `sessions`(`user_id`,`expires_at`);
CREATE INDEX IF NOT EXISTS `idx_sessions_expires_at` ON `sessions`(`expires_at`);

ALTER TABLE `users` ADD COLUMN `email_verified_at` datetime;

-- Mail waiting to be sent, written in the transaction of the change that
-- causes it; the mail worker sends it, retrying with backoff.
CREATE TABLE IF NOT EXISTS `outbox` (`id` integer PRIMARY KEY AUTOINCREMENT,`kind` text NOT NULL,`to_addr` text NOT NULL,`subject` text NOT NULL,`text_body` text NOT NULL,`html_body` text NOT NULL,`attempts` integer NOT NULL DEFAULT 0,`next_attempt_at` datetime NOT NULL,`claimed_until` datetime,`sent_at` datetime,`failed_at` datetime,`last_error` text NOT NULL DEFAULT "",`created_at` datetime NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_outbox_due` ON `outbox`(`sent_at`,`failed_at`,`next_attempt_at`);
CREATE INDEX IF NOT EXISTS `idx_outbox_to` ON `outbox`(`to_addr`,`kind`,`created_at`);
