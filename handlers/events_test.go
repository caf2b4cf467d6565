package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// eventFixture is a small world: an owner with a public and a private
// event, another user, an admin, and an anonymous visitor.
type eventFixture struct {
	app                  *testApp
	owner, other, admin  *client
	anon                 *client
	public, private      *models.Event
	ownerUser, adminUser *models.User
}

func newEventFixture(t *testing.T) *eventFixture {
	t.Helper()
	app := newTestApp(t)
	f := &eventFixture{app: app, anon: app.client()}
	f.ownerUser = app.createUser("owner@example.com", goodPassword, models.RoleUser)
	app.createUser("other@example.com", goodPassword, models.RoleUser)
	f.adminUser = app.createUser("admin@example.com", goodPassword, models.RoleAdmin)
	f.owner, f.other, f.admin = app.client(), app.client(), app.client()
	f.owner.login("owner@example.com", goodPassword)
	f.other.login("other@example.com", goodPassword)
	f.admin.login("admin@example.com", goodPassword)
	f.public = app.createEvent(f.ownerUser.ID, "Public picnic", "public")
	f.private = app.createEvent(f.ownerUser.ID, "Secret surprise", "private")
	return f
}

func (a *testApp) createEvent(creator uint, title, visibility string, tags ...string) *models.Event {
	a.t.Helper()
	start := time.Now().Add(48 * time.Hour)
	in := models.EventInput{Title: title, Visibility: visibility, Tags: tags, StartsAt: &start}
	in.Normalize()
	e, err := models.NewEvents(a.db).Create(context.Background(), creator, in)
	if err != nil {
		a.t.Fatal(err)
	}
	return e
}

func eventForm(title string) url.Values {
	return url.Values{"title": {title}, "description": {"Bring food"}, "tags": {"Food, outdoors, food"},
		"location": {"The park"}, "starts_at": {"2031-03-01T18:00"}, "ends_at": {"2031-03-01T20:30"}, "visibility": {"public"}}
}

// TestEventRoutesAuthorization walks every event route as each kind of
// caller and checks the outcome and that refused writes change nothing.
func TestEventRoutesAuthorization(t *testing.T) {
	f := newEventFixture(t)
	pub, priv := strconv.Itoa(int(f.public.ID)), strconv.Itoa(int(f.private.ID))
	type call struct {
		who          string
		method, path string
		want         int
		location     string // expected Location prefix for redirects
	}
	calls := []call{
		{"anon", "GET", "/events", 200, ""},
		{"anon", "GET", "/events/" + pub, 200, ""},
		{"anon", "GET", "/events/" + priv, 404, ""},
		{"anon", "GET", "/events/999999", 404, ""},
		{"anon", "GET", "/events/abc", 404, ""},
		{"anon", "GET", "/events/new", 303, "/login?next=%2Fevents%2Fnew"},
		{"anon", "POST", "/events", 303, "/login?next="},
		{"anon", "GET", "/events/" + pub + "/edit", 303, "/login?next="},
		{"anon", "POST", "/events/" + pub + "/edit", 303, "/login?next="},
		{"anon", "GET", "/events/" + pub + "/delete", 303, "/login?next="},
		{"anon", "POST", "/events/" + pub + "/delete", 303, "/login?next="},

		{"other", "GET", "/events/" + pub, 200, ""},
		{"other", "GET", "/events/" + priv, 404, ""},
		{"other", "GET", "/events/" + priv + "/edit", 404, ""},
		{"other", "POST", "/events/" + priv + "/edit", 404, ""},
		{"other", "GET", "/events/" + priv + "/delete", 404, ""},
		{"other", "POST", "/events/" + priv + "/delete", 404, ""},
		{"other", "GET", "/events/" + pub + "/edit", 403, ""},
		{"other", "POST", "/events/" + pub + "/edit", 403, ""},
		{"other", "GET", "/events/" + pub + "/delete", 403, ""},
		{"other", "POST", "/events/" + pub + "/delete", 403, ""},
		{"other", "GET", "/events/new", 200, ""},

		{"owner", "GET", "/events/" + priv, 200, ""},
		{"owner", "GET", "/events/" + priv + "/edit", 200, ""},
		{"owner", "GET", "/events/" + pub + "/delete", 200, ""},
		{"admin", "GET", "/events/" + priv, 200, ""},
		{"admin", "GET", "/events/" + priv + "/edit", 200, ""},
		{"admin", "GET", "/events/" + priv + "/delete", 200, ""},
	}
	clients := map[string]*client{"anon": f.anon, "other": f.other, "owner": f.owner, "admin": f.admin}
	for _, tc := range calls {
		t.Run(tc.who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			c := clients[tc.who]
			var rec = c.get(tc.path)
			if tc.method == "POST" {
				rec = c.post(tc.path, eventForm("Hijacked"))
			}
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if tc.location != "" && !strings.HasPrefix(rec.Header().Get("Location"), tc.location) {
				t.Fatalf("location %q, want %q…", rec.Header().Get("Location"), tc.location)
			}
			if tc.want == 404 && testid(t, rec, "error-page") == "" {
				t.Fatal("no 404 page")
			}
			if strings.Contains(rec.Body.String(), "Secret surprise") && (tc.who == "anon" || tc.who == "other") {
				t.Fatal("private event title leaked")
			}
		})
	}
	// Nothing the refused writes tried has happened.
	events := models.NewEvents(f.app.db)
	for _, id := range []uint{f.public.ID, f.private.ID} {
		e, err := events.Get(context.Background(), id)
		if err != nil || e.Title == "Hijacked" {
			t.Fatalf("event %d changed by a refused write: %+v %v", id, e, err)
		}
	}
	if n := countEvents(t, f.app.db); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func TestEventCreateEditDelete(t *testing.T) {
	f := newEventFixture(t)
	form := eventForm("Launch party")
	form.Set("creator_id", "999") // never read
	form.Set("id", "12345")
	rec := f.owner.post("/events", form)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/events/") {
		t.Fatalf("create: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	loc := rec.Header().Get("Location")
	id, _ := strconv.Atoi(strings.TrimPrefix(loc, "/events/"))
	e, err := models.NewEvents(f.app.db).Get(context.Background(), uint(id))
	if err != nil || e.CreatorID != f.ownerUser.ID || e.Tags != "food,outdoors" || e.Title != "Launch party" {
		t.Fatalf("stored %+v %v", e, err)
	}
	if got := e.StartsAt.UTC().Format(time.RFC3339); got != "2031-03-01T18:00:00Z" {
		t.Fatalf("starts_at stored as %s", got)
	}
	rec = f.anon.get(loc)
	if testid(t, rec, "event-title") != "Launch party" || testid(t, rec, "event-creator") != "Member "+strconv.Itoa(int(f.ownerUser.ID)) ||
		!strings.Contains(testid(t, rec, "event-when"), "Sat 1 Mar 2031, 18:00 – 20:30") {
		t.Fatalf("detail page: %q %q %q", testid(t, rec, "event-title"), testid(t, rec, "event-creator"), testid(t, rec, "event-when"))
	}
	if testid(t, rec, "edit-event") != "" {
		t.Fatal("edit button shown to an anonymous visitor")
	}
	if href, _ := doc(t, rec).Find(`.tags a`).First().Attr("href"); href != "/events?tag=food" {
		t.Fatalf("tag link %q", href)
	}
	if testid(t, f.owner.get(loc), "edit-event") == "" || testid(t, f.admin.get(loc), "edit-event") == "" {
		t.Fatal("edit button missing for owner or admin")
	}

	// The edit form is filled in, in the configured zone.
	rec = f.owner.get(loc + "/edit")
	if v, _ := doc(t, rec).Find("#starts_at").Attr("value"); v != "2031-03-01T18:00" {
		t.Fatalf("edit form starts_at %q", v)
	}
	edit := eventForm("Launch party, moved")
	edit.Set("visibility", "private")
	edit.Set("tags", "")
	if rec := f.owner.post(loc+"/edit", edit); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != loc {
		t.Fatalf("edit: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	e, _ = models.NewEvents(f.app.db).Get(context.Background(), uint(id))
	if e.Title != "Launch party, moved" || e.Visibility != "private" || e.Tags != "" || e.CreatorID != f.ownerUser.ID {
		t.Fatalf("after edit %+v", e)
	}
	if rec := f.other.get(loc); rec.Code != http.StatusNotFound {
		t.Fatalf("now-private event visible to another user: %d", rec.Code)
	}
	// The admin edits it: the creator stays the owner.
	if rec := f.admin.post(loc+"/edit", eventForm("Admin fixed the title")); rec.Code != http.StatusSeeOther {
		t.Fatalf("admin edit: %d", rec.Code)
	}
	e, _ = models.NewEvents(f.app.db).Get(context.Background(), uint(id))
	if e.CreatorID != f.ownerUser.ID {
		t.Fatal("admin edit changed the creator")
	}

	// Delete without CSRF is refused and keeps the event.
	if rec := f.owner.postRaw(loc+"/delete", url.Values{}); rec.Code != http.StatusForbidden {
		t.Fatalf("delete without CSRF: %d", rec.Code)
	}
	if _, err := models.NewEvents(f.app.db).Get(context.Background(), uint(id)); err != nil {
		t.Fatal("event gone after a refused delete")
	}
	if rec := f.owner.post(loc+"/delete", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/events" {
		t.Fatalf("delete: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := f.owner.get(loc); rec.Code != http.StatusNotFound {
		t.Fatalf("deleted event still there: %d", rec.Code)
	}
	// An admin deleting someone else's event is audited.
	if rec := f.admin.post(fmt.Sprintf("/events/%d/delete", f.public.ID), nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("admin delete: %d", rec.Code)
	}
	assertAudit(t, f.app, models.ActionEventDeletedAdmin, 1)
}

func TestEventFormValidation(t *testing.T) {
	f := newEventFixture(t)
	cases := []struct {
		field, value, want string
	}{
		{"title", "", "Enter a title"},
		{"title", strings.Repeat("t", 201), "at most 200"},
		{"image", "javascript:alert(1)", "http or https"},
		{"image", "ftp://example.com/a.png", "http or https"},
		{"description", strings.Repeat("d", 5001), "at most 5000"},
		{"location", strings.Repeat("l", 201), "at most 200"},
		{"tags", "a,b,c,d,e,f,g,h,i,j,k", "At most 10"},
		{"tags", strings.Repeat("x", 31), "at most 30"},
		{"starts_at", "tomorrow", "Enter a date and time"},
		{"ends_at", "2031-03-01T17:00", "not be before the start"},
		{"visibility", "friends", "public or private"},
	}
	for _, tc := range cases {
		t.Run(tc.field+"="+tc.value[:min(len(tc.value), 12)], func(t *testing.T) {
			form := eventForm("Valid title")
			form.Set(tc.field, tc.value)
			rec := f.owner.post("/events", form)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", rec.Code)
			}
			if got := testid(t, rec, "error-"+tc.field); !strings.Contains(got, tc.want) {
				t.Fatalf("error %q, want %q", got, tc.want)
			}
			// The input is kept.
			d := doc(t, rec)
			if tc.field == "description" {
				if d.Find("#description").Text() != tc.value {
					t.Fatal("description not kept")
				}
			} else if v, _ := d.Find("#title").Attr("value"); v != "Valid title" && tc.field != "title" {
				t.Fatalf("other input not kept: %q", v)
			}
		})
	}
	if n := countEvents(t, f.app.db); n != 2 {
		t.Fatalf("invalid forms stored events: %d", n)
	}
}

func TestEventXSSIsEscaped(t *testing.T) {
	f := newEventFixture(t)
	payload := `<img src=x onerror=alert(1)>`
	form := url.Values{"title": {payload}, "description": {payload}, "location": {payload}, "tags": {"<b>x</b>"},
		"image": {`https://example.com/a.png"onerror="alert(1)`}, "visibility": {"public"},
		"starts_at": {time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")}}
	rec := f.owner.post("/events", form)
	if rec.Code == http.StatusUnprocessableEntity {
		// The quote-laden image URL is refused; store the rest.
		form.Set("image", "https://example.com/a.png")
		rec = f.owner.post("/events", form)
	}
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d", rec.Code)
	}
	for _, path := range []string{rec.Header().Get("Location"), "/events", "/"} {
		body := f.anon.get(path).Body.String()
		if strings.Contains(body, "<img src=x") || strings.Contains(body, "<b>x</b>") {
			t.Fatalf("%s renders the payload as HTML", path)
		}
		if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Fatalf("%s does not show the payload as text", path)
		}
	}
}

func TestEventListPagination(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	want := map[string]bool{}
	for i := 0; i < 2*pageSize+5; i++ {
		title := fmt.Sprintf("Event %02d", i)
		app.createEvent(u.ID, title, "public")
		want[title] = true
	}
	c := app.client()
	seen := map[string]int{}
	path := "/events"
	pages := 0
	for path != "" {
		rec := c.get(path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		d := doc(t, rec)
		d.Find(`[data-testid="event-link"]`).Each(func(_ int, s *goqueryS) { seen[strings.TrimSpace(s.Text())]++ })
		path, _ = d.Find(`[data-testid="next-page"]`).Attr("href")
		if pages++; pages > 10 {
			t.Fatal("pagination does not end")
		}
		// A new event arriving meanwhile does not disturb the walk.
		app.createEvent(u.ID, fmt.Sprintf("Late %d", pages), "public")
	}
	if pages != 3 {
		t.Fatalf("%d pages, want 3", pages)
	}
	for title := range want {
		if seen[title] != 1 {
			t.Errorf("%s seen %d times", title, seen[title])
		}
	}
	// Previous goes back.
	rec := c.get("/events")
	next, _ := doc(t, rec).Find(`[data-testid="next-page"]`).Attr("href")
	rec = c.get(next)
	prev, ok := doc(t, rec).Find(`[data-testid="prev-page"]`).Attr("href")
	if !ok {
		t.Fatal("no previous link on page 2")
	}
	if rec := c.get(prev); doc(t, rec).Find(`[data-testid="prev-page"]`).Length() != 0 {
		t.Fatal("previous link on page 1")
	}
	if rec := c.get("/events?after=garbage"); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d", rec.Code)
	}
}

func TestEventSearchAndTags(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	app.createEvent(u.ID, "Go meetup", "public", "go", "meetup")
	app.createEvent(u.ID, "Python meetup", "public", "python")
	app.createEvent(u.ID, "Private Go night", "private", "go")
	c := app.client()
	titles := func(path string) string {
		var out []string
		doc(t, c.get(path)).Find(`[data-testid="event-link"]`).Each(func(_ int, s *goqueryS) { out = append(out, s.Text()) })
		return strings.Join(out, "|")
	}
	if got := titles("/events?tag=GO"); got != "Go meetup" {
		t.Fatalf("tag go (anonymous): %q", got)
	}
	if got := titles("/events?q=MEETUP"); got != "Go meetup|Python meetup" {
		t.Fatalf("search meetup: %q", got)
	}
	if got := titles("/events?q=" + url.QueryEscape("%")); got != "" {
		t.Fatalf("%% is a wildcard: %q", got)
	}
	c.login("ada@example.com", goodPassword)
	if got := titles("/events?tag=go"); got != "Go meetup|Private Go night" {
		t.Fatalf("tag go (owner): %q", got)
	}
	if testid(t, c.get("/"), "no-upcoming") != "" {
		t.Fatal("home page shows no upcoming events")
	}
}
