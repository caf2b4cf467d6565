package models_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// testHash stands in for a bcrypt hash where the stores do not care what
// it is.
const testHash = "$2a$04$not.a.real.hash.only.stored.by.the.store.tests......."

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openSQLite opens (without migrating) an SQLite database at url, closed at
// cleanup.
func openSQLite(t *testing.T, url string) *gorm.DB {
	t.Helper()
	db, err := models.Open(url, quietLog())
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	return db
}

func TestMigrateTwice(t *testing.T) {
	tables := []any{&models.User{}, &models.Event{}, &models.EventTag{}, &models.SigninThrottle{}, &models.RevokedSession{}, &models.AuditEntry{}}
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		// dbtest has migrated once already; twice more must change nothing.
		for i := range 2 {
			if err := models.Migrate(ctx, db); err != nil {
				t.Fatalf("Migrate #%d: %v", i+2, err)
			}
		}
		for _, m := range tables {
			if !db.Migrator().HasTable(m) {
				t.Errorf("table for %T is missing after migrating", m)
			}
		}
		// The schema still works: the unique email index survived.
		users := models.NewUsers(db)
		if _, err := users.Create(ctx, "a@example.com", "", testHash, models.RoleUser); err != nil {
			t.Fatalf("Create: %v", err)
		}
		if _, err := users.Create(ctx, "A@example.com", "", testHash, models.RoleUser); !errors.Is(err, models.ErrDuplicate) {
			t.Fatalf("duplicate after migrating twice: got %v, want ErrDuplicate", err)
		}
	})
}

func TestMigrateFreshSQLiteTwice(t *testing.T) {
	db := openSQLite(t, dbtest.SQLiteURL(t))
	for i := range 2 {
		if err := models.Migrate(context.Background(), db); err != nil {
			t.Fatalf("Migrate #%d on a fresh file: %v", i+1, err)
		}
	}
	if !db.Migrator().HasTable(&models.User{}) {
		t.Fatal("users table missing")
	}
}

func TestOpenSQLitePragmas(t *testing.T) {
	db := openSQLite(t, dbtest.SQLiteURL(t))
	ctx := context.Background()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	// Hold several connections of the pool at once, so each check runs on
	// distinct connections: every one of them must carry the settings.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = sqlDB.Conn(ctx); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
	}
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL
	}
	for _, tt := range tests {
		for i, c := range conns {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tt.pragma, err)
			}
			if strings.ToLower(got) != tt.want {
				t.Errorf("connection %d: PRAGMA %s = %q, want %q", i, tt.pragma, got, tt.want)
			}
		}
	}
}

// TestOpenSQLiteImmediateTransactions shows that a transaction takes the
// write lock when it begins (txlock=immediate), before it writes anything:
// a second connection that does not wait cannot begin one meanwhile.
func TestOpenSQLiteImmediateTransactions(t *testing.T) {
	path := dbtest.SQLiteURL(t)
	db := openSQLite(t, path)
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	// A user's own parameter wins over the defaults: this one never waits.
	impatient := openSQLite(t, "file:"+path+"?_busy_timeout=0")
	var timeout int
	if err := impatient.Raw("PRAGMA busy_timeout").Scan(&timeout).Error; err != nil {
		t.Fatal(err)
	}
	if timeout != 0 {
		t.Fatalf("busy_timeout given in the URL = %d, want 0 (the user's setting must win)", timeout)
	}

	tx := db.Begin()
	if tx.Error != nil {
		t.Fatalf("Begin: %v", tx.Error)
	}
	// Only read inside the first transaction.
	var n int64
	if err := tx.Model(&models.User{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	other := impatient.Begin()
	if other.Error == nil {
		other.Rollback()
		tx.Rollback()
		t.Fatal("a second transaction began while the first held the write lock: transactions are not immediate")
	}
	if !strings.Contains(other.Error.Error(), "locked") && !strings.Contains(other.Error.Error(), "busy") {
		t.Errorf("second Begin failed with %v, want database is locked", other.Error)
	}
	if err := tx.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	again := impatient.Begin()
	if again.Error != nil {
		t.Fatalf("Begin after the first transaction ended: %v", again.Error)
	}
	again.Rollback()
}

func TestOpenSQLiteFileURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uri.db")
	db := openSQLite(t, "file:"+path+"?cache=private")
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode with a file: URI = %q, want wal", mode)
	}
	if _, err := models.NewUsers(db).Create(context.Background(), "u@example.com", "", testHash, models.RoleUser); err != nil {
		t.Fatal(err)
	}
	// The data went to the file named by the URI.
	db2 := openSQLite(t, path)
	if _, err := models.NewUsers(db2).ByEmail(context.Background(), "u@example.com"); err != nil {
		t.Fatalf("user not found through the plain path: %v", err)
	}
}

func TestOpenPostgresBadURL(t *testing.T) {
	// Nothing listens on port 1: Open must fail at once, not hand back a
	// pool that fails later.
	if _, err := models.Open("postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", quietLog()); err == nil {
		t.Fatal("Open of an unreachable PostgreSQL server succeeded")
	}
}

func TestPing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := models.Ping(context.Background(), db); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	db := openSQLite(t, dbtest.SQLiteURL(t))
	if err := models.Close(db); err != nil {
		t.Fatal(err)
	}
	if err := models.Ping(context.Background(), db); err == nil {
		t.Fatal("Ping of a closed database succeeded")
	}
}

func TestIsPostgres(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"postgres://u@h/db", true},
		{"postgresql://u:p@h:5432/db?sslmode=disable", true},
		{"planner.db", false},
		{"file:planner.db", false},
		{":memory:", false},
		{"/var/lib/postgres://x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := models.IsPostgres(tt.url); got != tt.want {
			t.Errorf("IsPostgres(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"planner.db", "planner.db"},
		{"/var/lib/planner/planner.db", "/var/lib/planner/planner.db"},
		{"file:planner.db", "planner.db"},
		{"file:/data/p.db?_busy_timeout=100&cache=shared", "/data/p.db"},
		{"file:/data/my%20planner.db", "/data/my planner.db"},
		{":memory:", ""},
		{"file::memory:?cache=shared", ""},
		{"file:", ""},
		{"", ""},
		{"postgres://u@h/db", ""},
		{"postgresql://u@h/db", ""},
	}
	for _, tt := range tests {
		if got := models.SQLitePath(tt.url); got != tt.want {
			t.Errorf("SQLitePath(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestSQLiteConcurrentWriters runs many read-then-write transactions at
// once. Without immediate transactions and a busy timeout some of them fail
// with "database is locked".
func TestSQLiteConcurrentWriters(t *testing.T) {
	db := dbtest.SQLite(t)
	users := models.NewUsers(db)
	ctx := context.Background()
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var err error
				if i%2 == 0 {
					err = db.Transaction(func(tx *gorm.DB) error {
						var n int64
						if err := tx.Model(&models.User{}).Count(&n).Error; err != nil {
							return err
						}
						return tx.Create(&models.User{
							Email: fmt.Sprintf("w%d-%d@example.com", w, i), Name: fmt.Sprintf("after %d", n),
							PasswordHash: testHash, Role: models.RoleUser, TokenVersion: 1,
						}).Error
					})
				} else {
					// The store's own transaction: insert, then name the user.
					_, err = users.Create(ctx, fmt.Sprintf("w%d-%d@example.com", w, i), "", testHash, models.RoleUser)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	var n int64
	if err := db.Model(&models.User{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != workers*each {
		t.Fatalf("users = %d, want %d", n, workers*each)
	}
}

// TestOpenSQLitePlainPathIsLiteral checks that a plain path is the file's
// name, even with characters that mean something in a file: URI; and that
// SQLitePath (which names the development key file) agrees.
func TestOpenSQLitePlainPathIsLiteral(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a#b.db", "c%41d.db", "e?f=1.db", "with space.db"} {
		path := filepath.Join(dir, name)
		if got := models.SQLitePath(path); got != path {
			t.Errorf("SQLitePath(%q) = %q, want the path itself", path, got)
		}
		db := openSQLite(t, path)
		if err := models.Migrate(context.Background(), db); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := models.NewUsers(db).Create(context.Background(), "u@example.com", "", testHash, models.RoleUser); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := models.Close(db); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("%s: database not written to the named file (%v)", name, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasSuffix(n, "-wal"), strings.HasSuffix(n, "-shm"), strings.HasSuffix(n, ".db"), strings.HasSuffix(n, ".db-migrate.lock"):
		default:
			t.Errorf("stray file %q: a path was read as a URI", n)
		}
	}
}

// TestSQLiteFilesArePrivate: the database file and its -wal and -shm are
// created mode 0600, whatever the umask allows, so other users of the
// machine cannot read password hashes or sessions.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, under which SQLite makes 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "planner.db")
	db := openSQLite(t, path)
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if _, err := models.NewUsers(db).Create(context.Background(), "u@example.com", "", testHash, models.RoleUser); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm", path + "-migrate.lock"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(name), mode)
		}
	}
}
