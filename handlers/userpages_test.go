package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// flashOf follows a 303 and returns the flash the page it leads to shows,
// with its role.
func flashOf(t *testing.T, c *client, rec interface{ Header() http.Header }) (text, role string) {
	t.Helper()
	page := c.get(rec.Header().Get("Location"))
	s := doc(t, page).Find(`[data-testid="flash"]`)
	role, _ = s.Attr("role")
	return strings.TrimSpace(s.Text()), role
}

// TestEventFlashes: creating, editing and deleting an event each say so on
// the page they lead to, announced to screen readers, once.
func TestEventFlashes(t *testing.T) {
	f := newEventFixture(t)
	rec := f.owner.post("/events", eventForm("Launch party"))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d", rec.Code)
	}
	loc := rec.Header().Get("Location")
	if text, role := flashOf(t, f.owner, rec); text != "The event has been created." || role != "status" {
		t.Fatalf("after create: flash %q role %q", text, role)
	}
	if testid(t, f.owner.get(loc), "flash") != "" {
		t.Fatal("the flash shows twice")
	}
	rec = f.owner.post(loc+"/edit", eventForm("Launch party, moved"))
	if text, role := flashOf(t, f.owner, rec); text != "Your changes to the event have been saved." || role != "status" {
		t.Fatalf("after edit: flash %q role %q", text, role)
	}
	// A refused form says nothing of the kind.
	bad := eventForm("")
	if rec := f.owner.post(loc+"/edit", bad); rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "flash") != "" {
		t.Fatalf("invalid edit: %d, flash %q", rec.Code, testid(t, rec, "flash"))
	}
	rec = f.owner.post(loc+"/delete", nil)
	if rec.Header().Get("Location") != "/events" {
		t.Fatalf("delete went to %q", rec.Header().Get("Location"))
	}
	if text, role := flashOf(t, f.owner, rec); text != "The event has been deleted." || role != "status" {
		t.Fatalf("after delete: flash %q role %q", text, role)
	}
}

// TestHomeSignedInHasNoHero: anonymous visitors get the pitch; a signed-in
// user gets a greeting, their own next events and the ways to plan or
// find one, and no pitch.
func TestHomeSignedInHasNoHero(t *testing.T) {
	f := newEventFixture(t)
	rec := f.anon.get("/")
	d := doc(t, rec)
	if d.Find(`[data-testid="hero"]`).Length() != 1 || d.Find(`[data-testid="welcome"]`).Length() != 0 ||
		d.Find(`[data-testid="my-next"]`).Length() != 0 {
		t.Fatal("anonymous home page: want the hero and no personal sections")
	}
	if !strings.Contains(d.Find(`.hero h1`).Text(), "Plan events") {
		t.Fatalf("hero heading %q", d.Find(`.hero h1`).Text())
	}

	rec = f.owner.get("/")
	d = doc(t, rec)
	if d.Find(`[data-testid="hero"]`).Length() != 0 || strings.Contains(rec.Body.String(), "Plan events. Share them safely.") {
		t.Fatal("signed-in home page shows the marketing hero")
	}
	if got := strings.TrimSpace(d.Find(`[data-testid="welcome"] h1`).Text()); got != "Hello, Member "+strconv.Itoa(int(f.ownerUser.ID)) {
		t.Fatalf("greeting %q", got)
	}
	if d.Find(`[data-testid="welcome"] a[href="/events/new"]`).Length() != 1 || d.Find(`[data-testid="welcome"] a[href="/events"]`).Length() != 1 {
		t.Fatal("home page lacks the links to plan an event and to browse")
	}
	mine := d.Find(`[data-testid="my-next"]`).Text()
	if !strings.Contains(mine, "Public picnic") || !strings.Contains(mine, "Secret surprise") {
		t.Fatalf("the owner's next events are missing: %q", mine)
	}
	// Headings in order: one h1, then h2s.
	if d.Find("h1").Length() != 1 || d.Find(`[data-testid="my-next"] h2`).Length() != 1 {
		t.Fatal("heading structure")
	}
	// Another user sees neither of the owner's events as "theirs".
	if strings.Contains(doc(t, f.other.get("/")).Find(`[data-testid="my-next"]`).Text(), "Public picnic") {
		t.Fatal("someone else's event listed as the user's")
	}
}

// TestEventListHeadingsCountAndClear: /events groups upcoming, past and
// undated events under headings (only the groups it has), says how many
// it shows, and offers "Clear search" while a search or tag is on.
func TestEventListHeadingsCountAndClear(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	at := func(d time.Duration) *time.Time { v := time.Now().Add(d); return &v }
	app.seedEvent(u.ID, models.EventInput{Title: "Jazz night", Tags: []string{"music"}, StartsAt: at(48 * time.Hour)})
	app.seedEvent(u.ID, models.EventInput{Title: "Jazz brunch", Tags: []string{"music", "food"}, StartsAt: at(-48 * time.Hour)})
	app.seedEvent(u.ID, models.EventInput{Title: "Jazz someday", Tags: []string{"food"}})
	app.seedEvent(u.ID, models.EventInput{Title: "Chess club", StartsAt: at(24 * time.Hour)})
	c := app.client()
	type want struct {
		groups []string // group id: titles
		count  string
		clear  bool
	}
	for path, w := range map[string]want{
		"/events": {[]string{"upcoming:Chess club|Jazz night", "past:Jazz brunch", "undated:Jazz someday"}, "4 events", false},
		"/events?q=jazz": {[]string{"upcoming:Jazz night", "past:Jazz brunch", "undated:Jazz someday"},
			"3 events match “jazz”", true},
		"/events?q=chess":           {[]string{"upcoming:Chess club"}, "1 event matches “chess”", true},
		"/events?tag=food":          {[]string{"past:Jazz brunch", "undated:Jazz someday"}, "2 events tagged “food”", true},
		"/events?tag=music&q=night": {[]string{"upcoming:Jazz night"}, "1 event tagged “music” matches “night”", true},
		"/events?q=zebra":           {nil, "", true},
	} {
		t.Run(path, func(t *testing.T) {
			rec := c.get(path)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			d := doc(t, rec)
			var got []string
			d.Find(`.event-group`).Each(func(_ int, g *goqueryS) {
				id, _ := g.Attr("data-testid")
				var titles []string
				g.Find(`[data-testid="event-link"]`).Each(func(_ int, a *goqueryS) { titles = append(titles, strings.TrimSpace(a.Text())) })
				heading := strings.TrimSpace(g.Find("h2").Text())
				got = append(got, strings.TrimPrefix(id, "group-")+":"+strings.Join(titles, "|"))
				if wantName := map[string]string{"group-upcoming": "Upcoming", "group-past": "Past", "group-undated": "No date"}[id]; heading != wantName {
					t.Errorf("group %s has heading %q", id, heading)
				}
			})
			if strings.Join(got, " ") != strings.Join(w.groups, " ") {
				t.Errorf("groups %q, want %q", got, w.groups)
			}
			if got := testid(t, rec, "result-count"); got != w.count {
				t.Errorf("count %q, want %q", got, w.count)
			}
			href, ok := d.Find(`[data-testid="clear-search"]`).Attr("href")
			if ok != w.clear || (ok && href != "/events") {
				t.Errorf("clear search link %v %q, want %v", ok, href, w.clear)
			}
			if w.groups == nil && testid(t, rec, "no-events") != "No events match." {
				t.Errorf("empty search says %q", testid(t, rec, "no-events"))
			}
		})
	}
}

// TestEventListCountAcrossPages: with more events than a page holds, the
// count says what the page shows and that more follow, never a total it
// did not count; the last page says no more.
func TestEventListCountAcrossPages(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	for i := 0; i < pageSize+3; i++ {
		app.createEvent(u.ID, fmt.Sprintf("Event %02d", i), "public", "many")
	}
	c := app.client()
	rec := c.get("/events?tag=many")
	if got, want := testid(t, rec, "result-count"), fmt.Sprintf("Showing %d events tagged “many” on this page; more on the next page.", pageSize); got != want {
		t.Fatalf("page 1 count %q, want %q", got, want)
	}
	next, _ := doc(t, rec).Find(`[data-testid="next-page"]`).Attr("href")
	rec = c.get(next)
	if got := testid(t, rec, "result-count"); got != "Showing 3 events tagged “many” on this page." {
		t.Fatalf("page 2 count %q", got)
	}
	if href, _ := doc(t, rec).Find(`[data-testid="clear-search"]`).Attr("href"); href != "/events" {
		t.Fatalf("page 2 clear link %q", href)
	}
	rec = c.get("/events?q=event")
	if got := testid(t, rec, "result-count"); got != fmt.Sprintf("Showing %d events matching “event” on this page; Next looks for more.", pageSize) {
		t.Fatalf("search count %q", got)
	}
}

// TestSignOutEverywhereAsksFirst: the account page links to a confirmation
// page; opening it ends nothing; only its POST, with the CSRF token, does.
func TestSignOutEverywhereAsksFirst(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	c.login("ada@example.com", goodPassword)
	d := doc(t, c.get("/account"))
	if href, _ := d.Find(`[data-testid="signout-all"]`).Attr("href"); href != "/account/signout-all" {
		t.Fatalf("the account page's sign-out-everywhere is not a link to the confirmation: %q", href)
	}
	if d.Find(`form[action="/account/signout-all"]`).Length() != 0 {
		t.Fatal("the account page still signs out everywhere in one click")
	}
	rec := c.get("/account/signout-all")
	if rec.Code != http.StatusOK {
		t.Fatalf("confirmation page: %d", rec.Code)
	}
	form := doc(t, rec).Find(`form[action="/account/signout-all"]`)
	if m, _ := form.Attr("method"); m != "post" || form.Find(`input[name="_csrf"]`).Length() != 1 ||
		form.Find(`[data-testid="confirm-signout-all"]`).Length() != 1 {
		t.Fatal("the confirmation page has no CSRF-protected POST form")
	}
	if rec := c.get("/account"); rec.Code != http.StatusOK {
		t.Fatalf("opening the confirmation ended the session: %d", rec.Code)
	}
	// Without the token, nothing happens.
	if rec := c.postRaw("/account/signout-all", url.Values{}); rec.Code != http.StatusForbidden {
		t.Fatalf("POST without CSRF: %d", rec.Code)
	}
	if rec := c.get("/account"); rec.Code != http.StatusOK {
		t.Fatal("a refused POST ended the session")
	}
	assertAudit(t, app, models.ActionSignoutAll, 0)
	if rec := c.post("/account/signout-all", nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("confirmed: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := c.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatal("still signed in after confirming")
	}
	assertAudit(t, app, models.ActionSignoutAll, 1)
}

// TestEventFormTimeHints: the browser shows datetime-local fields in its
// own locale's format, which the page cannot set, so each says how its
// value is read (24-hour, in the event's zone) and how the pages will show
// what was entered; the hint is linked to the field, and so is an error.
func TestEventFormTimeHints(t *testing.T) {
	f := newEventFixture(t)
	rec := f.owner.get("/events/new")
	hint := testid(t, rec, "hint-starts_at")
	if !strings.Contains(hint, "In UTC time.") || !strings.Contains(hint, "24-hour clock") || strings.Contains(hint, "Shown on") {
		t.Fatalf("new form's hint %q", hint)
	}
	if by, _ := doc(t, rec).Find("#starts_at").Attr("aria-describedby"); by != "starts_at-hint" {
		t.Fatalf("starts_at aria-describedby %q", by)
	}
	form := eventForm("Berlin night")
	form.Set("timezone", "Europe/Berlin")
	rec = f.owner.post("/events", form)
	loc := rec.Header().Get("Location")
	rec = f.owner.get(loc + "/edit")
	for name, want := range map[string]string{"starts_at": "Sat 1 Mar 2031, 18:00 Europe/Berlin (CET)", "ends_at": "Sat 1 Mar 2031, 20:30 Europe/Berlin (CET)"} {
		hint := testid(t, rec, "hint-"+name)
		if !strings.Contains(hint, "In Europe/Berlin time.") || !strings.Contains(hint, "Shown on the event's page as "+want) {
			t.Errorf("%s hint %q, want the zone and %q", name, hint, want)
		}
	}
	// The page shows the time exactly as the hint said.
	if got := testid(t, f.owner.get(loc), "event-when"); got != "Sat 1 Mar 2031, 18:00 – 20:30" {
		t.Errorf("event page shows %q", got)
	}
	bad := eventForm("Berlin night")
	bad.Set("ends_at", "2031-03-01T17:00")
	rec = f.owner.post(loc+"/edit", bad)
	if by, _ := doc(t, rec).Find("#ends_at").Attr("aria-describedby"); by != "ends_at-hint ends_at-error" {
		t.Errorf("a bad ends_at is described by %q", by)
	}
}
