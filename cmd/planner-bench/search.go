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
	col  int
	url  string
	seed func(ctx context.Context, n int) error
	done func()
}

// millionCheck runs the scale workloads (the bearer list, the signed-in
// page, RSVPs) and every search of benchSearches on the API and on the
// events page at 1,000 events and at b.scale events, on SQLite and (with
// --postgres) PostgreSQL, then by-id reads at rest and while 8 clients
// search, at b.scale events: one database per server, seeded once.
func (b *bench) millionCheck() ([]line, error) {
	dbs := []searchDB{b.sqliteSearchDB()}
	if b.postgres != "" {
		u, drop, err := b.pgSchema()
		if err != nil {
			return nil, err
		}
		dbs = append(dbs, searchDB{col: colPostgres, url: u, done: drop,
			seed: func(ctx context.Context, n int) error { return bulkEventsPostgres(ctx, u, 1, n) }})
	}
	var lines []line
	for _, d := range dbs {
		l, err := b.searchOn(d)
		d.done()
		if err != nil {
			return nil, fmt.Errorf("at %d events on %s: %w", b.scale, colNames[d.col], err)
		}
		lines = append(lines, l...)
	}
	return lines, nil
}

func (b *bench) sqliteSearchDB() searchDB {
	path := filepath.Join(b.dir, "million.db")
	return searchDB{col: colSQLite, url: path, done: func() {},
		seed: func(ctx context.Context, n int) error { return bulkEvents(ctx, path, 1, n) }}
}

// pgSchema makes a fresh schema on the --postgres server and returns
// Planner's database URL for it and a function that drops it.
func (b *bench) pgSchema() (string, func(), error) {
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	schema := "bench_" + hex.EncodeToString(rb[:])
	u, err := url.Parse(b.postgres)
	if err != nil {
		return "", nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	admin, err := models.Open(b.postgres, quiet)
	if err != nil {
		return "", nil, err
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		_ = models.Close(admin)
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); _ = models.Close(admin) }
	return u.String(), drop, nil
}

// searchOn measures the scale workloads and every search on one database
// at both sizes.
func (b *bench) searchOn(d searchDB) ([]line, error) {
	name := colNames[d.col]
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

	rsvpPath, err := cl.cappedEvent(token)
	if err != nil {
		return nil, err
	}
	scales := b.scaleLoads(s.url, token, cookie, rsvpPath)

	type surface struct{ name, path, header string }
	surfaces := []surface{
		{"`GET /api/event/?q=", "/api/event/?limit=50&q=", "Authorization: Bearer " + token},
		{"`GET /events?q=", "/events?q=", "Cookie: " + cookie},
	}
	measure := func(size string) (map[string]result, error) {
		out := map[string]result{}
		if b.runs("scale") {
			for _, w := range scales {
				r, err := b.measure(name, "scale at "+size+": "+w.name, w.l)
				if err != nil {
					return nil, err
				}
				out[w.name] = r
			}
		}
		if !b.runs("search") {
			return out, nil
		}
		for _, sf := range surfaces {
			for _, sr := range benchSearches {
				r, err := b.measure(name, fmt.Sprintf("search at %s: %s%s`", size, sf.name, sr.q),
					load{url: s.url + sf.path + url.QueryEscape(sr.q), threads: 2, conns: 8,
						duration: b.searchDur, headers: []string{sf.header}})
				if err != nil {
					return nil, err
				}
				out[sf.name+sr.q] = r
			}
		}
		return out, nil
	}
	small, err := measure("1,000")
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := d.seed(ctx, b.scale-1000); err != nil {
		return nil, fmt.Errorf("seed %d events: %w", b.scale, err)
	}
	big := count(float64(b.scale))
	fmt.Fprintf(b.out, "search on %s: seeded %d more events (index kept by the database) in %s\n",
		name, b.scale-1000, time.Since(t0).Round(time.Millisecond))
	large, err := measure(big)
	if err != nil {
		return nil, err
	}

	var lines []line
	if b.runs("scale") {
		for _, w := range scales {
			lines = append(lines, scaleLine(d.col, big, w.name, small[w.name], large[w.name]))
		}
	}
	if !b.runs("search") {
		return lines, nil
	}
	for _, sf := range surfaces {
		for _, sr := range benchSearches {
			k := sf.name + sr.q
			ratio := small[k].okRate() / large[k].okRate() // time per request, 1M over 1k
			c := cell{text: fmt.Sprintf("%.2f× (%s/s → %s/s)", ratio, count(small[k].okRate()), count(large[k].okRate())),
				ok: yes(ratio <= 5 && large[k].errors() == 0 && small[k].errors() == 0)}
			if e := small[k].errors() + large[k].errors(); e > 0 {
				c.text += ", " + count(e) + " errors"
			}
			lines = append(lines, on(d.col, fmt.Sprintf("search at %s ÷ at 1,000 events: %s%s`, %s", big, sf.name, sr.q, sr.name),
				"≤ 5×", c))
		}
	}

	// By-id reads (bearer: uncached) at rest, then while 8 clients search
	// the events page for a term the index cannot serve, at full size.
	byID := load{url: s.url + "/api/event/25", threads: 1, conns: 4, duration: 2 * b.searchDur,
		headers: []string{"Authorization: Bearer " + token}}
	rest, err := b.measure(name, "by id, bearer, at rest, "+big+" events", byID)
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
	during, err := b.measure(name, "by id, bearer, while 8 clients search /events?q=zq", byID)
	bo := <-bc
	if err != nil {
		return nil, err
	}
	if bo.err != nil {
		return nil, bo.err
	}
	ratio := float64(during.p99()) / float64(max(rest.p99(), time.Microsecond))
	lines = append(lines, on(d.col, fmt.Sprintf("by id p99 while 8 clients search `/events?q=zq` ÷ at rest, %s events", big),
		"≤ 10×", cell{text: fmt.Sprintf("%.1f× (%s vs %s; searches %s/s)", ratio, dur(during.p99()), dur(rest.p99()), count(bo.r.okRate())),
			ok: yes(ratio <= 10 && during.errors() == 0)}))
	return lines, nil
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
