//go:build !unix

package models

import (
	"context"
	"database/sql"
)

// sqliteFileLock takes no lock where flock is missing: there, run
// `planner migrate` once before starting several processes on one file.
type sqliteFileLock struct{ path string }

func (*sqliteFileLock) SessionLock(context.Context, *sql.Conn) error   { return nil }
func (*sqliteFileLock) SessionUnlock(context.Context, *sql.Conn) error { return nil }
