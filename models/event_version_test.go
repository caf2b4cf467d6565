package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TestEventsVersion checks that every change an event's JSON could show
// moves the version, whatever path it takes (stores, raw SQL, a cascading
// user deletion), and that other user changes leave it alone.
func TestEventsVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		events, users := models.NewEvents(db), models.NewUsers(db)
		version := func() int64 {
			t.Helper()
			v, err := events.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		other := mkUser(t, db, "bob@example.com", models.RoleUser)
		last := version()
		changed := func(what string, want bool) {
			t.Helper()
			v := version()
			if got := v != last; got != want {
				t.Errorf("%s: version %d -> %d, want changed=%v", what, last, v, want)
			}
			if v < last {
				t.Errorf("%s: version went back from %d to %d", what, last, v)
			}
			last = v
		}

		e := mkEvent(t, events, u.ID, "Launch", at(0), "public", "go")
		changed("create", true)
		in := models.EventInput{Title: "Launch party", Visibility: "private"}
		in.Normalize()
		if _, err := events.Update(ctx, e.ID, in); err != nil {
			t.Fatal(err)
		}
		changed("update", true)
		if err := db.Exec("UPDATE events SET title = ? WHERE id = ?", "Raw", e.ID).Error; err != nil {
			t.Fatal(err)
		}
		changed("raw update", true)
		if err := users.SetName(ctx, u.ID, "Ada L."); err != nil {
			t.Fatal(err)
		}
		changed("creator renamed", true)
		if err := users.RecordSignIn(ctx, u.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := users.BumpTokenVersion(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		changed("sign-in time and token version", false)
		if err := events.Delete(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		changed("delete", true)
		mkEvent(t, events, other.ID, "Bob's", nil, "public")
		changed("create again", true)
		if err := users.Delete(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		changed("creator deleted", true)
		if err := models.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		changed("migrate again", false)
	})
}
