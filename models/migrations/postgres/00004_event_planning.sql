-- Event planning (issue 17): time zones, RSVP with capacity and waitlist,
-- calendar sequence numbers, share links and calendar feeds.
--
-- going_count and waitlist_count are kept on the event row, written in the
-- same transaction as the RSVP they count (under the event row's lock): an
-- RSVP therefore updates its event's row, which fires the events version
-- trigger of 00001, so the public API cache can never serve a stale count.
-- Share links and feed tokens are derived from the secret keys and a
-- generation number (handlers/share.go); nothing secret is stored. The
-- outbox gains one attachment per mail: the event's .ics in RSVP mails.

-- +goose Up
ALTER TABLE events ADD COLUMN timezone character varying(64) DEFAULT '' NOT NULL;
ALTER TABLE events ADD COLUMN capacity bigint;
ALTER TABLE events ADD COLUMN rsvp_open boolean DEFAULT true NOT NULL;
ALTER TABLE events ADD COLUMN going_count bigint DEFAULT 0 NOT NULL;
ALTER TABLE events ADD COLUMN waitlist_count bigint DEFAULT 0 NOT NULL;
ALTER TABLE events ADD COLUMN sequence bigint DEFAULT 0 NOT NULL;
ALTER TABLE events ADD COLUMN share_gen bigint DEFAULT 0 NOT NULL;
ALTER TABLE users ADD COLUMN timezone character varying(64) DEFAULT '' NOT NULL;
ALTER TABLE users ADD COLUMN calendar_gen bigint DEFAULT 1 NOT NULL;

CREATE TABLE rsvps (
    id bigserial PRIMARY KEY,
    event_id bigint NOT NULL,
    user_id bigint NOT NULL,
    status character varying(12) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT fk_rsvps_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE,
    CONSTRAINT fk_rsvps_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX idx_rsvps_pair ON rsvps (event_id, user_id);
CREATE INDEX idx_rsvps_queue ON rsvps (event_id, status, id);
CREATE INDEX idx_rsvps_user ON rsvps (user_id, status);

ALTER TABLE outbox ADD COLUMN attachment_name character varying(100) DEFAULT '' NOT NULL;
ALTER TABLE outbox ADD COLUMN attachment_type character varying(100) DEFAULT '' NOT NULL;
ALTER TABLE outbox ADD COLUMN attachment text DEFAULT '' NOT NULL;
