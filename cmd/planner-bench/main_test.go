package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
)

// TestMain lets the test binary stand in for a server that startPolled
// waits for: BENCH_CHILD=serve listens on BENCH_ADDR and answers /health
// after a moment; BENCH_CHILD=exit fails at once.
func TestMain(m *testing.M) {
	switch os.Getenv("BENCH_CHILD") {
	case "serve":
		ln, err := net.Listen("tcp", os.Getenv("BENCH_ADDR"))
		if err != nil {
			os.Exit(2)
		}
		ready := time.Now().Add(300 * time.Millisecond)
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health" || time.Now().Before(ready) {
				http.Error(w, "not yet", http.StatusServiceUnavailable)
			}
		}))
		os.Exit(0)
	case "exit":
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestStartPolled(t *testing.T) {
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s, err := startPolled("child", os.Args[0], nil, append(os.Environ(), "BENCH_CHILD=serve", "BENCH_ADDR="+addr), addr, "/health", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(s.url + "/health")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("after startPolled: GET /health = %v %v, want 200", res, err)
	}
	if res != nil {
		res.Body.Close()
	}
	_ = s.stop() // SIGTERM ends it with a signal status
	if _, err := http.Get(s.url + "/health"); err == nil {
		t.Error("server still answers after stop")
	}

	_, err = startPolled("child", os.Args[0], nil, append(os.Environ(), "BENCH_CHILD=exit"), addr, "/health", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "exited before serving") {
		t.Errorf("child that exits: err = %v, want exited before serving", err)
	}
}

func TestParseFlags(t *testing.T) {
	b, keep, err := parseFlags([]string{"--only", "byid, create", "--keep", "--set", "PLANNER_LOG_LEVEL=warn", "--postgres", ""}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !keep || !b.runs("byid") || !b.runs("create") || b.runs("list") || b.runs("search") {
		t.Errorf("--only byid,create --keep: keep %v, runs byid %v create %v list %v search %v",
			keep, b.runs("byid"), b.runs("create"), b.runs("list"), b.runs("search"))
	}
	if len(b.extra) != 1 || b.extra[0] != "PLANNER_LOG_LEVEL=warn" || b.postgres != "" || b.procs != 1 || b.dur != 5*time.Second {
		t.Errorf("settings: extra %q postgres %q procs %d duration %s", b.extra, b.postgres, b.procs, b.dur)
	}
	b, _, err = parseFlags(nil, io.Discard, io.Discard)
	if err != nil || b.only != nil || !b.runs("scaleout") || b.pbBin != "" {
		t.Errorf("no flags: %v; only %v, PocketBase %q", err, b.only, b.pbBin)
	}
	for _, args := range [][]string{
		{"--only", "byid,bogus"},
		{"--duration", "500ms"},
		{"--set", "GOGC=1"},
		{"stray"},
	} {
		if _, _, err := parseFlags(args, io.Discard, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

// TestPostgresSchema: the PostgreSQL side gets a schema of its own that
// Planner's URL selects, and dropping it leaves nothing behind.
func TestPostgresSchema(t *testing.T) {
	base := os.Getenv(dbtest.PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set in CI", dbtest.PostgresEnv)
		}
		t.Skipf("%s not set; skipping PostgreSQL", dbtest.PostgresEnv)
	}
	b := &bench{postgres: base}
	u, drop, err := b.pgSchema()
	if err != nil {
		t.Fatal(err)
	}
	dropped := false
	t.Cleanup(func() {
		if !dropped {
			drop()
		}
	})
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	schema := pu.Query().Get("search_path")
	if !strings.HasPrefix(schema, "bench_") {
		t.Fatalf("URL %q selects no bench schema", u)
	}
	admin, err := models.Open(base, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(admin)
	exists := func() bool {
		var n int64
		if err := admin.Raw("SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", schema).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	db, err := models.Open(u, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var current string
	err = db.Raw("SELECT current_schema()").Scan(&current).Error
	_ = models.Close(db)
	if err != nil || current != schema {
		t.Errorf("Planner's URL works in schema %q (%v), want %q", current, err, schema)
	}
	if !exists() {
		t.Fatalf("schema %s was not created", schema)
	}
	drop()
	dropped = true
	if exists() {
		t.Errorf("schema %s still exists after drop", schema)
	}
}
