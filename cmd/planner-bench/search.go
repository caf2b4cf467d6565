package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/planner/planner/models"
)

// benchSearches are the searches of the search workload: a term no event
// has, one ten events have at any size, one every event has, one a tenth
// have, and short ones (common, and one no event has, which reads a
// bounded window per page).
var benchSearches = []struct{ name, q string }{
	{"no match", "zebracorn"},
	{"rare (10 events)", "okapi"},
	{"common (all)", "seeded"},
	{"a tenth", "hall 7"},
	{"2 chars, common", "ev"},
	{"1 char, common", "7"},
	{"2 chars, no match", "zq"},
}

// searchDB is one database of the search workload.
type searchDB struct {
	name string
	url  string
	seed func(ctx context.Context, n int) error
	done func()
}

// searchCheck runs every search of benchSearches on the API and on the
// events page at 1,000 events and at b.scale events, on SQLite and (with
// --postgres) PostgreSQL, then by-id reads at rest and while 8 clients
// search, at b.scale events.
func (b *bench) searchCheck() ([]row, error) {
	dbs := []searchDB{b.sqliteSearchDB()}
	if b.postgres != "" {
		pg, err := b.postgresSearchDB()
		if err != nil {
			return nil, err
		}
		dbs = append(dbs, pg)
	}
	var rows []row
	for _, d := range dbs {
		r, err := b.searchOn(d)
		d.done()
		if err != nil {
			return nil, fmt.Errorf("search on %s: %w", d.name, err)
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func (b *bench) sqliteSearchDB() searchDB {
	path := filepath.Join(b.dir, "search.db")
	return searchDB{name: "SQLite", url: path, done: func() {},
		seed: func(ctx context.Context, n int) error { return bulkEvents(ctx, path, 1, n) }}
}

// postgresSearchDB is a fresh schema on the --postgres server, dropped
// afterwards.
func (b *bench) postgresSearchDB() (searchDB, error) {
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	schema := "bench_" + hex.EncodeToString(rb[:])
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	admin, err := models.Open(b.postgres, quiet)
	if err != nil {
		return searchDB{}, err
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		_ = models.Close(admin)
		return searchDB{}, err
	}
	u, err := url.Parse(b.postgres)
	if err != nil {
		return searchDB{}, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dbURL := u.String()
	return searchDB{name: "PostgreSQL", url: dbURL,
		seed: func(ctx context.Context, n int) error { return bulkEventsPostgres(ctx, dbURL, 1, n) },
		done: func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); _ = models.Close(admin) },
	}, nil
}

// searchOn measures every search on one database at both sizes.
func (b *bench) searchOn(d searchDB) ([]row, error) {
	s, err := b.startPlanner(d.url)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	cl := newAPI(s.url)
	token, err := cl.account(true)
	if err != nil {
		return nil, err
	}
	cookie, err := cl.browser()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := d.seed(ctx, 1000); err != nil {
		return nil, fmt.Errorf("seed 1,000 events: %w", err)
	}
	// Ten okapis among the first thousand; the million adds none.
	for id := 51; id < 1000; id += 100 {
		path := fmt.Sprintf("/api/event/%d", id)
		st, body, _, err := cl.do("PUT", path, "application/json", `{"title":"Okapi evening"}`,
			http.Header{"Authorization": {"Bearer " + token}})
		if err != nil || st != http.StatusOK {
			return nil, fmt.Errorf("PUT %s: %d %s %v", path, st, body, err)
		}
	}

	type surface struct{ name, path, header string }
	surfaces := []surface{
		{"GET /api/event/?q=", "/api/event/?limit=50&q=", "Authorization: Bearer " + token},
		{"GET /events?q=", "/events?q=", "Cookie: " + cookie},
	}
	measure := func() (map[string]result, error) {
		out := map[string]result{}
		for _, sf := range surfaces {
			for _, sr := range benchSearches {
				r, err := b.wrk(load{url: s.url + sf.path + url.QueryEscape(sr.q), threads: 2, conns: 8,
					duration: b.searchDur, headers: []string{sf.header}})
				if err != nil {
					return nil, err
				}
				out[sf.name+sr.q] = r
			}
		}
		return out, nil
	}
	small, err := measure()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := d.seed(ctx, b.scale-1000); err != nil {
		return nil, fmt.Errorf("seed %d events: %w", b.scale, err)
	}
	fmt.Fprintf(b.out, "search on %s: seeded %d more events (index kept by the database) in %s\n",
		d.name, b.scale-1000, time.Since(t0).Round(time.Millisecond))
	large, err := measure()
	if err != nil {
		return nil, err
	}

	big := count(float64(b.scale))
	var rows []row
	for _, sf := range surfaces {
		for _, sr := range benchSearches {
			k := sf.name + sr.q
			ratio := small[k].rate() / large[k].rate() // time per request, 1M over 1k
			rows = append(rows, b.row(fmt.Sprintf("%s %s%s (%s), %s events", d.name, sf.name, sr.q, sr.name, big), large[k],
				fmt.Sprintf("%.2fx time of 1,000 (%s/s)", ratio, count(small[k].rate())),
				"<= 5x time of 1,000", yes(ratio <= 5 && large[k].errors() == 0 && small[k].errors() == 0)))
		}
	}

	// By-id reads (bearer: uncached) at rest, then while 8 clients search
	// the events page for a term the index cannot serve, at full size.
	byID := load{url: s.url + "/api/event/25", threads: 1, conns: 4, duration: 2 * b.searchDur,
		headers: []string{"Authorization: Bearer " + token}}
	rest, err := b.wrk(byID)
	if err != nil {
		return nil, err
	}
	type out struct {
		r   result
		err error
	}
	busy := load{url: s.url + "/events?q=zq", threads: 2, conns: 8, duration: 2*b.searchDur + 2*time.Second,
		headers: []string{"Cookie: " + cookie}}
	bc := make(chan out, 1)
	go func() { r, err := b.wrk(busy); bc <- out{r, err} }()
	time.Sleep(time.Second)
	during, err := b.wrk(byID)
	bo := <-bc
	if err != nil {
		return nil, err
	}
	if bo.err != nil {
		return nil, bo.err
	}
	ratio := float64(during.p99()) / float64(max(rest.p99(), time.Microsecond))
	rows = append(rows,
		b.row(fmt.Sprintf("%s GET /api/event/{id}, bearer, at rest, %s events", d.name, big), rest, "", "", nil),
		b.row(fmt.Sprintf("%s GET /api/event/{id} while 8 clients search /events?q=zq", d.name), during,
			fmt.Sprintf("p99 %.1fx at rest", ratio), "p99 <= 10x at rest", yes(ratio <= 10 && during.errors() == 0)),
		b.row(fmt.Sprintf("  the 8 searching clients (%s)", d.name), bo.r, "", "", nil))
	return rows, nil
}

// bulkEventsPostgres is bulkEvents for a PostgreSQL schema: one INSERT ...
// SELECT over generate_series, then ANALYZE, as autovacuum would soon do.
func bulkEventsPostgres(ctx context.Context, databaseURL string, creator uint, n int) error {
	db, err := models.Open(databaseURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer models.Close(db)
	var last int64
	if err := db.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM events").Scan(&last).Error; err != nil {
		return err
	}
	q := strings.Join([]string{
		`INSERT INTO events (creator_id, title, image, description, tags, location, starts_at, ends_at, visibility, created_at, updated_at)`,
		`SELECT @creator, 'Seeded event ' || i, '', 'Seeded for the scale check: a plain description of moderate length.', '',`,
		`  'Hall ' || (i % 100),`,
		`  CASE WHEN i % 3 = 0 THEN NULL ELSE CAST(@now AS timestamptz) + make_interval(hours => ((i * 7919) % 20000 - 10000)::int) END,`,
		`  NULL, CASE WHEN i % 10 = 0 THEN 'private' ELSE 'public' END, CAST(@now AS timestamptz), CAST(@now AS timestamptz)`,
		`FROM generate_series(CAST(@first AS bigint), CAST(@last AS bigint)) AS i`,
	}, "\n")
	now := time.Now().UTC().Truncate(time.Second)
	if err := db.WithContext(ctx).Exec(q, map[string]any{
		"first": last + 1, "last": last + int64(n), "creator": creator, "now": now,
	}).Error; err != nil {
		return err
	}
	return db.WithContext(ctx).Exec("ANALYZE events").Error
}
