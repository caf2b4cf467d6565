package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TestCreateReturnsWhatGetReads checks that the event Create hands back
// (built from what it wrote) is the event Get reads from the database.
func TestCreateReturnsWhatGetReads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		for i, in := range []models.EventInput{benchInput(3), {Title: "Bare"}} {
			in.Normalize()
			made, err := s.Create(ctx, u.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, made.ID)
			if err != nil {
				t.Fatal(err)
			}
			if made.ID != got.ID || made.CreatorID != got.CreatorID || made.Title != got.Title || made.Image != got.Image ||
				made.Description != got.Description || made.Tags != got.Tags || made.Location != got.Location ||
				made.Visibility != got.Visibility || made.Creator.ID != got.Creator.ID ||
				made.Creator.Email != got.Creator.Email || made.Creator.Name != got.Creator.Name ||
				!made.CreatedAt.Equal(got.CreatedAt) || !made.UpdatedAt.Equal(got.UpdatedAt) ||
				(made.StartsAt == nil) != (got.StartsAt == nil) || (made.EndsAt == nil) != (got.EndsAt == nil) ||
				(made.StartsAt != nil && !made.StartsAt.Equal(*got.StartsAt)) || (made.EndsAt != nil && !made.EndsAt.Equal(*got.EndsAt)) {
				t.Fatalf("event %d: Create returned\n%+v\nGet reads\n%+v", i, made, got)
			}
		}
	})
}

// waitQueued waits until n creates wait in s's queue (or, for 0, until a
// committer has taken them all).
func waitQueued(t *testing.T, s *models.Events, n int) {
	t.Helper()
	for range 10000 { // a hang guard, not a timing assertion
		if models.QueuedCreates(s) == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d creates queued, want %d", models.QueuedCreates(s), n)
}

// countEvents is how many events are stored.
func countEvents(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.Event{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConcurrentCreates has 64 clients of four users create at once, so
// that they share commits: each gets its own event, with its fields, tags
// and creator, under an id of its own, and every one is there afterwards,
// found by its tag and by search, and the events version moved on.
func TestConcurrentCreates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		var users []*models.User
		for i := range 4 {
			users = append(users, mkUser(t, db, fmt.Sprintf("u%d@example.com", i), models.RoleUser))
		}
		before, err := s.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const clients = 64
		made := make([]*models.Event, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				in := models.EventInput{Title: fmt.Sprintf("Zebracorn %02d", i), Description: fmt.Sprintf("about %d", i),
					Location: fmt.Sprintf("Room %d", i), Tags: []string{fmt.Sprintf("only-%d", i), "all"}[:1+i%2]}
				in.Normalize()
				made[i], errs[i] = s.Create(ctx, users[i%4].ID, in)
			})
		}
		wg.Wait()
		ids := map[uint]int{}
		for i, e := range made {
			if errs[i] != nil {
				t.Fatalf("client %d: %v", i, errs[i])
			}
			if j, dup := ids[e.ID]; dup {
				t.Fatalf("clients %d and %d both got id %d", j, i, e.ID)
			}
			ids[e.ID] = i
			u := users[i%4]
			wantTags := []string{fmt.Sprintf("only-%d", i), "all"}[:1+i%2]
			if e.Title != fmt.Sprintf("Zebracorn %02d", i) || e.CreatorID != u.ID || e.Creator.ID != u.ID || e.Creator.Email != u.Email ||
				!slices.Equal(e.TagList(), wantTags) {
				t.Fatalf("client %d got %+v", i, e)
			}
			got, err := s.Get(ctx, e.ID)
			if err != nil {
				t.Fatalf("client %d's event %d: %v", i, e.ID, err)
			}
			if got.Title != e.Title || got.Description != fmt.Sprintf("about %d", i) || got.Location != fmt.Sprintf("Room %d", i) ||
				got.CreatorID != u.ID || got.Creator.Email != u.Email || !slices.Equal(got.TagList(), wantTags) {
				t.Fatalf("client %d's event reads back as %+v", i, got)
			}
			page, err := s.List(ctx, models.EventQuery{Tag: fmt.Sprintf("only-%d", i), Now: time.Now()})
			if err != nil || len(page.Events) != 1 || page.Events[0].ID != e.ID {
				t.Fatalf("tag only-%d finds %+v, %v", i, page.Events, err)
			}
		}
		for _, q := range []models.EventQuery{{Tag: "all"}, {Q: "zebracorn"}} {
			q.Now, q.Limit = time.Now(), 100
			page, err := s.List(ctx, q)
			want := clients
			if q.Tag != "" {
				want = clients / 2
			}
			if err != nil || len(page.Events) != want {
				t.Fatalf("%+v finds %d events, want %d (%v)", q, len(page.Events), want, err)
			}
		}
		if after, err := s.Version(ctx); err != nil || after == before {
			t.Fatalf("events version %d, then %d (%v)", before, after, err)
		}
	})
}

// TestFailingCreateKeepsItsBatch writes good events and one whose creator
// does not exist in one batch: the good ones are stored and succeed, and
// only the bad one's caller gets the error, the foreign key's as always.
func TestFailingCreateKeepsItsBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		resume := models.PauseCreates(s)
		const clients = 9
		const bad = 4
		made := make([]*models.Event, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				creator := u.ID
				if i == bad {
					creator = u.ID + 1000
				}
				in := models.EventInput{Title: fmt.Sprintf("Batch %d", i), Tags: []string{"batch"}}
				in.Normalize()
				made[i], errs[i] = s.Create(ctx, creator, in)
			})
		}
		waitQueued(t, s, clients) // all in one batch
		resume()
		wg.Wait()
		if n := models.CreateCommits(s); n != 1 {
			t.Fatalf("the creates took %d batches, want them in one", n)
		}
		for i := range clients {
			if i == bad {
				if !errors.Is(errs[i], gorm.ErrForeignKeyViolated) || made[i] != nil {
					t.Fatalf("the bad event got %v, %v; want the foreign key's error", made[i], errs[i])
				}
				continue
			}
			if errs[i] != nil {
				t.Fatalf("client %d failed with its batch: %v", i, errs[i])
			}
			if got, err := s.Get(ctx, made[i].ID); err != nil || got.Title != fmt.Sprintf("Batch %d", i) {
				t.Fatalf("client %d's event: %+v, %v", i, got, err)
			}
		}
		if n := countEvents(t, db); n != clients-1 {
			t.Fatalf("%d events stored, want %d", n, clients-1)
		}
	})
}

// TestCancelledCreateIsNotWritten cancels a create while it waits in the
// queue: it returns the timeout error and its event is never written,
// while the batch after it is.
func TestCancelledCreateIsNotWritten(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		resume := models.PauseCreates(s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.Create(ctx, u.ID, models.EventInput{Title: "Cancelled", Visibility: models.VisibilityPublic})
			done <- err
		}()
		waitQueued(t, s, 1)
		cancel()
		if err := <-done; !errors.Is(err, models.ErrTimeout) {
			t.Fatalf("a cancelled create returned %v, want ErrTimeout", err)
		}
		resume()
		if _, err := s.Create(context.Background(), u.ID, models.EventInput{Title: "Kept", Visibility: models.VisibilityPublic}); err != nil {
			t.Fatal(err)
		}
		var titles []string
		if err := db.Model(&models.Event{}).Pluck("title", &titles).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(titles, []string{"Kept"}) {
			t.Fatalf("stored %q, want only Kept", titles)
		}
	})
}

// TestCancelledInFlightCreateReportsItsCommit cancels a create after the
// committer has taken it (and waits for the database): the create is
// written, so its caller must be told it succeeded.
func TestCancelledInFlightCreateReportsItsCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := models.NewEvents(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		// Another transaction holds what the batch needs: SQLite's one
		// write connection, PostgreSQL's events table.
		hold := db.Begin()
		if hold.Error != nil {
			t.Fatal(hold.Error)
		}
		if db.Dialector.Name() == "postgres" {
			if err := hold.Exec("LOCK TABLE events IN EXCLUSIVE MODE").Error; err != nil {
				t.Fatal(err)
			}
		}
		resume := models.PauseCreates(s)
		ctx, cancel := context.WithCancel(context.Background())
		type outcome struct {
			e   *models.Event
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			e, err := s.Create(ctx, u.ID, models.EventInput{Title: "In flight", Visibility: models.VisibilityPublic})
			done <- outcome{e, err}
		}()
		waitQueued(t, s, 1)
		resume()
		waitQueued(t, s, 0) // taken by the committer, which waits for hold
		cancel()
		time.Sleep(20 * time.Millisecond) // lets the caller see its cancellation first, were it to act on it
		if err := hold.Rollback().Error; err != nil {
			t.Fatal(err)
		}
		got := <-done
		if got.err != nil {
			t.Fatalf("a create committed after its caller's cancellation returned %v", got.err)
		}
		if e, err := s.Get(context.Background(), got.e.ID); err != nil || e.Title != "In flight" {
			t.Fatalf("its event: %+v, %v", e, err)
		}
	})
}
