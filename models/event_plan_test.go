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
	now := *at(0)
	for _, q := range []models.EventQuery{
		{Order: models.OrderID, Limit: 5},
		{Viewer: u, Order: models.OrderID, Limit: 5},
		{Order: models.OrderBrowse, Limit: 5},
		{Viewer: u, Order: models.OrderBrowse, Limit: 5},
		{Viewer: u, Order: models.OrderUpcoming, Limit: 5},
	} {
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
	for _, sql := range capture.stmt {
		var plan []string
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
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, " | ")
		if strings.Contains(all, "TEMP B-TREE") || strings.Contains(all, "MULTI-INDEX OR") {
			t.Errorf("plan grows with the table:\n%s\n%s", sql, all)
		}
	}
}
