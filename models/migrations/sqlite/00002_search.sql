-- The search index: an FTS5 table with the trigram tokenizer over the
-- searched columns of events, external content (the text stays in events
-- only), kept current by triggers, so that a row any instance, import or
-- plain SQL writes is found. Trigrams find substrings of 3 or more
-- characters; the case folding of the tokenizer is wider than Planner's
-- (ASCII only), so a match is a candidate that the query checks again with
-- LIKE (see models/event_search.go).

-- +goose Up
CREATE VIRTUAL TABLE IF NOT EXISTS events_search USING fts5(
    title, description, location,
    content = 'events', content_rowid = 'id', tokenize = 'trigram'
);
-- Index the rows already there (an adopted or older database).
INSERT INTO events_search (events_search) VALUES ('rebuild');

-- Dropped and created again, so a later migration can change them the same way.
DROP TRIGGER IF EXISTS events_search_insert;
DROP TRIGGER IF EXISTS events_search_delete;
DROP TRIGGER IF EXISTS events_search_update;
-- +goose StatementBegin
CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_search (rowid, title, description, location) VALUES (new.id, new.title, new.description, new.location);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_search (events_search, rowid, title, description, location) VALUES ('delete', old.id, old.title, old.description, old.location);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_search_update AFTER UPDATE OF id, title, description, location ON events BEGIN
    INSERT INTO events_search (events_search, rowid, title, description, location) VALUES ('delete', old.id, old.title, old.description, old.location);
    INSERT INTO events_search (rowid, title, description, location) VALUES (new.id, new.title, new.description, new.location);
END;
-- +goose StatementEnd
