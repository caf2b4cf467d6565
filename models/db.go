package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqliteParams are the connection settings every SQLite connection gets:
// WAL so readers never wait for the writer, a busy timeout so writers queue
// instead of failing, foreign keys on, fsync at commit points that WAL needs
// to keep acknowledged writes, and immediate transactions so a read-then-write
// transaction takes the write lock up front instead of failing with
// SQLITE_BUSY halfway through.
var sqliteParams = []string{
	"_journal_mode=WAL",
	"_busy_timeout=5000",
	"_foreign_keys=1",
	"_synchronous=NORMAL",
	"_txlock=immediate",
}

// ErrNoFTS5 means this binary was built without the build tag sqlite_fts5,
// so its SQLite lacks the FTS5 module that the search index (and the
// triggers keeping it) need: it refuses SQLite databases rather than fail
// on the first event written.
var ErrNoFTS5 = errors.New("this binary was built without the sqlite_fts5 build tag, which SQLite search needs: build it with make build (go build -tags sqlite_fts5)")

// IsPostgres reports whether a database URL names a PostgreSQL server rather
// than an SQLite file.
func IsPostgres(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// SQLitePath returns the file path of an SQLite database URL (a plain path or
// a file: URI), or "" for PostgreSQL and in-memory databases.
func SQLitePath(databaseURL string) string {
	if IsPostgres(databaseURL) {
		return ""
	}
	p := databaseURL
	if strings.HasPrefix(p, "file:") {
		p = strings.TrimPrefix(p, "file:")
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	if p == "" || p == ":memory:" {
		return ""
	}
	return p
}

// uriPathEscaper escapes what SQLite would otherwise read as URI syntax in
// a plain path: '?' (parameters), '#' (fragment) and '%' (an escape).
var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// sqliteDSN turns a path or file: URI into a DSN carrying sqliteParams,
// keeping any parameters the user gave. A plain path is taken literally.
func sqliteDSN(databaseURL string) string {
	dsn := databaseURL
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + uriPathEscaper.Replace(dsn)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for _, p := range sqliteParams {
		name := p[:strings.IndexByte(p, '=')+1]
		if strings.Contains(dsn, name) {
			continue // the user's own setting wins
		}
		dsn += sep + p
		sep = "&"
	}
	return dsn
}

// Open connects to the database named by databaseURL: PostgreSQL for a
// postgres:// URL, otherwise an SQLite file. SQL is never logged with its
// values; only slow queries and errors reach log, parameterised.
func Open(databaseURL string, log *slog.Logger) (*gorm.DB, error) {
	if !IsPostgres(databaseURL) && !SQLiteFTS5 {
		return nil, ErrNoFTS5
	}
	var dialector gorm.Dialector
	var split *splitPool
	switch {
	case IsPostgres(databaseURL):
		dialector = postgres.Open(databaseURL)
	case SQLitePath(databaseURL) != "":
		if err := createPrivate(SQLitePath(databaseURL)); err != nil {
			return nil, err
		}
		var err error
		if split, err = openSplit(sqliteDSN(databaseURL)); err != nil {
			return nil, err
		}
		dialector = sqlite.New(sqlite.Config{Conn: split})
	default:
		// In memory: one pool, or each connection would be a database of its own.
		dialector = sqlite.Open(sqliteDSN(databaseURL))
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Logger: logger.New(slogWriter{log}, logger.Config{
			SlowThreshold:             200 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
	})
	if err != nil {
		if split != nil {
			_ = split.Close()
		}
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if IsPostgres(databaseURL) {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(20)
	} else {
		// WAL allows many readers beside the one writer (a pool of its
		// own for files, see splitPool); a handful of connections per core
		// is plenty.
		n := 4 * runtime.NumCPU()
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.Ping(); err != nil {
		_ = Close(db)
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// createPrivate creates a missing database file with mode 0600 before
// SQLite opens it: SQLite would make it 0644 (less the umask), readable by
// every user of the machine, and it gives the -wal and -shm files the mode
// of the database file. An existing file is left as it is (and is not even
// opened: closing a descriptor of an SQLite file drops the POSIX locks
// this process holds on it).
func createPrivate(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // made meanwhile by another process
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

// openSplit opens the two pools of an SQLite file: the write connection
// first, so that WAL mode is set before any read-only connection opens.
func openSplit(dsn string) (*splitPool, error) {
	write, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(5 * time.Minute)
	if err := pingBusy(write); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	read, err := sql.Open("sqlite3", dsn+sep+"_query_only=1")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return &splitPool{write: write, read: read, scans: make(chan struct{}, runtime.NumCPU())}, nil
}

// pingBusy opens the first connection, trying again for a while when the
// file is locked: turning a new file to WAL takes a lock that SQLite's busy
// handler does not wait for, so processes opening one fresh file at the
// same moment (several `planner migrate`) would otherwise fail at once.
func pingBusy(db *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.Ping()
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close closes the database's connection pools.
func Close(db *gorm.DB) error {
	if p, ok := db.ConnPool.(*splitPool); ok {
		return p.Close()
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers, for the readiness probe.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// isPostgres tells the stores which dialect they talk to, for the few
// statements (row locks) that differ.
func isPostgres(db *gorm.DB) bool {
	return db.Dialector.Name() == "postgres"
}

// slogWriter adapts slog to GORM's logger, which only wants Printf.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Printf(format string, args ...any) {
	w.log.Warn("database", "detail", fmt.Sprintf(format, args...))
}
