package dbtest_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

func TestEachGivesMigratedDatabases(t *testing.T) {
	var dialects []string
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		dialects = append(dialects, db.Dialector.Name())
		if !db.Migrator().HasTable(&models.User{}) {
			t.Fatal("database is not migrated")
		}
		var n int64
		if err := db.Model(&models.User{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("fresh database has %d users (%v), want 0", n, err)
		}
		if _, err := models.NewUsers(db).Create(context.Background(), "only@example.com", "", "h", models.RoleUser); err != nil {
			t.Fatal(err)
		}
	})
	if len(dialects) == 0 || dialects[0] != "sqlite" {
		t.Errorf("Each ran on %v, want sqlite first", dialects)
	}
}

// TestDatabasesAreIsolated checks that two databases never share rows, so
// tests can run in any order.
func TestDatabasesAreIsolated(t *testing.T) {
	for _, open := range []struct {
		name string
		f    func(testing.TB) *gorm.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		t.Run(open.name, func(t *testing.T) {
			a, b := open.f(t), open.f(t)
			if _, err := models.NewUsers(a).Create(context.Background(), "x@example.com", "", "h", models.RoleUser); err != nil {
				t.Fatal(err)
			}
			if _, err := models.NewUsers(b).ByEmail(context.Background(), "x@example.com"); err == nil {
				t.Fatal("a row written to one test database shows in another")
			}
		})
	}
}

func TestPostgresSchemaDroppedAtCleanup(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		u, err := url.Parse(dbtest.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		schema = u.Query().Get("search_path")
		if !strings.HasPrefix(schema, "t_") {
			t.Fatalf("search_path = %q, want a private t_ schema", schema)
		}
	})
	if schema == "" {
		t.Skip("PostgreSQL not available")
	}
	admin, err := models.Open(os.Getenv(dbtest.PostgresEnv), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(admin)
	var n int64
	if err := admin.Raw("SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", schema).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("schema %s still exists after its test ended", schema)
	}
}

// TestPostgresMissing runs a test that needs PostgreSQL, in a child process
// without PLANNER_TEST_POSTGRES_URL: skipped on a laptop, failed in CI.
func TestPostgresMissing(t *testing.T) {
	if os.Getenv("DBTEST_CHILD") == "1" {
		dbtest.PostgresURL(t)
		return
	}
	tests := []struct {
		ci       string
		wantFail bool
		wantText string
	}{
		{"", false, "skipping PostgreSQL"},
		{"true", true, "is not set in CI"},
	}
	for _, tt := range tests {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPostgresMissing$", "-test.v")
		cmd.Env = append(cleanEnv(), "DBTEST_CHILD=1", "CI="+tt.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.wantFail {
			t.Errorf("CI=%q: child failed = %v (%v), want %v\n%s", tt.ci, failed, err, tt.wantFail, out)
		}
		if !strings.Contains(string(out), tt.wantText) {
			t.Errorf("CI=%q: child output lacks %q:\n%s", tt.ci, tt.wantText, out)
		}
	}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, dbtest.PostgresEnv+"=") && !strings.HasPrefix(kv, "CI=") {
			env = append(env, kv)
		}
	}
	return env
}
