package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

func mkUser(t *testing.T, db *gorm.DB, email, role string) *models.User {
	t.Helper()
	u, err := models.NewUsers(db).Create(context.Background(), email, "", "x", role)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mkEvent(t *testing.T, s *models.Events, creator uint, title string, start *time.Time, vis string, tags ...string) *models.Event {
	t.Helper()
	in := models.EventInput{Title: title, StartsAt: start, Visibility: vis, Tags: tags}
	in.Normalize()
	if errs := in.Validate(); len(errs) > 0 {
		t.Fatalf("invalid fixture: %v", errs)
	}
	e, err := s.Create(context.Background(), creator, in)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func at(h int) *time.Time {
	t := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
	return &t
}

func TestEventCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		e := mkEvent(t, s, u.ID, "  Launch  ", at(0), "", "Go", "go", " Web ")
		if e.Title != "Launch" || e.Visibility != models.VisibilityPublic || e.Tags != "go,web" || e.Creator.Email != "ada@example.com" {
			t.Fatalf("created %+v", e)
		}
		in := models.EventInput{Title: "Launch party", Tags: []string{"party"}, Visibility: "private", StartsAt: at(1), EndsAt: at(2)}
		in.Normalize()
		got, err := s.Update(ctx, e.ID, in)
		if err != nil || got.Title != "Launch party" || got.TagList()[0] != "party" || got.Visibility != "private" || !got.EndsAt.Equal(*at(2)) {
			t.Fatalf("updated %+v, %v", got, err)
		}
		page, _ := s.List(ctx, models.EventQuery{Viewer: u, Tag: "go", Now: *at(-10)})
		if len(page.Events) != 0 {
			t.Fatal("old tag still matches after update")
		}
		if err := s.Delete(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, e.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
		if err := s.Delete(ctx, e.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

func TestEventValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	many := make([]string, 11)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	cases := []struct {
		name  string
		in    models.EventInput
		field string
	}{
		{"no title", models.EventInput{}, "title"},
		{"long title", models.EventInput{Title: long(201)}, "title"},
		{"control in title", models.EventInput{Title: "a\x00b"}, "title"},
		{"javascript image", models.EventInput{Title: "x", Image: "javascript:alert(1)"}, "image"},
		{"relative image", models.EventInput{Title: "x", Image: "/img.png"}, "image"},
		{"long description", models.EventInput{Title: "x", Description: long(5001)}, "description"},
		{"long location", models.EventInput{Title: "x", Location: long(201)}, "location"},
		{"too many tags", models.EventInput{Title: "x", Tags: many}, "tags"},
		{"long tag", models.EventInput{Title: "x", Tags: []string{long(31)}}, "tags"},
		{"ends before start", models.EventInput{Title: "x", StartsAt: at(2), EndsAt: at(1)}, "ends_at"},
		{"bad visibility", models.EventInput{Title: "x", Visibility: "friends"}, "visibility"},
	}
	for _, tc := range cases {
		tc.in.Normalize()
		errs := tc.in.Validate()
		if errs[tc.field] == "" || len(errs) != 1 {
			t.Errorf("%s: errors %v, want one on %s", tc.name, errs, tc.field)
		}
	}
	ok := models.EventInput{Title: long(200), Image: "https://example.com/a.png", Description: long(5000),
		Location: long(200), Tags: many[:10], StartsAt: at(1), EndsAt: at(1), Visibility: "PRIVATE"}
	ok.Normalize()
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("limits refused: %v", errs)
	}
}

// TestEventListing checks the browse order, visibility, search and tag
// filter, and that paging forward and back visits every event exactly once.
func TestEventListing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		ada := mkUser(t, db, "ada@example.com", models.RoleUser)
		bob := mkUser(t, db, "bob@example.com", models.RoleUser)
		now := *at(0)
		var want []string
		// Upcoming, in the order they must appear (ties on start broken by id).
		mkEvent(t, s, ada.ID, "up-3", at(30), "public", "go")
		mkEvent(t, s, ada.ID, "up-1", at(10), "public")
		mkEvent(t, s, ada.ID, "up-2a", at(20), "public", "go")
		mkEvent(t, s, ada.ID, "up-2b", at(20), "public")
		mkEvent(t, s, ada.ID, "up-now", at(0), "public")
		mkEvent(t, s, bob.ID, "bob-private-up", at(5), "private", "go")
		mkEvent(t, s, ada.ID, "past-2", at(-20), "public")
		mkEvent(t, s, ada.ID, "past-1", at(-10), "public")
		mkEvent(t, s, ada.ID, "ada-private-past", at(-5), "private")
		mkEvent(t, s, ada.ID, "undated-1", nil, "public", "go")
		mkEvent(t, s, ada.ID, "undated-2", nil, "public")
		want = []string{"up-now", "up-1", "up-2a", "up-2b", "up-3", "ada-private-past", "past-1", "past-2", "undated-2", "undated-1"}

		for _, limit := range []int{1, 2, 3, 4, 50} {
			got, pages := walk(t, s, models.EventQuery{Viewer: ada, Order: models.OrderBrowse, Limit: limit, Now: now})
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("limit %d: %v\nwant      %v", limit, got, want)
			}
			// Back from the last page gives the same pages in reverse.
			for i := len(pages) - 1; i > 0; i-- {
				prev, err := s.List(ctx, models.EventQuery{Viewer: ada, Order: models.OrderBrowse, Limit: limit, Before: pages[i].Prev})
				if err != nil {
					t.Fatal(err)
				}
				if titles(prev.Events) != titles(pages[i-1].Events) {
					t.Fatalf("limit %d: back from page %d gave %q, want %q", limit, i, titles(prev.Events), titles(pages[i-1].Events))
				}
				if (prev.Prev == "") != (i-1 == 0) {
					t.Fatalf("limit %d: page %d prev cursor %q", limit, i-1, prev.Prev)
				}
			}
		}

		got, _ := walk(t, s, models.EventQuery{Order: models.OrderBrowse, Limit: 3, Now: now})
		if strings.Contains(strings.Join(got, " "), "private") {
			t.Fatalf("anonymous sees private events: %v", got)
		}
		got, _ = walk(t, s, models.EventQuery{Viewer: ada, Order: models.OrderUpcoming, Limit: 2, Now: now, Tag: "GO"})
		if strings.Join(got, " ") != "up-2a up-3" {
			t.Fatalf("upcoming tag go: %v", got)
		}
		got, _ = walk(t, s, models.EventQuery{Viewer: ada, Order: models.OrderID, Limit: 4, Now: now, Q: "UP-2"})
		if strings.Join(got, " ") != "up-2a up-2b" {
			t.Fatalf("search: %v", got)
		}
		got, _ = walk(t, s, models.EventQuery{Viewer: ada, Order: models.OrderID, Q: "%"})
		if len(got) != 0 {
			t.Fatalf("%% matched literally nothing but got %v", got)
		}
		got, _ = walk(t, s, models.EventQuery{Viewer: ada, AllPrivate: true, Order: models.OrderID, Limit: 5, Now: now})
		if len(got) != 11 || got[0] != "up-3" {
			t.Fatalf("admin id order: %v", got)
		}

		// A cursor of one order is refused by another, and garbage is refused.
		first, _ := s.List(ctx, models.EventQuery{Viewer: ada, Order: models.OrderID, Limit: 1, Now: now})
		for _, bad := range []string{"garbage", "e30", first.Next + "x"} {
			if _, err := s.List(ctx, models.EventQuery{Viewer: ada, Order: models.OrderID, After: bad}); !errors.Is(err, models.ErrBadCursor) {
				t.Errorf("cursor %q: %v", bad, err)
			}
		}
		if _, err := s.List(ctx, models.EventQuery{Viewer: ada, Order: models.OrderBrowse, After: first.Next}); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("cursor of another order accepted: %v", err)
		}
	})
}

// TestEventPagingStableUnderInserts: events added while a reader pages
// through neither repeat nor push out events that existed at the start.
func TestEventPagingStableUnderInserts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		existing := map[string]bool{}
		for i := 0; i < 12; i++ {
			title := fmt.Sprintf("e%02d", i)
			mkEvent(t, s, u.ID, title, at(i), "public")
			existing[title] = true
		}
		for _, order := range []models.EventOrder{models.OrderID, models.OrderBrowse} {
			seen := map[string]int{}
			q := models.EventQuery{Viewer: u, Order: order, Limit: 5, Now: *at(0)}
			for n := 0; ; n++ {
				page, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					seen[e.Title]++
				}
				// Someone adds events before, between and after while we read.
				mkEvent(t, s, u.ID, fmt.Sprintf("new-%d-%d-a", order, n), at(-1), "public")
				mkEvent(t, s, u.ID, fmt.Sprintf("new-%d-%d-b", order, n), at(3), "public")
				if page.Next == "" {
					break
				}
				q.After = page.Next
			}
			for title := range existing {
				if seen[title] != 1 {
					t.Errorf("order %d: %s seen %d times", order, title, seen[title])
				}
			}
			for title, n := range seen {
				if n > 1 {
					t.Errorf("order %d: %s repeated", order, title)
				}
			}
		}
	})
}

func walk(t *testing.T, s *models.Events, q models.EventQuery) ([]string, []models.EventPage) {
	t.Helper()
	var out []string
	var pages []models.EventPage
	for i := 0; i < 100; i++ {
		page, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
		for _, e := range page.Events {
			out = append(out, e.Title)
		}
		if page.Next == "" {
			return out, pages
		}
		q.After, q.Before = page.Next, ""
	}
	t.Fatal("pagination does not end")
	return nil, nil
}

func titles(es []models.Event) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Title)
	}
	return strings.Join(out, " ")
}

// An admin's deletion and its audit entry commit together: without the
// entry, the event stays.
func TestDeleteAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		kept, gone := mkEvent(t, s, u.ID, "Kept", at(0), ""), mkEvent(t, s, u.ID, "Gone", at(1), "")
		entry := models.AuditEntry{ActorEmail: "root@example.com", Action: models.ActionEventDeletedAdmin, Target: "Gone"}
		if err := s.DeleteAudited(ctx, gone.ID, entry); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, gone.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
		if es, err := models.NewAudit(db).List(ctx, models.AuditFilter{Action: models.ActionEventDeletedAdmin}); err != nil || len(es) != 1 {
			t.Fatalf("audit = %+v, %v", es, err)
		}
		if err := db.Migrator().DropTable(&models.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAudited(ctx, kept.ID, entry); err == nil {
			t.Fatal("deleted without an audit log")
		}
		if _, err := s.Get(ctx, kept.ID); err != nil {
			t.Fatalf("the event went although its audit entry failed: %v", err)
		}
	})
}
