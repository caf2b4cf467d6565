package handlers

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// instancesOn is two apps on one database, each with its own connection
// pool and its own kept pages: on SQLite two pools on the same file, on
// PostgreSQL twoInstances.
func instancesOn(t *testing.T, dialect string, edit ...func(*Config)) (a, b *testApp) {
	t.Helper()
	if dialect == "postgres" {
		dsn := dbtest.PostgresURL(t)
		return newTestAppOn(t, openMigrated(t, dsn), edit...), newTestAppOn(t, openMigrated(t, dsn), edit...)
	}
	path := dbtest.SQLiteURL(t)
	return newTestAppOn(t, openMigrated(t, path), edit...), newTestAppOn(t, openMigrated(t, path), edit...)
}

func openMigrated(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := models.Open(dsn, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	if err := models.Migrate(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// listed is the titles /events shows the client, in order; with the group
// each is under when group is set.
func listed(t *testing.T, c *client, path string) []string {
	t.Helper()
	out, err := listedOrErr(t, c, path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// listedOrErr is listed for goroutines other than the test's.
func listedOrErr(t *testing.T, c *client, path string) ([]string, error) {
	rec := c.do(httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
	d, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		return nil, err
	}
	var out []string
	d.Find(`[data-testid^="group-"]`).Each(func(_ int, g *goqueryS) {
		group, _ := g.Attr("data-testid")
		g.Find(`[data-testid="event-link"]`).Each(func(_ int, a *goqueryS) {
			out = append(out, strings.TrimPrefix(group, "group-")+":"+strings.TrimSpace(a.Text()))
		})
	})
	return out, nil
}

// TestPageListsFollowChanges reads /events on two instances, each page
// twice (the second read is the kept page), around every kind of change
// made through one instance or the other, and checks that no page is ever
// stale: create, rename, private and public again, the creator's new
// name, RSVP counts, delete.
func TestPageListsFollowChanges(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			a, b := instancesOn(t, dialect)
			a.createUser("owner@example.com", goodPassword, models.RoleUser)
			a.createUser("other@example.com", goodPassword, models.RoleUser)
			ownerA := a.client()
			ownerA.login("owner@example.com", goodPassword)
			ownerB := ownerA.on(b)
			otherA := a.client()
			otherA.login("other@example.com", goodPassword)
			otherB := otherA.on(b)
			anonA, anonB := a.client(), b.client()

			// want says, for each kind of reader, what /events shows.
			check := func(step string, owner, other []string) {
				t.Helper()
				for range 2 {
					for _, r := range []struct {
						who  string
						c    *client
						want []string
					}{{"the owner on A", ownerA, owner}, {"the owner on B", ownerB, owner}, {"another user on A", otherA, other},
						{"another user on B", otherB, other}, {"anonymous on A", anonA, other}, {"anonymous on B", anonB, other}} {
						if got := listed(t, r.c, "/events"); strings.Join(got, "|") != strings.Join(r.want, "|") {
							t.Fatalf("%s: %s sees %q, want %q", step, r.who, got, r.want)
						}
					}
				}
			}
			check("nothing yet", nil, nil)

			form := eventForm("Picnic")
			form.Set("capacity", "10")
			if rec := ownerA.post("/events", form); rec.Code != http.StatusSeeOther {
				t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
			}
			var id uint
			if err := a.db.Model(&models.Event{}).Select("id").Where("title = ?", "Picnic").Scan(&id).Error; err != nil || id == 0 {
				t.Fatalf("created event: %d %v", id, err)
			}
			edit := fmt.Sprintf("/events/%d/edit", id)
			check("created on A", []string{"upcoming:Picnic"}, []string{"upcoming:Picnic"})

			form.Set("title", "Picnic in the park")
			if rec := ownerB.post(edit, form); rec.Code != http.StatusSeeOther {
				t.Fatalf("rename: %d %s", rec.Code, rec.Body.String())
			}
			check("renamed on B", []string{"upcoming:Picnic in the park"}, []string{"upcoming:Picnic in the park"})

			form.Set("visibility", "private")
			if rec := ownerA.post(edit, form); rec.Code != http.StatusSeeOther {
				t.Fatalf("make private: %d %s", rec.Code, rec.Body.String())
			}
			check("made private on A", []string{"upcoming:Picnic in the park"}, nil)

			form.Set("visibility", "public")
			if rec := ownerB.post(edit, form); rec.Code != http.StatusSeeOther {
				t.Fatalf("make public: %d %s", rec.Code, rec.Body.String())
			}
			check("public again on B", []string{"upcoming:Picnic in the park"}, []string{"upcoming:Picnic in the park"})

			if rec := otherB.post("/events", eventForm("Second picnic")); rec.Code != http.StatusSeeOther {
				t.Fatalf("create on B: %d %s", rec.Code, rec.Body.String())
			}
			both := []string{"upcoming:Picnic in the park", "upcoming:Second picnic"}
			check("another created on B", both, both)

			// The page shows the creator's name and the RSVP counts.
			if rec := ownerA.post("/account", url.Values{"name": {"Ada the Organiser"}}); rec.Code != http.StatusSeeOther {
				t.Fatalf("rename owner: %d %s", rec.Code, rec.Body.String())
			}
			for _, c := range []*client{otherA, otherB} {
				if body := c.get("/events").Body.String(); !strings.Contains(body, "by Ada the Organiser") {
					t.Fatalf("the creator's new name is not shown: %s", body)
				}
			}
			for _, c := range []*client{ownerA, ownerB} {
				if body := c.get("/events").Body.String(); !strings.Contains(body, "10 of 10 seats left") {
					t.Fatalf("the seats are not shown: %s", body)
				}
			}
			if rec := otherB.post(fmt.Sprintf("/events/%d/rsvp", id), url.Values{}); rec.Code != http.StatusSeeOther {
				t.Fatalf("rsvp: %d %s", rec.Code, rec.Body.String())
			}
			for _, c := range []*client{ownerA, ownerB} {
				if body := c.get("/events").Body.String(); !strings.Contains(body, "9 of 10 seats left") {
					t.Fatalf("the RSVP is not counted on the page: %s", body)
				}
			}

			if rec := ownerA.post(fmt.Sprintf("/events/%d/delete", id), url.Values{}); rec.Code != http.StatusSeeOther {
				t.Fatalf("delete: %d %s", rec.Code, rec.Body.String())
			}
			check("deleted on A", []string{"upcoming:Second picnic"}, []string{"upcoming:Second picnic"})
		})
	}
}

// TestPageListsFollowTheClock keeps a first page that shows an upcoming
// event, then moves the clock past its start with no change to the data:
// the page must show it as past.
func TestPageListsFollowTheClock(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	app := newTestApp(t, func(c *Config) { c.Clock = clock })
	u := app.createUser("owner@example.com", goodPassword, models.RoleUser)
	events := models.NewEvents(app.db)
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	for i, at := range []time.Time{start, start.Add(24 * time.Hour)} {
		in := models.EventInput{Title: "Soon " + strconv.Itoa(i), StartsAt: &at, Visibility: models.VisibilityPublic}
		in.Normalize()
		if _, err := events.Create(t.Context(), u.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	c := app.client()
	c.login("owner@example.com", goodPassword)
	for range 2 {
		if got := strings.Join(listed(t, c, "/events"), "|"); got != "upcoming:Soon 0|upcoming:Soon 1" {
			t.Fatalf("before the start: %q", got)
		}
	}
	offset.Store(int64(2 * time.Hour))
	for range 2 {
		if got := strings.Join(listed(t, c, "/events"), "|"); got != "upcoming:Soon 1|past:Soon 0" {
			t.Fatalf("two hours later, with no change to the data: %q", got)
		}
	}
}

// TestSharedReadsNeverOlder has readers on one instance read /events while
// a writer renames an event through the other, over and over: each page
// must show a name at least as new as the last rename that had committed
// before the page was asked for.
func TestSharedReadsNeverOlder(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			a, b := instancesOn(t, dialect)
			a.createUser("owner@example.com", goodPassword, models.RoleUser)
			writer := b.client()
			writer.login("owner@example.com", goodPassword)
			form := eventForm("rev 0")
			if rec := writer.post("/events", form); rec.Code != http.StatusSeeOther {
				t.Fatalf("create: %d", rec.Code)
			}
			cookies := maps.Clone(writer.jar) // the owner's session, for readers on A
			var committed atomic.Int64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := int64(1); ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					form.Set("title", "rev "+strconv.FormatInt(i, 10))
					if rec := writer.post("/events/1/edit", form); rec.Code != http.StatusSeeOther {
						t.Errorf("rename: %d", rec.Code)
						return
					}
					committed.Store(i)
				}
			}()
			parallel(8, func(int) {
				r := &client{app: a, jar: maps.Clone(cookies), addr: "192.0.2.11:40000", headers: http.Header{}}
				for range 40 {
					before := committed.Load()
					got, err := listedOrErr(t, r, "/events")
					if err != nil || len(got) != 1 {
						t.Errorf("page shows %q (%v)", got, err)
						return
					}
					n, err := strconv.ParseInt(strings.TrimPrefix(got[0], "upcoming:rev "), 10, 64)
					if err != nil || n < before {
						t.Errorf("page shows %q after rev %d had committed", got[0], before)
						return
					}
				}
			})
			close(stop)
			<-done
		})
	}
}
