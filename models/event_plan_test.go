package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqlCapture is a GORM logger that keeps every statement run, with its
// values filled in.
type sqlCapture struct {
	logger.Interface
	mu   sync.Mutex
	stmt []string
}

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	c.mu.Lock()
	c.stmt = append(c.stmt, sql)
	c.mu.Unlock()
}

// TestListQueryPlansScale checks, on SQLite, that every page of every
// listing reads an index in the page's order and stops when the page is
// full: no sorting of all matches (a temp B-tree) and no OR over two
// indexes, either of which makes a page cost more as the table grows.
//
// Searches (with windows shrunk so that these few events take every path)
// may sort, but only what is bounded whatever the size of the table: the
// rows of their window, which itself must be read in page order through an
// index and stop at its limit, or the matches the FTS5 index gives, which
// must then be the outer loop with events read by id.
func TestListQueryPlansScale(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	u := mkUser(t, db, "ada@example.com", models.RoleUser)
	s := models.NewEvents(db)
	for i := range 30 {
		vis := "public"
		if i%5 == 0 {
			vis = "private"
		}
		var start *time.Time
		if i%3 != 0 {
			start = at(i*10 - 150)
		}
		mkEvent(t, s, u.ID, "event", start, vis, "go")
	}
	capture := &sqlCapture{Interface: logger.Discard}
	traced := models.NewEvents(db.Session(&gorm.Session{Logger: capture}))
	models.SetSearchBounds(traced, 3, 3, 4)
	now := *at(0)
	queries := []models.EventQuery{
		{Order: models.OrderID, Limit: 5},
		{Viewer: u, Order: models.OrderID, Limit: 5},
		{Order: models.OrderBrowse, Limit: 5},
		{Viewer: u, Order: models.OrderBrowse, Limit: 5},
		{Viewer: u, Order: models.OrderUpcoming, Limit: 5},
		{Viewer: u, AllPrivate: true, Order: models.OrderNewest, Limit: 5}, // the admin's list
	}
	for _, base := range queries[:len(queries):len(queries)] {
		// No match, a common term, short ones (common and rare), and with a
		// tag where the listing itself reads the tag's index in page order.
		for _, term := range []string{"nomatch", "event", "ev", "zq"} {
			q := base
			q.Q = term
			queries = append(queries, q)
			if q.Order == models.OrderID {
				q.Tag = "go"
				queries = append(queries, q)
			}
		}
	}
	for _, q := range queries {
		q.Now = now
		for page := 0; page < 4; page++ { // first pages and cursor pages
			p, err := traced.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
	}
	if len(capture.stmt) == 0 {
		t.Fatal("no statement captured")
	}
	kinds := map[string]int{}
	for _, sql := range capture.stmt {
		switch {
		case strings.Contains(sql, "MATCH"):
			kinds["index"]++
		case strings.Contains(sql, ") AS events"):
			kinds["window"]++
		case strings.Contains(sql, "OFFSET"):
			kinds["window end"]++
		}
	}
	for _, k := range []string{"index", "window", "window end"} {
		if kinds[k] == 0 {
			t.Errorf("no %s statement captured: the test does not take every path", k)
		}
	}
	for _, sql := range capture.stmt {
		if problem := planProblem(t, db, sql); problem != "" {
			t.Errorf("plan grows with the table (%s):\n%s", problem, sql)
		}
	}
}

// planProblem explains sql on SQLite and says what in its plan makes it
// cost more as the table grows, "" when nothing does.
func planProblem(t *testing.T, db *gorm.DB, sql string) string {
	t.Helper()
	type step struct {
		parent int
		detail string
	}
	plan := map[int]step{}
	var order []int
	rows, err := db.Raw("EXPLAIN QUERY PLAN " + sql).Rows()
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan[id] = step{parent, detail}
		order = append(order, id)
	}
	rows.Close()
	var all []string
	for _, id := range order {
		all = append(all, plan[id].detail)
	}
	text := strings.Join(all, " | ")
	if strings.Contains(text, "MULTI-INDEX OR") {
		return "an OR over two indexes: " + text
	}
	// The first loop of the statement itself (not of a subquery).
	var outer string
	for _, id := range order {
		if d := plan[id].detail; plan[id].parent == 0 && (strings.HasPrefix(d, "SCAN ") || strings.HasPrefix(d, "SEARCH ")) {
			outer = d
			break
		}
	}
	switch {
	case strings.Contains(sql, "MATCH"):
		// The index's candidates, counted up to a limit or read by id and
		// sorted: bounded by what the index gives.
		if !strings.HasPrefix(all[0], "SCAN events_search VIRTUAL TABLE INDEX 0:M") &&
			!(strings.Contains(sql, "AS candidates") && strings.Contains(text, "SCAN events_search VIRTUAL TABLE INDEX 0:M")) {
			return "the FTS5 index is not the outer loop: " + text
		}
		for _, d := range all {
			if d == "SCAN events" || strings.HasPrefix(d, "SCAN events ") ||
				strings.HasPrefix(d, "SEARCH events ") && !strings.Contains(d, "INTEGER PRIMARY KEY") {
				return "events read otherwise than by the index's rowids: " + text
			}
		}
		return ""
	case strings.Contains(sql, ") AS events"):
		// The window is a co-routine read in page order and stopped at its
		// limit; the statement filters it in that order, with no sort.
		if outer != "SCAN events" {
			return "the window is not the outer loop: " + text
		}
	}
	if strings.Contains(text, "TEMP B-TREE") {
		return "a sort of every match: " + text
	}
	return ""
}

// TestSearchPlansPostgres checks, on 20,000 events, that PostgreSQL looks a
// rare term up in the pg_trgm indexes: every statement of the search that
// filters with LIKE reads a GIN index, none reads the whole table.
func TestSearchPlansPostgres(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx := context.Background()
	u := mkUser(t, db, "ada@example.com", models.RoleUser)
	if err := db.Exec(`INSERT INTO events (creator_id, title, description, location, starts_at, visibility, created_at, updated_at)
		SELECT ?, 'Seeded event ' || i, 'A plain description', 'Hall ' || (i % 100),
			CASE WHEN i % 3 = 0 THEN NULL ELSE now() + make_interval(hours => (i % 2000) - 1000) END,
			CASE WHEN i % 10 = 0 THEN 'private' ELSE 'public' END, now(), now()
		FROM generate_series(1, 20000) AS i`, u.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("ANALYZE events").Error; err != nil {
		t.Fatal(err)
	}
	capture := &sqlCapture{Interface: logger.Discard}
	traced := models.NewEvents(db.Session(&gorm.Session{Logger: capture}))
	for _, q := range []models.EventQuery{
		{Q: "zebracorn", Order: models.OrderID},
		{Viewer: u, Q: "zebracorn", Order: models.OrderBrowse},
		{Viewer: u, AllPrivate: true, Q: "event 1234", Order: models.OrderNewest},
	} {
		q.Now = time.Now()
		if _, err := traced.List(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, sql := range capture.stmt {
		if !strings.Contains(sql, "LIKE") {
			continue
		}
		var plan []string
		rows, err := db.Raw("EXPLAIN " + sql).Rows()
		if err != nil {
			t.Fatalf("explain %s: %v", sql, err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, strings.TrimSpace(line))
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "idx_events_search_") || strings.Contains(text, "Seq Scan on events") {
			t.Errorf("search not served by the GIN indexes:\n%s\n%s", sql, text)
		}
		checked++
	}
	if checked < 6 { // a count and a read per search at least
		t.Fatalf("only %d search statements captured", checked)
	}
}
