package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// planningFixture is an app with an owner, three guests and their browsers.
type planningFixture struct {
	app    *testApp
	owner  *models.User
	guests []*models.User
	oc     *client   // the owner's browser
	gc     []*client // the guests' browsers
}

func newPlanningFixture(t *testing.T, edit ...func(*Config)) *planningFixture {
	t.Helper()
	app := newTestApp(t, edit...)
	f := &planningFixture{app: app, owner: app.createUser("owner@example.com", goodPassword, models.RoleUser)}
	f.oc = app.client()
	f.oc.login(f.owner.Email, goodPassword)
	for i := range 3 {
		u := app.createUser(fmt.Sprintf("guest%d@example.com", i), goodPassword, models.RoleUser)
		c := app.client()
		c.addr = fmt.Sprintf("192.0.2.%d:4000", 20+i)
		c.login(u.Email, goodPassword)
		f.guests, f.gc = append(f.guests, u), append(f.gc, c)
	}
	return f
}

// event creates an event through the store.
func (f *planningFixture) event(t *testing.T, in models.EventInput) *models.Event {
	t.Helper()
	if in.Title == "" {
		in.Title = "Meetup"
	}
	if in.StartsAt == nil {
		start := time.Date(2031, 3, 1, 17, 0, 0, 0, time.UTC)
		in.StartsAt = &start
	}
	in.Normalize()
	if errs := in.Validate(); len(errs) > 0 {
		t.Fatalf("fixture: %v", errs)
	}
	e, err := models.NewEvents(f.app.db).Create(context.Background(), f.owner.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func intp(n int) *int { return &n }

// TestRSVPPagesWaitlistAndPromotion: through the pages, two seats fill, the
// third guest waits, and the first guest's cancellation promotes them; the
// event page says so at every step, and the owner's attendees page lists
// going then waitlist.
func TestRSVPPagesWaitlistAndPromotion(t *testing.T) {
	f := newPlanningFixture(t)
	e := f.event(t, models.EventInput{Capacity: intp(2)})
	path := fmt.Sprintf("/events/%d", e.ID)
	if got := testid(t, f.gc[0].get(path), "event-seats"); got != "2 of 2 seats left" {
		t.Errorf("seats before = %q", got)
	}
	for i, want := range []string{"You're going", "You're going", "You're on the waitlist"} {
		rec := f.gc[i].post(path+"/rsvp", nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != path {
			t.Fatalf("rsvp %d: %d %q", i, rec.Code, rec.Header().Get("Location"))
		}
		if got := testid(t, f.gc[i].get(path), "rsvp-state"); got != want {
			t.Errorf("guest %d sees %q, want %q", i, got, want)
		}
	}
	if got := testid(t, f.oc.get(path), "rsvp-button"); got != "Join the waitlist" {
		t.Errorf("owner's button on a full event = %q", got)
	}
	page := f.oc.get(path + "/attendees")
	if page.Code != 200 || doc(t, page).Find(`[data-testid="going"] [data-testid="attendee"]`).Length() != 2 ||
		!strings.Contains(doc(t, page).Find(`[data-testid="waitlist"]`).Text(), "guest2@example.com") {
		t.Fatalf("attendees page: %d %s", page.Code, page.Body.String())
	}
	if rec := f.gc[0].post(path+"/rsvp/cancel", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", rec.Code)
	}
	if got := testid(t, f.gc[2].get(path), "rsvp-state"); got != "You're going" {
		t.Errorf("after the cancellation the waiter sees %q", got)
	}
	if got := testid(t, f.gc[0].get(path), "rsvp-button"); got != "Join the waitlist" {
		t.Errorf("the canceller sees button %q", got)
	}
	// Closed RSVPs: 409, and nobody new joins.
	in := e.Input()
	in.RSVPClosed = true
	if _, err := models.NewEvents(f.app.db).Update(context.Background(), e.ID, in); err != nil {
		t.Fatal(err)
	}
	if rec := f.gc[0].post(path+"/rsvp", nil); rec.Code != http.StatusConflict {
		t.Errorf("rsvp to a closed event: %d", rec.Code)
	}
	// "My events" and the home page list what the guest goes to.
	if !strings.Contains(f.gc[2].get("/events/mine").Body.String(), "Meetup") {
		t.Error("My events misses the event the guest goes to")
	}
	// Without CSRF the RSVP is refused and changes nothing.
	if rec := f.gc[0].postRaw(path+"/rsvp/cancel", url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("rsvp without a CSRF token: %d", rec.Code)
	}
}

// TestRSVPAPIAndEventJSON: the API's RSVP routes, the new event fields and
// my_rsvp per caller, attendees for the owner only, and the anonymous
// cache never serving a stale count.
func TestRSVPAPIAndEventJSON(t *testing.T) {
	f := newPlanningFixture(t, func(c *Config) { c.Timezone = time.FixedZone("X", 0) })
	e := f.event(t, models.EventInput{Capacity: intp(1), Timezone: "Europe/Berlin"})
	c := f.app.client()
	ownerTok := c.token(f.owner.Email, goodPassword)
	t1, t2 := c.token(f.guests[0].Email, goodPassword), c.token(f.guests[1].Email, goodPassword)
	path := fmt.Sprintf("/api/event/%d", e.ID)

	anon := decode[map[string]any](t, c.api("GET", path, "", nil)) // now cached
	if anon["timezone"] != "Europe/Berlin" || anon["capacity"] != float64(1) || anon["rsvp_open"] != true ||
		anon["going_count"] != float64(0) || anon["waitlist_count"] != float64(0) || anon["my_rsvp"] != nil {
		t.Fatalf("event JSON: %v", anon)
	}
	if _, ok := anon["my_rsvp"]; !ok {
		t.Error("my_rsvp missing (want null)")
	}
	c.api("GET", "/api/event/", "", nil) // the list cached too
	rec := c.api("POST", path+"/rsvp", t1, nil)
	if got := decode[EventJSON](t, rec); rec.Code != 200 || got.MyRSVP == nil || *got.MyRSVP != "going" || got.GoingCount != 1 {
		t.Fatalf("rsvp: %d %s", rec.Code, rec.Body.String())
	}
	if got := decode[EventJSON](t, c.api("POST", path+"/rsvp", t2, nil)); got.MyRSVP == nil || *got.MyRSVP != "waitlisted" || got.Waitlist != 1 {
		t.Fatalf("second rsvp: %+v", got)
	}
	// The anonymous answers, cached before the RSVPs, are current.
	if got := decode[EventJSON](t, c.api("GET", path, "", nil)); got.GoingCount != 1 || got.Waitlist != 1 || got.MyRSVP != nil {
		t.Errorf("anonymous read after RSVPs (stale cache?): %+v", got)
	}
	for _, got := range decode[[]EventJSON](t, c.api("GET", "/api/event/", "", nil)) {
		if got.ID == e.ID && (got.GoingCount != 1 || got.Waitlist != 1) {
			t.Errorf("anonymous list after RSVPs (stale cache?): %+v", got)
		}
	}
	for _, got := range decode[[]EventJSON](t, c.api("GET", "/api/event/", t2, nil)) {
		if got.ID == e.ID && (got.MyRSVP == nil || *got.MyRSVP != "waitlisted") {
			t.Errorf("my_rsvp in the list: %+v", got.MyRSVP)
		}
	}
	// Attendees: owner yes, a guest 403.
	if rec := c.api("GET", path+"/attendees", t1, nil); rec.Code != http.StatusForbidden {
		t.Errorf("attendees as a guest: %d", rec.Code)
	}
	rec = c.api("GET", path+"/attendees", ownerTok, nil)
	var att struct{ Going, Waitlist []AttendeeJSON }
	att = decode[struct{ Going, Waitlist []AttendeeJSON }](t, rec)
	if rec.Code != 200 || len(att.Going) != 1 || att.Going[0].Email != f.guests[0].Email || len(att.Waitlist) != 1 {
		t.Fatalf("attendees: %d %s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("attendees Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	// Cancelling promotes the waiter.
	if got := decode[EventJSON](t, c.api("DELETE", path+"/rsvp", t1, nil)); got.MyRSVP != nil || got.GoingCount != 1 || got.Waitlist != 0 {
		t.Errorf("after cancel: %+v", got)
	}
	if got := decode[EventJSON](t, c.api("GET", path, t2, nil)); got.MyRSVP == nil || *got.MyRSVP != "going" {
		t.Errorf("waiter after the cancellation: %+v", got.MyRSVP)
	}
	// Capacity through the API: 0 removes the limit, bad values are 422.
	if rec := c.api("PUT", path, ownerTok, map[string]any{"capacity": 100001}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("capacity 100001: %d", rec.Code)
	}
	if rec := c.api("PUT", path, ownerTok, map[string]any{"timezone": "Mars/Olympus"}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("bad zone: %d", rec.Code)
	}
	if got := decode[EventJSON](t, c.api("PUT", path, ownerTok, map[string]any{"capacity": 0, "rsvp_open": false})); got.Capacity != nil || got.RSVPOpen {
		t.Errorf("after removing the limit and closing: %+v", got)
	}
	if rec := c.api("POST", path+"/rsvp", t1, nil); rec.Code != http.StatusConflict {
		t.Errorf("rsvp to a closed event: %d", rec.Code)
	}
	// Audit entries in the same transaction as the change.
	entries, _ := models.NewAudit(f.app.db).List(context.Background(), models.AuditFilter{Action: models.ActionRSVPCancelled})
	if len(entries) != 1 || entries[0].ActorEmail != f.guests[0].Email {
		t.Errorf("rsvp_cancelled entries: %+v", entries)
	}
}

// TestTimeZonesOnFormsAndPages: the form reads times in the event's zone,
// the page shows them with the zone's name and in the viewer's zone when it
// differs; a time the clocks skip is a clear 422, one they repeat is the
// earlier instant.
func TestTimeZonesOnFormsAndPages(t *testing.T) {
	f := newPlanningFixture(t)
	form := eventForm("Berlin evening")
	form.Set("timezone", "Europe/Berlin")
	form.Set("starts_at", "2031-07-01T18:00")
	form.Set("ends_at", "2031-07-01T20:00")
	form.Set("capacity", "25")
	rec := f.oc.post("/events", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	loc := rec.Header().Get("Location")
	var id uint
	fmt.Sscanf(loc, "/events/%d", &id)
	e, _ := models.NewEvents(f.app.db).Get(context.Background(), id)
	if want := time.Date(2031, 7, 1, 16, 0, 0, 0, time.UTC); !e.StartsAt.Equal(want) || e.Timezone != "Europe/Berlin" || *e.Capacity != 25 {
		t.Fatalf("stored %v in %q cap %v, want %v", e.StartsAt, e.Timezone, e.Capacity, want)
	}
	page := f.oc.get(loc)
	if got := testid(t, page, "event-when"); got != "Tue 1 Jul 2031, 18:00 – 20:00" {
		t.Errorf("when = %q", got)
	}
	if got := testid(t, page, "event-zone"); got != "Europe/Berlin (CEST)" {
		t.Errorf("zone = %q", got)
	}
	if got := testid(t, page, "viewer-when"); got != "Your time: Tue 1 Jul 2031, 16:00 – 18:00 UTC" {
		t.Errorf("owner (in the default zone, UTC) sees their time as %q", got)
	}
	f.oc.post("/account/timezone", url.Values{"timezone": {"Europe/Berlin"}})
	if got := testid(t, f.oc.get(loc), "viewer-when"); got != "" {
		t.Errorf("a viewer in the event's zone sees it twice: %q", got)
	}
	// A viewer in New York sees their time too.
	if rec := f.gc[0].post("/account/timezone", url.Values{"timezone": {"America/New_York"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("set zone: %d", rec.Code)
	}
	if got := testid(t, f.gc[0].get(loc), "viewer-when"); !strings.Contains(got, "12:00 – 14:00") || !strings.Contains(got, "America/New_York (EDT)") {
		t.Errorf("viewer's time = %q", got)
	}
	if rec := f.gc[0].post("/account/timezone", url.Values{"timezone": {"Local"}}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("zone Local: %d", rec.Code)
	}
	// The edit form shows the stored time in the event's zone.
	if v, _ := doc(t, f.oc.get(loc+"/edit")).Find(`input[name="starts_at"]`).Attr("value"); v != "2031-07-01T18:00" {
		t.Errorf("edit form starts_at = %q", v)
	}
	// Spring forward: 02:30 does not exist in Berlin on 30 March 2031.
	form.Set("starts_at", "2031-03-30T02:30")
	form.Set("ends_at", "")
	rec = f.oc.post("/events", form)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(testid(t, rec, "error-starts_at"), "does not exist in Europe/Berlin") {
		t.Errorf("nonexistent time: %d %q", rec.Code, testid(t, rec, "error-starts_at"))
	}
	// Fall back: 02:30 happens twice on 26 October 2031; the earlier (CEST) wins.
	form.Set("starts_at", "2031-10-26T02:30")
	rec = f.oc.post("/events", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("ambiguous time: %d %s", rec.Code, testid(t, rec, "error-starts_at"))
	}
	fmt.Sscanf(rec.Header().Get("Location"), "/events/%d", &id)
	e, _ = models.NewEvents(f.app.db).Get(context.Background(), id)
	if want := time.Date(2031, 10, 26, 0, 30, 0, 0, time.UTC); !e.StartsAt.Equal(want) {
		t.Errorf("ambiguous 02:30 stored as %v, want %v (the first, CEST)", e.StartsAt, want)
	}
	form.Set("timezone", "Nowhere/Special")
	if rec := f.oc.post("/events", form); rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "error-timezone") == "" {
		t.Errorf("unknown zone: %d", rec.Code)
	}
}

// TestParseLocalEdges checks the wall-clock reading on its own, in zones
// with a 30-minute change and none.
func TestParseLocalEdges(t *testing.T) {
	lordHowe, _ := time.LoadLocation("Australia/Lord_Howe")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		in   string
		loc  *time.Location
		want string // UTC RFC 3339, or "none"
	}{
		{"2031-03-30T01:59", berlin, "2031-03-30T00:59:00Z"},
		{"2031-03-30T02:00", berlin, "none"},
		{"2031-03-30T03:00", berlin, "2031-03-30T01:00:00Z"},
		{"2031-10-26T02:00", berlin, "2031-10-26T00:00:00Z"},
		{"2031-10-26T03:00", berlin, "2031-10-26T02:00:00Z"},
		{"2031-10-05T02:15", lordHowe, "none"},                 // clocks go 02:00 → 02:30
		{"2031-04-06T01:45", lordHowe, "2031-04-05T14:45:00Z"}, // twice; the first (+11)
		{"2031-06-01T12:00", time.UTC, "2031-06-01T12:00:00Z"},
	} {
		got, err := parseLocal(tc.in, tc.loc)
		switch {
		case tc.want == "none" && err != errNoSuchTime:
			t.Errorf("%s in %s = %v, %v; want errNoSuchTime", tc.in, tc.loc, got, err)
		case tc.want != "none" && (err != nil || got.UTC().Format(time.RFC3339) != tc.want):
			t.Errorf("%s in %s = %v, %v; want %s", tc.in, tc.loc, got, err, tc.want)
		}
	}
}

// readICS parses a calendar with golang-ical and returns its one event.
func readICS(t *testing.T, body string) (*ics.Calendar, []*ics.VEvent) {
	t.Helper()
	cal, err := ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse ics: %v\n%s", err, body)
	}
	return cal, cal.Events()
}

// TestEventICS: the .ics parses back with the event's instant, its zone as
// TZID and a VTIMEZONE with the real offsets; the UID stays and SEQUENCE
// rises with an edit but not with an RSVP.
func TestEventICS(t *testing.T) {
	f := newPlanningFixture(t)
	end := time.Date(2031, 3, 30, 3, 0, 0, 0, time.UTC) // spans Berlin's spring change
	start := time.Date(2031, 3, 29, 23, 0, 0, 0, time.UTC)
	e := f.event(t, models.EventInput{Title: "Night; with, commas", Description: "Line one\nline two", Location: "Hall",
		StartsAt: &start, EndsAt: &end, Timezone: "Europe/Berlin"})
	rec := f.gc[0].get(fmt.Sprintf("/events/%d.ics", e.ID))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/calendar") {
		t.Fatalf("ics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	cal, events := readICS(t, body)
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	ev := events[0]
	uid := ev.Id()
	if uid != fmt.Sprintf("event-%d@planner.test", e.ID) {
		t.Errorf("UID %q", uid)
	}
	gotStart, err := ev.GetStartAt()
	if err != nil || !gotStart.Equal(start) {
		t.Errorf("DTSTART %v (%v), want %v", gotStart, err, start)
	}
	gotEnd, err := ev.GetEndAt()
	if err != nil || !gotEnd.Equal(end) {
		t.Errorf("DTEND %v (%v), want %v", gotEnd, err, end)
	}
	if p := ev.GetProperty(ics.ComponentPropertyDtStart); p.ICalParameters["TZID"][0] != "Europe/Berlin" || p.Value != "20310330T000000" {
		t.Errorf("DTSTART %v %q", p.ICalParameters, p.Value)
	}
	for _, prop := range []ics.ComponentProperty{ics.ComponentPropertyDtstamp, ics.ComponentPropertySequence} {
		if ev.GetProperty(prop) == nil {
			t.Errorf("no %s", prop)
		}
	}
	if s := ev.GetProperty(ics.ComponentPropertySummary).Value; s != "Night; with, commas" {
		t.Errorf("SUMMARY read back as %q", s)
	}
	tzs := cal.Timezones()
	if len(tzs) != 1 || tzs[0].GetProperty(ics.ComponentPropertyTzid).Value != "Europe/Berlin" {
		t.Fatalf("VTIMEZONE: %v", tzs)
	}
	// Standard (+0100) until 01:00 UTC, then daylight (+0200) from 02:00 local.
	for _, want := range []string{"BEGIN:STANDARD", "TZOFFSETTO:+0100", "BEGIN:DAYLIGHT", "DTSTART:20310330T020000",
		"TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST"} {
		if !strings.Contains(body, want) {
			t.Errorf("VTIMEZONE lacks %s:\n%s", want, body)
		}
	}
	if !strings.Contains(body, "\r\n") {
		t.Error("lines do not end in CRLF")
	}
	seq := func() string {
		_, evs := readICS(t, f.gc[0].get(fmt.Sprintf("/events/%d.ics", e.ID)).Body.String())
		if evs[0].Id() != uid {
			t.Errorf("UID changed to %q", evs[0].Id())
		}
		return evs[0].GetProperty(ics.ComponentPropertySequence).Value
	}
	if s := seq(); s != "0" {
		t.Errorf("SEQUENCE of a new event %s", s)
	}
	f.gc[1].post(fmt.Sprintf("/events/%d/rsvp", e.ID), nil)
	if s := seq(); s != "0" {
		t.Errorf("SEQUENCE after an RSVP %s, want 0", s)
	}
	in := e.Input()
	in.Title = "Renamed"
	for range 2 {
		if _, err := models.NewEvents(f.app.db).Update(context.Background(), e.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	if s := seq(); s != "2" {
		t.Errorf("SEQUENCE after two edits %s, want 2", s)
	}
	undated := f.event(t, models.EventInput{Title: "Someday"})
	models.NewEvents(f.app.db).Update(context.Background(), undated.ID, models.EventInput{Title: "Someday", Visibility: "public"})
	if rec := f.gc[0].get(fmt.Sprintf("/events/%d.ics", undated.ID)); rec.Code != http.StatusNotFound {
		t.Errorf("ics of an undated event: %d", rec.Code)
	}
}

// TestCalendarFeed: the feed has the events the user owns or goes to (not
// ones they wait for), is reachable without a session, and dies when the
// token is rotated.
func TestCalendarFeed(t *testing.T) {
	f := newPlanningFixture(t)
	tokyo := f.event(t, models.EventInput{Title: "Tokyo", Timezone: "Asia/Tokyo", Capacity: intp(1)})
	f.event(t, models.EventInput{Title: "Elsewhere"})
	f.gc[1].post(fmt.Sprintf("/events/%d/rsvp", tokyo.ID), nil) // takes the seat
	f.gc[0].post(fmt.Sprintf("/events/%d/rsvp", tokyo.ID), nil) // waits
	feedOf := func(c *client) string {
		v, _ := doc(t, c.get("/account")).Find(`[data-testid="feed-url"]`).Attr("value")
		u, err := url.Parse(v)
		if err != nil || !strings.HasPrefix(u.Path, "/calendar/") {
			t.Fatalf("feed URL %q", v)
		}
		return u.Path
	}
	anon := f.app.client()
	titles := func(path string) []string {
		rec := anon.get(path)
		if rec.Code != 200 {
			t.Fatalf("feed %s: %d", path, rec.Code)
		}
		_, evs := readICS(t, rec.Body.String())
		var out []string
		for _, ev := range evs {
			out = append(out, ev.GetProperty(ics.ComponentPropertySummary).Value)
		}
		return out
	}
	if got := titles(feedOf(f.gc[1])); len(got) != 1 || got[0] != "Tokyo" {
		t.Errorf("going guest's feed: %v", got)
	}
	if got := titles(feedOf(f.gc[0])); len(got) != 0 {
		t.Errorf("waiting guest's feed: %v", got)
	}
	if got := titles(feedOf(f.oc)); len(got) != 2 {
		t.Errorf("owner's feed: %v", got)
	}
	old := feedOf(f.gc[1])
	if rec := f.gc[1].post("/account/calendar", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("rotate: %d", rec.Code)
	}
	if rec := anon.get(old); rec.Code != http.StatusNotFound {
		t.Errorf("old feed after rotation: %d", rec.Code)
	}
	if got := titles(feedOf(f.gc[1])); len(got) != 1 {
		t.Errorf("new feed: %v", got)
	}
}

// TestShareLinks: a private event opens with its link's key, to anyone; a
// signed-in holder may RSVP (the key travels in the body) and then sees the
// event without it; a new link kills the old; the key never reaches the API,
// the widget's data or the logs.
func TestShareLinks(t *testing.T) {
	var logs bytes.Buffer
	f := newPlanningFixture(t)
	// Log what a real server logs, into logs.
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e2, err := New(f.app.cfg, log, f.app.db)
	if err != nil {
		t.Fatal(err)
	}
	f.app.e = e2
	e := f.event(t, models.EventInput{Title: "Secret supper", Visibility: "private"})
	path := fmt.Sprintf("/events/%d", e.ID)
	if rec := f.gc[0].get(path); rec.Code != http.StatusNotFound {
		t.Fatalf("private event without a key: %d", rec.Code)
	}
	if rec := f.oc.post(path+"/share", url.Values{"action": {"on"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("share on: %d", rec.Code)
	}
	link, _ := doc(t, f.oc.get(path)).Find(`[data-testid="share-url"]`).Attr("value")
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("key") == "" {
		t.Fatalf("share link %q", link)
	}
	key := u.Query().Get("key")
	if raw, _ := base64URL(key); len(raw) != 16 {
		t.Errorf("key %q is not 128 bits", key)
	}
	anon := f.app.client()
	if rec := anon.get(u.RequestURI()); rec.Code != 200 || testid(t, rec, "event-title") != "Secret supper" {
		t.Fatalf("anonymous with the link: %d", rec.Code)
	}
	if rec := anon.get(path + ".ics?key=" + key); rec.Code != 200 {
		t.Errorf("ics with the link: %d", rec.Code)
	}
	// The guest RSVPs through the link: the form carries the key.
	page := f.gc[0].get(u.RequestURI())
	if v, _ := doc(t, page).Find(`form[action$="/rsvp"] input[name="key"]`).Attr("value"); v != key {
		t.Fatalf("RSVP form's key %q", v)
	}
	if rec := f.gc[0].post(path+"/rsvp", url.Values{"key": {key}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("rsvp with the key: %d", rec.Code)
	}
	// A key in the query string of the POST is not read.
	if rec := f.gc[1].post(path+"/rsvp?key="+key, nil); rec.Code != http.StatusNotFound {
		t.Errorf("rsvp with the key in the query: %d", rec.Code)
	}
	// A new link: the old key dies, the attendee keeps seeing the event.
	f.oc.post(path+"/share", url.Values{"action": {"rotate"}})
	if rec := anon.get(u.RequestURI()); rec.Code != http.StatusNotFound {
		t.Errorf("old link after rotation: %d", rec.Code)
	}
	if rec := f.gc[0].get(path); rec.Code != 200 {
		t.Errorf("attendee after rotation: %d", rec.Code)
	}
	link2, _ := doc(t, f.oc.get(path)).Find(`[data-testid="share-url"]`).Attr("value")
	if link2 == link || link2 == "" {
		t.Errorf("rotated link %q", link2)
	}
	f.oc.post(path+"/share", url.Values{"action": {"off"}})
	u2, _ := url.Parse(link2)
	if rec := anon.get(u2.RequestURI()); rec.Code != http.StatusNotFound {
		t.Errorf("link after turning it off: %d", rec.Code)
	}
	f.oc.post(path+"/share", url.Values{"action": {"on"}})
	if rec := anon.get(u2.RequestURI()); rec.Code != http.StatusNotFound {
		t.Errorf("a revoked link came back when sharing was turned on again: %d", rec.Code)
	}
	// The key is nowhere in the API's answers or the logs.
	c := f.app.client()
	tok := c.token(f.owner.Email, goodPassword)
	for _, p := range []string{"/api/event/", fmt.Sprintf("/api/event/%d", e.ID)} {
		body := c.api("GET", p, tok, nil).Body.String()
		for _, k := range []string{key, u2.Query().Get("key")} {
			if strings.Contains(body, k) {
				t.Errorf("%s shows the share key", p)
			}
		}
	}
	for _, k := range []string{key, u2.Query().Get("key")} {
		if strings.Contains(logs.String(), k) {
			t.Errorf("the log has the share key:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), path) {
		t.Error("the log has no request lines at all; the test reads the wrong log")
	}
	// The feed token is not logged either.
	feed, _ := doc(t, f.gc[0].get("/account")).Find(`[data-testid="feed-url"]`).Attr("value")
	fu, _ := url.Parse(feed)
	anon.get(fu.Path)
	if strings.Contains(logs.String(), strings.TrimSuffix(strings.TrimPrefix(fu.Path, "/calendar/"), ".ics")) {
		t.Error("the log has a calendar feed token")
	}
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// TestAttendeesCSV: a spreadsheet formula in a name comes out as text, and
// a CSV parser reads the file back.
func TestAttendeesCSV(t *testing.T) {
	f := newPlanningFixture(t)
	e := f.event(t, models.EventInput{Capacity: intp(1)})
	names := []string{"=HYPERLINK(\"http://evil\",\"x\")", "+1-2", "@SUM(A1)"}
	for i, c := range f.gc {
		if err := models.NewUsers(f.app.db).SetName(context.Background(), f.guests[i].ID, names[i]); err != nil {
			t.Fatal(err)
		}
		c.post(fmt.Sprintf("/events/%d/rsvp", e.ID), nil)
	}
	rec := f.oc.get(fmt.Sprintf("/events/%d/attendees.csv", e.ID))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", rec.Code, rec.Header())
	}
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv rows %v, %v", rows, err)
	}
	if rows[0][0] != "status" || rows[1][0] != "going" || rows[2][0] != "waitlisted" {
		t.Errorf("order: %v", rows)
	}
	for _, r := range rows[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
	if rows[1][1] != "'"+names[0] {
		t.Errorf("neutralised name %q", rows[1][1])
	}
	if rec := f.gc[0].get(fmt.Sprintf("/events/%d/attendees.csv", e.ID)); rec.Code != http.StatusForbidden {
		t.Errorf("csv as a guest: %d", rec.Code)
	}
}

// TestHomeAndMine: a signed-in user's home page lists their next events.
func TestHomeAndMine(t *testing.T) {
	f := newPlanningFixture(t)
	soon := time.Now().Add(24 * time.Hour)
	e := f.event(t, models.EventInput{Title: "Soon", StartsAt: &soon})
	f.gc[0].post(fmt.Sprintf("/events/%d/rsvp", e.ID), nil)
	if !strings.Contains(doc(t, f.gc[0].get("/")).Find(`[data-testid="my-next"]`).Text(), "Soon") {
		t.Error("home page misses the guest's next event")
	}
	if !strings.Contains(doc(t, f.gc[1].get("/")).Find(`[data-testid="no-my-next"]`).Text(), "Nothing planned") {
		t.Error("home page of a guest with nothing planned")
	}
	mine := f.gc[0].get("/events/mine")
	if got := testid(t, mine, "my-rsvp-badge"); got != "You're going" {
		t.Errorf("My events badge %q", got)
	}
}

// TestConcurrentRSVPsOverHTTP: 64 people answer one event with 5 seats at
// the same moment through the API, on SQLite and PostgreSQL: exactly 5 are
// told they are going, the event JSON agrees, and the attendees list too.
func TestConcurrentRSVPsOverHTTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app := newTestAppOn(t, db)
		owner := app.createUser("owner@example.com", goodPassword, models.RoleUser)
		start := time.Now().Add(24 * time.Hour)
		in := models.EventInput{Title: "Hot", StartsAt: &start, Capacity: intp(5)}
		in.Normalize()
		e, err := models.NewEvents(db).Create(context.Background(), owner.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		const n = 64
		c := app.client()
		tokens := make([]string, n)
		hash := hashOf(t, goodPassword)
		for i := range tokens {
			u, err := models.NewUsers(db).Create(context.Background(), fmt.Sprintf("p%d@example.com", i), "", hash, models.RoleUser)
			if err != nil {
				t.Fatal(err)
			}
			tokens[i] = c.token(u.Email, goodPassword)
		}
		path := fmt.Sprintf("/api/event/%d/rsvp", e.ID)
		statuses := make([]string, n)
		parallel(n, func(i int) {
			cl := app.client()
			rec := cl.api("POST", path, tokens[i], nil)
			var got EventJSON
			if rec.Code == 200 && json.Unmarshal(rec.Body.Bytes(), &got) == nil && got.MyRSVP != nil {
				statuses[i] = *got.MyRSVP
			} else {
				statuses[i] = fmt.Sprintf("%d %s", rec.Code, rec.Body.String())
			}
		})
		going, waiting := 0, 0
		for _, s := range statuses {
			switch s {
			case models.RSVPGoing:
				going++
			case models.RSVPWaitlisted:
				waiting++
			default:
				t.Errorf("answer %q", s)
			}
		}
		if going != 5 || waiting != n-5 {
			t.Errorf("%d going, %d waiting; want 5 and %d", going, waiting, n-5)
		}
		got := decode[EventJSON](t, c.api("GET", fmt.Sprintf("/api/event/%d", e.ID), "", nil))
		if got.GoingCount != 5 || got.Waitlist != n-5 {
			t.Errorf("event JSON counts %d/%d", got.GoingCount, got.Waitlist)
		}
		att := decode[struct{ Going, Waitlist []AttendeeJSON }](t, c.api("GET", fmt.Sprintf("/api/event/%d/attendees", e.ID),
			c.token(owner.Email, goodPassword), nil))
		if len(att.Going) != 5 || len(att.Waitlist) != n-5 {
			t.Errorf("attendees %d/%d", len(att.Going), len(att.Waitlist))
		}
	})
}

// icalendarCheck is run by Debian's python3-icalendar: it parses the file
// strictly, checks each event's required properties and prints each
// DTSTART as a UTC instant.
const icalendarCheck = `
import sys, datetime, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
assert cal.get('VERSION') == '2.0' and cal.get('PRODID'), 'VERSION/PRODID'
zones = {str(tz.get('TZID')) for tz in cal.walk('VTIMEZONE')}
for tz in cal.walk('VTIMEZONE'):
    parts = tz.walk('STANDARD') + tz.walk('DAYLIGHT')
    assert parts, 'empty VTIMEZONE'
    for p in parts:
        for k in ('DTSTART', 'TZOFFSETFROM', 'TZOFFSETTO'):
            assert p.get(k) is not None, k
for ev in cal.walk('VEVENT'):
    for k in ('UID', 'DTSTAMP', 'DTSTART', 'SEQUENCE', 'SUMMARY'):
        assert ev.get(k) is not None, k
    start = ev.decoded('DTSTART')
    assert start.tzinfo is not None, 'floating DTSTART'
    tzid = ev['DTSTART'].params.get('TZID')
    assert tzid in zones, 'TZID without VTIMEZONE: %s' % tzid
    print(ev.get('UID'), start.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))
`

// TestICSReadByPythonIcalendar: a second, independent parser (Python's
// icalendar, from Debian) reads the event file and a feed with two zones
// and finds the same instants.
func TestICSReadByPythonIcalendar(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import icalendar, pytz").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-icalendar is not installed (CI installs it)")
		}
		t.Skip("python3-icalendar not installed")
	}
	f := newPlanningFixture(t)
	s1 := time.Date(2031, 3, 29, 23, 0, 0, 0, time.UTC)
	e1 := s1.Add(4 * time.Hour)
	// 07:30 UTC is 02:30 EST, just after New York's clocks went back. (A
	// start in the repeated hour, 01:00–02:00 local, is written as RFC 5545
	// §3.3.5 says, meaning its first occurrence, but python-icalendar 4
	// with pytz reads the second: not a fair check.)
	s2 := time.Date(2031, 11, 2, 7, 30, 0, 0, time.UTC)
	a := f.event(t, models.EventInput{Title: "Berlin night", StartsAt: &s1, EndsAt: &e1, Timezone: "Europe/Berlin"})
	b := f.event(t, models.EventInput{Title: "New York morning, fall back", StartsAt: &s2, Timezone: "America/New_York"})
	dir := t.TempDir()
	run := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, "-c", icalendarCheck, p).CombinedOutput()
		if err != nil {
			t.Fatalf("python icalendar on %s: %v\n%s\n%s", name, err, out, body)
		}
		return string(out)
	}
	out := run("event.ics", f.gc[0].get(fmt.Sprintf("/events/%d.ics", a.ID)).Body.String())
	if want := fmt.Sprintf("event-%d@planner.test 2031-03-29T23:00:00Z\n", a.ID); out != want {
		t.Errorf("python read %q, want %q", out, want)
	}
	feed, _ := doc(t, f.oc.get("/account")).Find(`[data-testid="feed-url"]`).Attr("value")
	u, _ := url.Parse(feed)
	out = run("feed.ics", f.app.client().get(u.Path).Body.String())
	for _, want := range []string{fmt.Sprintf("event-%d@planner.test 2031-03-29T23:00:00Z", a.ID),
		fmt.Sprintf("event-%d@planner.test 2031-11-02T07:30:00Z", b.ID)} {
		if !strings.Contains(out, want) {
			t.Errorf("python read the feed as %q, want %q in it", out, want)
		}
	}
}

// TestRSVPNeedsAVerifiedAddressWhenConfigured: with
// PLANNER_REQUIRE_VERIFIED, an unverified account may not take a seat on
// the pages or the API (403), but may cancel; a verified one may RSVP.
func TestRSVPNeedsAVerifiedAddressWhenConfigured(t *testing.T) {
	f := newPlanningFixture(t, func(c *Config) { c.RequireVerified = true })
	e := f.event(t, models.EventInput{})
	path := fmt.Sprintf("/events/%d/rsvp", e.ID)
	if rec := f.gc[0].post(path, nil); rec.Code != http.StatusForbidden {
		t.Errorf("unverified RSVP on the page: %d", rec.Code)
	}
	c := f.app.client()
	tok := c.token(f.guests[0].Email, goodPassword)
	if rec := c.api("POST", "/api/event/"+fmt.Sprint(e.ID)+"/rsvp", tok, nil); rec.Code != http.StatusForbidden {
		t.Errorf("unverified RSVP on the API: %d", rec.Code)
	}
	if rec := c.api("DELETE", "/api/event/"+fmt.Sprint(e.ID)+"/rsvp", tok, nil); rec.Code != http.StatusOK {
		t.Errorf("unverified cancel on the API: %d", rec.Code)
	}
	if st, _ := models.NewEvents(f.app.db).MyRSVP(context.Background(), e.ID, f.guests[0].ID); st != "" {
		t.Errorf("refused RSVP left %q", st)
	}
	now := time.Now()
	if err := f.app.db.Model(&models.User{}).Where("id = ?", f.guests[1].ID).Update("email_verified_at", now).Error; err != nil {
		t.Fatal(err)
	}
	if rec := f.gc[1].post(path, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("verified RSVP: %d", rec.Code)
	}
}
