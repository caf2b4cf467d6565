// Package dbtest opens real, migrated, throw-away databases for tests: an
// SQLite file in a temp dir, and a private schema on the PostgreSQL server
// named by PLANNER_TEST_POSTGRES_URL.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/planner/planner/models"
	"gorm.io/gorm"
)

// PostgresEnv names the variable holding the test server's URL.
const PostgresEnv = "PLANNER_TEST_POSTGRES_URL"

// SQLiteURL returns the path of a fresh SQLite file in a temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "planner.db")
}

// SQLite opens and migrates a fresh SQLite database, closed at cleanup.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	return open(t, SQLiteURL(t))
}

// PostgresURL returns the URL of a fresh, empty schema on the test server,
// dropped at cleanup. Without PLANNER_TEST_POSTGRES_URL the test is skipped,
// except in CI, where it fails: CI must never silently skip PostgreSQL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set in CI", PostgresEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL", PostgresEnv)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := models.Open(base, quiet())
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = models.Close(admin)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens and migrates a fresh schema on the test server.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	return open(t, PostgresURL(t))
}

// Each runs f as a subtest on SQLite and on PostgreSQL.
func Each(t *testing.T, f func(t *testing.T, db *gorm.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}

func open(t testing.TB, databaseURL string) *gorm.DB {
	t.Helper()
	db, err := models.Open(databaseURL, quiet())
	if err != nil {
		t.Fatalf("open %s: %v", databaseURL, err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
