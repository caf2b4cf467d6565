-- Passkeys (WebAuthn credentials): several per user, each named. The
-- credential (public key, sign count, flags) is kept as the JSON of
-- go-webauthn's Credential; credential_id (base64url) finds it at sign-in.

-- +goose Up
CREATE TABLE IF NOT EXISTS `passkeys` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`name` text NOT NULL,`credential_id` text NOT NULL,`credential` text NOT NULL,`created_at` datetime NOT NULL,`last_used_at` datetime,CONSTRAINT `fk_passkeys_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_passkeys_credential_id` ON `passkeys`(`credential_id`);
CREATE INDEX IF NOT EXISTS `idx_passkeys_user` ON `passkeys`(`user_id`);
