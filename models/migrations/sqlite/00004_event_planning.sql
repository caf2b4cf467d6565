-- Event planning (issue 17): time zones, RSVP with capacity and waitlist,
-- calendar sequence numbers, share links and calendar feeds.
--
-- going_count and waitlist_count are kept on the event row, written in the
-- same transaction as the RSVP they count: an RSVP therefore updates its
-- event's row, which fires the events version triggers of 00001, so the
-- public API cache can never serve a stale count. Share links and feed
-- tokens are derived from the secret keys and a generation number
-- (handlers/share.go); nothing secret is stored. The outbox gains one
-- attachment per mail: the event's .ics in RSVP mails.

-- +goose Up
ALTER TABLE `events` ADD COLUMN `timezone` text NOT NULL DEFAULT "";
ALTER TABLE `events` ADD COLUMN `capacity` integer;
ALTER TABLE `events` ADD COLUMN `rsvp_open` numeric NOT NULL DEFAULT true;
ALTER TABLE `events` ADD COLUMN `going_count` integer NOT NULL DEFAULT 0;
ALTER TABLE `events` ADD COLUMN `waitlist_count` integer NOT NULL DEFAULT 0;
ALTER TABLE `events` ADD COLUMN `sequence` integer NOT NULL DEFAULT 0;
ALTER TABLE `events` ADD COLUMN `share_gen` integer NOT NULL DEFAULT 0;
ALTER TABLE `users` ADD COLUMN `timezone` text NOT NULL DEFAULT "";
ALTER TABLE `users` ADD COLUMN `calendar_gen` integer NOT NULL DEFAULT 1;

CREATE TABLE `rsvps` (`id` integer PRIMARY KEY AUTOINCREMENT,`event_id` integer NOT NULL,`user_id` integer NOT NULL,`status` text NOT NULL,`created_at` datetime NOT NULL,`updated_at` datetime NOT NULL,CONSTRAINT `fk_rsvps_event` FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON DELETE CASCADE,CONSTRAINT `fk_rsvps_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE CASCADE);
CREATE UNIQUE INDEX `idx_rsvps_pair` ON `rsvps`(`event_id`,`user_id`);
CREATE INDEX `idx_rsvps_queue` ON `rsvps`(`event_id`,`status`,`id`);
CREATE INDEX `idx_rsvps_user` ON `rsvps`(`user_id`,`status`);

ALTER TABLE `outbox` ADD COLUMN `attachment_name` text NOT NULL DEFAULT "";
ALTER TABLE `outbox` ADD COLUMN `attachment_type` text NOT NULL DEFAULT "";
ALTER TABLE `outbox` ADD COLUMN `attachment` text NOT NULL DEFAULT "";
