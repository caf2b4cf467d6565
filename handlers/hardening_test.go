package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// TestTimesOutsideYears1To9999 sends instants whose UTC year leaves 1–9999
// (a local time that is still 9999 or 0001 on its own clock) through every
// surface that takes a time: each is a 422 naming the field, and nothing is
// stored or changed.
func TestTimesOutsideYears1To9999(t *testing.T) {
	pagoPago, err := time.LoadLocation("Pacific/Pago_Pago") // UTC−11
	if err != nil {
		t.Fatal(err)
	}
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati") // UTC+14
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t)
	app.createUser("owner@example.com", "correct-horse-battery", models.RoleUser)
	c := app.client()
	tok := c.token("owner@example.com", "correct-horse-battery")

	rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Kept", "starts_at": "2031-03-01T18:00:00Z"})
	if rec.Code != http.StatusOK {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	id := decode[struct {
		ID uint `json:"id"`
	}](t, rec).ID

	for _, bad := range []string{"9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z"} {
		for _, field := range []string{"starts_at", "ends_at"} {
			rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Out of range", field: bad})
			want422(t, rec, "body", field)
			rec = c.api("PUT", "/api/event/"+strconv.FormatUint(uint64(id), 10), tok, map[string]any{field: bad})
			want422(t, rec, "body", field)
		}
	}
	// The edges themselves are fine, and read back as written.
	rec = c.api("PUT", "/api/event/"+strconv.FormatUint(uint64(id), 10), tok, map[string]any{"starts_at": "0001-01-01T00:00:00Z", "ends_at": "9999-12-31T23:59:59Z"})
	if rec.Code != http.StatusOK {
		t.Fatalf("edges: %d %s", rec.Code, rec.Body.String())
	}
	got := decode[map[string]any](t, c.api("GET", "/api/event/"+strconv.FormatUint(uint64(id), 10), tok, nil))
	if got["starts_at"] != "0001-01-01T00:00:00Z" || got["ends_at"] != "9999-12-31T23:59:59Z" {
		t.Errorf("edges read back as %v / %v", got["starts_at"], got["ends_at"])
	}
	var n int64
	app.db.Model(&models.Event{}).Count(&n)
	if n != 1 {
		t.Errorf("%d events stored, want only the valid one", n)
	}

	// Pages read datetime-local in PLANNER_TIMEZONE: 9999-12-31 23:59 in
	// UTC−11 is in the year 10000 in UTC. (Pages take no year before 1900
	// at all, so 0001-01-01 00:30 in UTC+14 is refused as a bad date.)
	for _, tc := range []struct {
		loc   *time.Location
		value string
		msg   string
	}{{pagoPago, "9999-12-31T23:59", "between the years 1 and 9999"}, {kiritimati, "0001-01-01T00:30", "Enter a date and time"}} {
		app := newTestApp(t, func(c *Config) { c.Timezone = tc.loc })
		app.createUser("page@example.com", "correct-horse-battery", models.RoleUser)
		pc := app.client()
		pc.login("page@example.com", "correct-horse-battery")
		rec := pc.post("/events", url.Values{"title": {"Out of range"}, "starts_at": {tc.value}, "visibility": {"public"}})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("page create with %s in %s: %d, want 422 with the message", tc.value, tc.loc, rec.Code)
		}
		var n int64
		app.db.Model(&models.Event{}).Count(&n)
		if n != 0 {
			t.Errorf("page create stored %d events", n)
		}
	}
}
