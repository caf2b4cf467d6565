-- The schema of the last release made by GORM's AutoMigrate, written out.
-- Every statement is IF NOT EXISTS so that a database that release made is
-- adopted as it is; the text of each CREATE is exactly what AutoMigrate
-- wrote (SQLite keeps it without the IF NOT EXISTS), so a fresh database and
-- an adopted one have the same catalogue.

-- +goose Up
CREATE TABLE IF NOT EXISTS `users` (`id` integer PRIMARY KEY AUTOINCREMENT,`email` text NOT NULL,`name` text NOT NULL,`password_hash` text NOT NULL,`role` text NOT NULL DEFAULT "user",`disabled` numeric NOT NULL DEFAULT false,`token_version` integer NOT NULL DEFAULT 1,`last_sign_in_at` datetime,`created_at` datetime NOT NULL,`updated_at` datetime NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_users_created_at` ON `users`(`created_at`);
CREATE INDEX IF NOT EXISTS `idx_users_role` ON `users`(`role`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_users_email` ON `users`(`email`);

CREATE TABLE IF NOT EXISTS `events` (`id` integer PRIMARY KEY AUTOINCREMENT,`creator_id` integer NOT NULL,`title` text NOT NULL,`image` text NOT NULL DEFAULT "",`description` text NOT NULL DEFAULT "",`tags` text NOT NULL DEFAULT "",`location` text NOT NULL DEFAULT "",`starts_at` datetime,`ends_at` datetime,`visibility` text NOT NULL DEFAULT "public",`created_at` datetime NOT NULL,`updated_at` datetime NOT NULL,CONSTRAINT `fk_events_creator` FOREIGN KEY (`creator_id`) REFERENCES `users`(`id`) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS `idx_events_created_at` ON `events`(`created_at`);
CREATE INDEX IF NOT EXISTS `idx_events_visibility` ON `events`(`visibility`);
CREATE INDEX IF NOT EXISTS `idx_events_start` ON `events`(`starts_at`);
CREATE INDEX IF NOT EXISTS `idx_events_creator` ON `events`(`creator_id`,`starts_at`);

CREATE TABLE IF NOT EXISTS `event_tags` (`event_id` integer,`tag` text,PRIMARY KEY (`event_id`,`tag`),CONSTRAINT `fk_event_tags_event` FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS `idx_event_tags_tag` ON `event_tags`(`tag`,`event_id`);

CREATE TABLE IF NOT EXISTS `signin_throttles` (`id` integer PRIMARY KEY AUTOINCREMENT,`email_hash` text NOT NULL,`client` text NOT NULL,`failures` integer NOT NULL DEFAULT 0,`locked_until` datetime,`updated_at` datetime NOT NULL);
CREATE INDEX IF NOT EXISTS `idx_signin_throttles_locked_until` ON `signin_throttles`(`locked_until`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_throttle_pair` ON `signin_throttles`(`email_hash`,`client`);

CREATE TABLE IF NOT EXISTS `revoked_sessions` (`sid` text,`expires_at` datetime NOT NULL,PRIMARY KEY (`sid`));
CREATE INDEX IF NOT EXISTS `idx_revoked_sessions_expires_at` ON `revoked_sessions`(`expires_at`);

CREATE TABLE IF NOT EXISTS `audit_entries` (`id` integer PRIMARY KEY AUTOINCREMENT,`at` datetime NOT NULL,`actor_email` text NOT NULL DEFAULT "",`actor_id` text NOT NULL DEFAULT "",`action` text NOT NULL,`target` text NOT NULL DEFAULT "",`ip` text NOT NULL DEFAULT "",`outcome` text NOT NULL DEFAULT "");
CREATE INDEX IF NOT EXISTS `idx_audit_entries_action` ON `audit_entries`(`action`);
CREATE INDEX IF NOT EXISTS `idx_audit_entries_actor_email` ON `audit_entries`(`actor_email`);
CREATE INDEX IF NOT EXISTS `idx_audit_entries_at` ON `audit_entries`(`at`);

-- The events version (see models/event_version.go): SQLite has one writer
-- at a time, so its triggers bump slot 0 only; the 16 rows are there so
-- that the reader's SUM is the same query on both databases.
CREATE TABLE IF NOT EXISTS `events_versions` (`slot` integer,`version` integer NOT NULL DEFAULT 0,PRIMARY KEY (`slot`));
INSERT INTO events_versions (slot, version)
    WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 15) SELECT n, 0 FROM s WHERE true
    ON CONFLICT (slot) DO NOTHING;

-- Triggers are dropped and created again, so a later migration can change
-- them the same way and an adopted database gets exactly these.
DROP TRIGGER IF EXISTS events_version_events_insert;
DROP TRIGGER IF EXISTS events_version_events_update;
DROP TRIGGER IF EXISTS events_version_events_delete;
DROP TRIGGER IF EXISTS events_version_users_update;
DROP TRIGGER IF EXISTS events_version_users_delete;
-- +goose StatementBegin
CREATE TRIGGER events_version_events_insert AFTER INSERT ON events BEGIN UPDATE events_versions SET version = version + 1 WHERE slot = 0; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_version_events_update AFTER UPDATE ON events BEGIN UPDATE events_versions SET version = version + 1 WHERE slot = 0; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_version_events_delete AFTER DELETE ON events BEGIN UPDATE events_versions SET version = version + 1 WHERE slot = 0; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_version_users_update AFTER UPDATE OF name, email ON users BEGIN UPDATE events_versions SET version = version + 1 WHERE slot = 0; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_version_users_delete AFTER DELETE ON users BEGIN UPDATE events_versions SET version = version + 1 WHERE slot = 0; END;
-- +goose StatementEnd
