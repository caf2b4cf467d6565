package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
)

// TestMigrateStatus lists the migrations pending, then applied.
func TestMigrateStatus(t *testing.T) {
	e := devEnv(t)
	r := cli(t, e, "", "migrate", "status")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "00001_initial.sql") ||
		!strings.Contains(r.stdout, `run "planner migrate"`) {
		t.Errorf("status of an empty database:\n%s", r.stdout)
	}
	r = cli(t, e, "", "migrate")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "applied 00001_initial.sql") || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("migrate printed:\n%s", r.stdout)
	}
	r = cli(t, e, "", "migrate", "status")
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "applied") || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("status after migrating:\n%s", r.stdout)
	}
	// A second migrate applies nothing.
	r = cli(t, e, "", "migrate")
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "applied ") {
		t.Errorf("second migrate printed:\n%s", r.stdout)
	}
}

// TestUserCommandsDoNotMigrate: on a database whose schema is behind, a
// user command refuses with one line saying what to run, and creates no
// table as a side effect.
func TestUserCommandsDoNotMigrate(t *testing.T) {
	e := devEnv(t)
	for _, args := range [][]string{
		{"user", "create", "--email", "a@example.com"},
		{"user", "promote", "a@example.com"},
		{"user", "unlock", "a@example.com"},
	} {
		r := cli(t, e, "correct-horse-battery\n", args...)
		wantCode(t, r, 1)
		if !strings.Contains(r.stderr, "schema is behind") || !strings.Contains(r.stderr, `run "planner migrate"`) {
			t.Errorf("%q: stderr %q", args, r.stderr)
		}
	}
	db, err := models.Open(e["PLANNER_DATABASE_URL"], discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	if db.Migrator().HasTable("users") {
		t.Error("a user command created the users table")
	}
}

// TestServeRefusesNewerSchema plays a binary older than its database: serve
// (with or without --no-migrate) and the user commands refuse to start,
// and the database keeps its version.
func TestServeRefusesNewerSchema(t *testing.T) {
	e := devEnv(t)
	wantCode(t, cli(t, e, "", "migrate"), 0)
	db, err := models.Open(e["PLANNER_DATABASE_URL"], discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	_, latest, err := models.SchemaVersions(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", latest+1, true).Error; err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--addr", freeAddr(t)},
		{"serve", "--no-migrate", "--addr", freeAddr(t)},
		{"migrate"},
		{"user", "promote", "a@example.com"},
	} {
		r := cli(t, e, "", args...)
		wantCode(t, r, 1)
		if !strings.Contains(r.stderr, "newer than this binary") || !strings.Contains(r.stderr, fmt.Sprint(latest+1)) {
			t.Errorf("%q: stderr %q, want the newer schema named", args, r.stderr)
		}
	}
	if current, _, _ := models.SchemaVersions(context.Background(), db); current != latest+1 {
		t.Errorf("schema version %d after the refusals, want %d", current, latest+1)
	}
}

// TestServeNoMigrate: --no-migrate refuses a schema that is behind and
// leaves it alone.
func TestServeNoMigrate(t *testing.T) {
	e := devEnv(t)
	r := cli(t, e, "", "serve", "--no-migrate", "--addr", freeAddr(t))
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "schema is behind") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = cli(t, e, "", "migrate", "status")
	if !strings.Contains(r.stdout, "pending") {
		t.Errorf("--no-migrate migrated:\n%s", r.stdout)
	}
}

// TestConcurrentMigrateProcesses starts four `planner migrate` processes at
// once on one database: every one succeeds and each migration is recorded
// exactly once.
func TestConcurrentMigrateProcesses(t *testing.T) {
	bin := buildPlanner(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "planner.db")
			if backend == "postgres" {
				dbURL = dbtest.PostgresURL(t)
			}
			const n = 4
			var wg sync.WaitGroup
			outs := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd := exec.Command(bin, "migrate")
					cmd.Env = append(os.Environ(), "PLANNER_DATABASE_URL="+dbURL)
					out, err := cmd.CombinedOutput()
					outs[i], errs[i] = string(out), err
				}()
			}
			wg.Wait()
			appliedBy := 0
			for i := range n {
				if errs[i] != nil {
					t.Errorf("process %d: %v\n%s", i, errs[i], outs[i])
				}
				if strings.Contains(outs[i], "applied 00001_initial.sql") {
					appliedBy++
				}
			}
			if appliedBy != 1 {
				t.Errorf("%d processes applied 00001_initial.sql, want exactly 1:\n%s", appliedBy, strings.Join(outs, "\n--\n"))
			}
			db, err := models.Open(dbURL, discardLog())
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			var dups []struct {
				VersionID int64
				N         int64
			}
			if err := db.Raw("SELECT version_id, count(*) AS n FROM goose_db_version GROUP BY version_id HAVING count(*) > 1").Scan(&dups).Error; err != nil {
				t.Fatal(err)
			}
			if len(dups) > 0 {
				t.Errorf("migrations recorded more than once: %+v", dups)
			}
			if err := models.CheckSchema(context.Background(), db); err != nil {
				t.Errorf("after the concurrent runs: %v", err)
			}
		})
	}
}
