-- Two factors: a TOTP secret per user (encrypted with a key derived from
-- the signing key, so a dump alone cannot mint codes), the last accepted
-- time step (a code is never accepted twice), and single-use recovery
-- codes stored as SHA-256 digests. (Numbered after 00006, which main
-- released first: goose refuses a migration older than the newest applied.)

-- +goose Up
ALTER TABLE `users` ADD COLUMN `totp_secret` text NOT NULL DEFAULT "";
ALTER TABLE `users` ADD COLUMN `totp_enabled_at` datetime;
ALTER TABLE `users` ADD COLUMN `totp_last_step` integer NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS `recovery_codes` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`code_hash` text NOT NULL,`used_at` datetime,`created_at` datetime NOT NULL,CONSTRAINT `fk_recovery_codes_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_recovery_codes_code` ON `recovery_codes`(`user_id`,`code_hash`);
