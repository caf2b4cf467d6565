package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/planner/planner/models"
)

// TestPublicCacheFollowsChanges reads the API anonymously (the cached
// path) around every kind of change, made through this instance and
// through another one on the same database, and checks that no answer is
// ever stale.
func TestPublicCacheFollowsChanges(t *testing.T) {
	app := newTestApp(t)
	other := newTestAppOn(t, app.db) // a second instance: its own cache, same data
	app.createUser("owner@example.com", goodPassword, models.RoleUser)
	c := app.client()
	tok := c.token("owner@example.com", goodPassword)
	oc := other.client()

	rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Picnic", "visibility": "public"})
	if rec.Code != http.StatusOK {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	id := decode[map[string]any](t, rec)["id"]
	path := fmt.Sprintf("/api/event/%v", id)

	// anonymous reads on both instances, twice each (the second a hit).
	read := func(what string, wantStatus int, want string) {
		t.Helper()
		for _, cl := range []*client{c, oc, c, oc} {
			rec := cl.api("GET", path, "", nil)
			if rec.Code != wantStatus || (want != "" && !strings.Contains(rec.Body.String(), want)) {
				t.Fatalf("%s: GET %s = %d %s, want %d with %q", what, path, rec.Code, rec.Body.String(), wantStatus, want)
			}
			rec = cl.api("GET", "/api/event/", "", nil)
			inList := strings.Contains(rec.Body.String(), `"id":`+fmt.Sprint(id)+`,`)
			if rec.Code != http.StatusOK || inList != (wantStatus == http.StatusOK) || (want != "" && inList && !strings.Contains(rec.Body.String(), want)) {
				t.Fatalf("%s: list = %d %s, want the event listed=%v with %q", what, rec.Code, rec.Body.String(), wantStatus == http.StatusOK, want)
			}
		}
	}
	read("created", http.StatusOK, `"title":"Picnic"`)

	rec = c.api("PUT", path, tok, map[string]any{"title": "Picnic in the park"})
	if rec.Code != http.StatusOK {
		t.Fatalf("update: %d %s", rec.Code, rec.Body.String())
	}
	read("renamed", http.StatusOK, `"title":"Picnic in the park"`)

	// Changed through the other instance: this one must see it at once.
	oc2 := other.client()
	otok := oc2.token("owner@example.com", goodPassword)
	rec = oc2.api("PUT", path, otok, map[string]any{"visibility": "private"})
	if rec.Code != http.StatusOK {
		t.Fatalf("make private: %d %s", rec.Code, rec.Body.String())
	}
	read("made private elsewhere", http.StatusNotFound, "")

	rec = c.api("PUT", path, tok, map[string]any{"visibility": "public"})
	if rec.Code != http.StatusOK {
		t.Fatalf("make public: %d %s", rec.Code, rec.Body.String())
	}
	read("public again", http.StatusOK, `"creator":null`)

	// The creator's display name is part of the answer.
	if err := models.NewUsers(app.db).SetName(t.Context(), 1, "Ada the Organiser"); err != nil {
		t.Fatal(err)
	}
	read("creator renamed", http.StatusOK, `"creator_name":"Ada the Organiser"`)

	rec = oc2.api("DELETE", path, otok, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body.String())
	}
	read("deleted elsewhere", http.StatusNotFound, "")
}

// TestPublicCacheNotForSignedIn checks that a signed-in caller's answer,
// which shows their private events and their email, never reaches an
// anonymous caller, nor the other way round.
func TestPublicCacheNotForSignedIn(t *testing.T) {
	app := newTestApp(t)
	app.createUser("owner@example.com", goodPassword, models.RoleUser)
	c := app.client()
	tok := c.token("owner@example.com", goodPassword)
	for _, vis := range []string{"public", "private"} {
		rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Mine " + vis, "visibility": vis})
		if rec.Code != http.StatusOK {
			t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
		}
	}
	for range 2 {
		anon := c.api("GET", "/api/event/", "", nil).Body.String()
		mine := c.api("GET", "/api/event/", tok, nil).Body.String()
		if strings.Contains(anon, "Mine private") || strings.Contains(anon, "owner@example.com") {
			t.Fatalf("anonymous list shows private data: %s", anon)
		}
		if !strings.Contains(mine, "Mine private") || !strings.Contains(mine, "owner@example.com") {
			t.Fatalf("owner's list lacks their own data: %s", mine)
		}
		one := c.api("GET", "/api/event/1", tok, nil).Body.String()
		if !strings.Contains(one, "owner@example.com") {
			t.Fatalf("owner's event lacks their email: %s", one)
		}
		if anonOne := c.api("GET", "/api/event/1", "", nil).Body.String(); strings.Contains(anonOne, "owner@example.com") {
			t.Fatalf("anonymous event shows the email: %s", anonOne)
		}
	}
	// ?pretty is honoured on the cached path too.
	if body := c.api("GET", "/api/event/1?pretty", "", nil).Body.String(); !strings.Contains(body, "\n  ") {
		t.Fatalf("?pretty answer not indented: %s", body)
	}
}

// TestVersionReadsNeverOlder has many requests read the shared version
// while writers keep changing events: each must get a version at least as
// new as one read directly just before it asked.
func TestVersionReadsNeverOlder(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("owner@example.com", goodPassword, models.RoleUser)
	events := models.NewEvents(app.db)
	reads := &versionReads{}
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			in := models.EventInput{Title: fmt.Sprintf("e%d", i)}
			in.Normalize()
			if _, err := events.Create(t.Context(), u.ID, in); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	parallel(16, func(int) {
		for range 50 {
			before, err := events.Version(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			got, err := reads.version(t.Context(), events)
			if err != nil {
				t.Error(err)
				return
			}
			if got < before {
				t.Errorf("shared read gave version %d, older than %d read before asking", got, before)
				return
			}
		}
	})
	close(stop)
	<-writerDone
}
