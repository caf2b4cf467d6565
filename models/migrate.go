package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"
)

// migrationFiles holds the schema's history: one folder of numbered SQL
// files per dialect, applied in order by goose and recorded in its table
// (goose_db_version). A migration is never edited once released; a change
// is a new file in both folders (see README, "Adding a migration").
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Schema errors. Both wrap a message with the two versions.
var (
	// ErrSchemaBehind means the database lacks migrations this binary has:
	// run `planner migrate` (or `planner serve`, which migrates at start).
	ErrSchemaBehind = errors.New("database schema is behind this binary")
	// ErrSchemaNewer means a newer binary migrated the database: this one
	// must not write to it.
	ErrSchemaNewer = errors.New("database schema is newer than this binary")
)

// Migration is one migration of this binary's history and whether the
// database has it.
type Migration struct {
	Version   int64
	Name      string // file name, e.g. 00001_initial.sql
	Applied   bool
	AppliedAt time.Time // zero when pending
}

// AppliedMigration is a migration that ApplyMigrations just ran.
type AppliedMigration struct {
	Version  int64
	Name     string
	Duration time.Duration
}

// Migrate brings the schema up to date (see ApplyMigrations).
func Migrate(ctx context.Context, db *gorm.DB) error {
	_, err := ApplyMigrations(ctx, db)
	return err
}

// ApplyMigrations applies every pending migration, each in a transaction of
// its own, under a lock that makes a second migrating process wait and then
// find nothing left to do: PostgreSQL's advisory lock for the schema, and
// on an SQLite file a lock on a file beside it. A database newer than this
// binary is refused with ErrSchemaNewer and left untouched.
func ApplyMigrations(ctx context.Context, db *gorm.DB) ([]AppliedMigration, error) {
	p, err := newMigrator(db, true)
	if err != nil {
		return nil, err
	}
	current, latest, err := p.GetVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	if current > latest {
		return nil, schemaError(ErrSchemaNewer, current, latest)
	}
	results, err := p.Up(ctx)
	var applied []AppliedMigration
	for _, r := range results {
		if r.Error == nil {
			applied = append(applied, AppliedMigration{Version: r.Source.Version, Name: baseName(r.Source.Path), Duration: r.Duration})
		}
	}
	if err != nil {
		return applied, fmt.Errorf("migrate schema: %w", err)
	}
	return applied, nil
}

// Migrations lists this binary's migrations, oldest first, with whether
// each is applied. It changes nothing beyond creating goose's (empty)
// version table on a database that has none.
func Migrations(ctx context.Context, db *gorm.DB) ([]Migration, error) {
	p, err := newMigrator(db, false)
	if err != nil {
		return nil, err
	}
	status, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema status: %w", err)
	}
	out := make([]Migration, 0, len(status))
	for _, s := range status {
		m := Migration{Version: s.Source.Version, Name: baseName(s.Source.Path), Applied: s.State == goose.StateApplied}
		if m.Applied {
			m.AppliedAt = s.AppliedAt.UTC()
		}
		out = append(out, m)
	}
	return out, nil
}

// SchemaVersions returns the database's schema version (0 for an empty or
// unversioned database) and the newest one this binary knows.
func SchemaVersions(ctx context.Context, db *gorm.DB) (current, latest int64, err error) {
	p, err := newMigrator(db, false)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, latest, nil
}

// CheckSchema returns nil when the database has exactly this binary's
// migrations, else an error wrapping ErrSchemaBehind or ErrSchemaNewer:
// what the commands that do not migrate check before they touch anything.
func CheckSchema(ctx context.Context, db *gorm.DB) error {
	current, latest, err := SchemaVersions(ctx, db)
	if err != nil {
		return err
	}
	switch {
	case current < latest:
		return schemaError(ErrSchemaBehind, current, latest)
	case current > latest:
		return schemaError(ErrSchemaNewer, current, latest)
	}
	return nil
}

func schemaError(sentinel error, current, latest int64) error {
	return fmt.Errorf("%w (database at version %d, this binary at %d)", sentinel, current, latest)
}

// newMigrator builds goose's provider for db's dialect, with the lock when
// it is to apply migrations. goose runs on a connection of db's write pool.
func newMigrator(db *gorm.DB, locked bool) (*goose.Provider, error) {
	sqlDB, err := writePool(db)
	if err != nil {
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	var locker lock.SessionLocker = &sqliteFileLock{path: sqliteFile(db)}
	if isPostgres(db) {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		locker = postgresSchemaLock{}
	}
	fsys, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locked {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	// Never Close the provider: that would close db's pool.
	p, err := goose.NewProvider(dialect, sqlDB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	return p, nil
}

func baseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[i+1:]
		}
	}
	return path
}

// postgresSchemaLock is a session advisory lock named after the schema the
// connection works in, so that migrations of one schema queue behind each
// other while other schemas of the same database (the tests' ones) are left
// alone. pg_advisory_lock waits in the server and gives up when ctx ends;
// the lock dies with the connection if the process does.
type postgresSchemaLock struct{}

const schemaLockKey = "hashtextextended('planner migrate ' || current_schema(), 0)"

func (postgresSchemaLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+schemaLockKey+")"); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return nil
}

func (postgresSchemaLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock("+schemaLockKey+")"); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	return nil
}

// sqliteFile is the path of db's SQLite file, "" in memory.
func sqliteFile(db *gorm.DB) string {
	sqlDB, err := writePool(db)
	if err != nil {
		return ""
	}
	var seq int
	var name, file string
	// The main database's file; empty for an in-memory database.
	if err := sqlDB.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		return ""
	}
	return file
}

var _ lock.SessionLocker = (*sqliteFileLock)(nil)
var _ lock.SessionLocker = postgresSchemaLock{}
