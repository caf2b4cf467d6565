package models

import "context"

// The events version is a number that grows whenever anything an event
// shows may have changed: an event written or deleted (its tags with it),
// or its creator renamed or deleted. Readers that keep answers (the API's
// cache of what anonymous callers see) compare it before every use, so a
// change made through any instance, any code path or the CLI is seen by
// every instance at once: the counter is written by database triggers, in
// the writing transaction itself, and a reader sees the new number exactly
// when it can see the new data.
//
// The counter is spread over the 16 rows of events_versions, so that
// PostgreSQL writers in different transactions do not all queue for one
// row lock; the version is their sum. The table, its rows and the triggers
// are made by the migrations (models/migrations): SQLite's triggers bump
// slot 0 only, since it has one writer at a time; PostgreSQL's are
// constraint triggers deferred to commit, and the first in a transaction
// bumps the slot picked by the transaction id, so the counter row is the
// last lock a writer takes. A user's other columns (sign-in time, token
// version, role) show in no event, so only a rename or a deletion counts.

// Version returns the current events version. Read it before the data it
// guards, and keep what was read only while the version stays the same.
func (s *Events) Version(ctx context.Context) (int64, error) {
	stmt, err := s.stmts.version.get(ctx, s.db, readPool, "SELECT COALESCE(SUM(version), 0) FROM events_versions")
	if err != nil {
		return 0, translate("read events version", err)
	}
	var v int64
	err = stmt.QueryRowContext(queryContext(ctx, s.db)).Scan(&v)
	return v, translate("read events version", err)
}
