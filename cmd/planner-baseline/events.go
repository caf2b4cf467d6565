package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/static"
	"github.com/planner/planner/views"
)

// pageSize is Planner's page of the events list (handlers.pageSize).
const pageSize = 20

// viewer is the user the events page is rendered for: the bench's, who
// signed up through the API (so the address is unverified) and created
// every event, in the default zone.
var viewer = views.User{Name: "Bench", Email: "bench@example.com", Unverified: true}

// csrfToken stands in for Planner's: an HMAC-SHA256 in unpadded base64,
// so the page is as long as Planner's.
var csrfToken = base64.RawURLEncoding.EncodeToString(make([]byte, 32))

// eventsPage renders what Planner's GET /events shows the signed-in bench
// user: the first page of the events in the browse order (upcoming soonest
// first, then past ones latest first, then undated ones newest first),
// grouped under the same headings, with the same templ components. Like a
// bare Echo + templ app it builds the page's view models and renders them
// on every request; only reading the database, sessions, CSRF and
// Planner's middleware are left out.
type eventsPage struct {
	events []*timedEvent // by start, then id; undated last
	zone   *time.Location
	assets string
}

// timedEvent is an event with its times parsed once.
type timedEvent struct {
	*event
	start, end *time.Time
	loc        *time.Location
}

func newEventsPage(events []event, zone *time.Location) (*eventsPage, error) {
	p := &eventsPage{zone: zone, assets: static.Version()}
	for i := range events {
		e := &timedEvent{event: &events[i], loc: zone}
		var err error
		if e.start, err = parseTime(e.StartsAt); err != nil {
			return nil, err
		}
		if e.end, err = parseTime(e.EndsAt); err != nil {
			return nil, err
		}
		if e.Timezone != "" {
			if e.loc, err = time.LoadLocation(e.Timezone); err != nil {
				return nil, fmt.Errorf("event %d: %w", e.ID, err)
			}
		}
		p.events = append(p.events, e)
	}
	slices.SortFunc(p.events, func(a, b *timedEvent) int {
		switch {
		case a.start == nil && b.start == nil:
			return int(b.ID) - int(a.ID)
		case a.start == nil:
			return 1
		case b.start == nil:
			return -1
		}
		if c := a.start.Compare(*b.start); c != 0 {
			return c
		}
		return int(a.ID) - int(b.ID)
	})
	return p, nil
}

func parseTime(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, fmt.Errorf("event time: %w", err)
	}
	return &t, nil
}

// serve answers GET /events.
func (p *eventsPage) serve(c echo.Context) error {
	now := time.Now().UTC().Truncate(time.Second)
	// The browse order: upcoming (start >= now) ascending, then past
	// descending, then undated (already newest first at the end).
	split, _ := slices.BinarySearchFunc(p.events, now, func(e *timedEvent, t time.Time) int {
		if e.start == nil {
			return 1
		}
		return e.start.Compare(t)
	})
	dated := split
	for dated < len(p.events) && p.events[dated].start != nil {
		dated++
	}
	order := make([]*timedEvent, 0, pageSize+1)
	order = append(order, p.events[split:dated]...)
	for i := split - 1; i >= 0 && len(order) <= pageSize; i-- {
		order = append(order, p.events[i])
	}
	order = append(order, p.events[dated:]...)
	more := len(order) > pageSize
	order = order[:min(len(order), pageSize)]

	var l views.EventList
	for _, e := range order {
		name, id := "No date", "undated"
		switch {
		case e.start != nil && !e.start.Before(now):
			name, id = "Upcoming", "upcoming"
		case e.start != nil:
			name, id = "Past", "past"
		}
		if n := len(l.Groups); n == 0 || l.Groups[n-1].ID != id {
			l.Groups = append(l.Groups, views.EventGroup{Name: name, ID: id})
		}
		g := &l.Groups[len(l.Groups)-1]
		g.Events = append(g.Events, p.view(e))
	}
	if more {
		last := order[len(order)-1]
		l.NextURL = "/events?" + url.Values{"after": {cursor(last, now)}}.Encode()
	}
	u := viewer
	page := views.Page{Title: "Events", CSRF: csrfToken, User: &u, Assets: p.assets}
	// Into a buffer first, as Planner's render does.
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := views.Events(page, l).Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// cursor is a next-page cursor shaped like Planner's (base64 of the same
// JSON), so the link is as long.
func cursor(e *timedEvent, now time.Time) string {
	c := map[string]any{"o": 3, "s": 2, "i": e.ID, "n": now.Unix()}
	if e.start != nil {
		c["t"] = e.start.Unix()
		c["s"] = 1
		if !e.start.Before(now) {
			c["s"] = 0
		}
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// view is the list's view of one event, as Planner's handlers make it for
// the bench user (who created every event, so may edit each).
func (p *eventsPage) view(e *timedEvent) views.EventView {
	v := views.EventView{
		ID: strconv.FormatUint(uint64(e.ID), 10), Title: e.Title, Image: e.Image, Description: e.Description,
		Location: e.Location, Tags: e.Tags, CreatorName: e.CreatorName, Private: e.Visibility == "private",
		CanEdit: true, SignedIn: true, RSVPOpen: e.RSVPOpen, Going: e.GoingCount, Waiting: e.Waitlist, SeatsLeft: -1,
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if e.Capacity != nil {
		v.Capacity = *e.Capacity
		v.SeatsLeft = max(0, *e.Capacity-e.GoingCount)
	}
	if e.start != nil {
		v.When = formatWhen(e.start, e.end, e.loc)
		v.Zone = zoneLabel(*e.start, e.loc)
		v.StartsISO = e.start.UTC().Format(time.RFC3339)
		s := e.start.In(e.loc)
		v.Month, v.Day, v.Weekday = s.Format("Jan"), s.Format("2"), s.Format("Mon")
		if e.loc.String() != p.zone.String() {
			v.ViewerWhen = formatWhen(e.start, e.end, p.zone)
			v.ViewerZone = zoneLabel(*e.start, p.zone)
		}
	}
	return v
}

// formatWhen and zoneLabel show times as Planner's pages do.
func formatWhen(start, end *time.Time, loc *time.Location) string {
	s := start.In(loc)
	out := s.Format("Mon 2 Jan 2006, 15:04")
	if end != nil && !end.Equal(*start) {
		e := end.In(loc)
		if e.Year() == s.Year() && e.YearDay() == s.YearDay() {
			out += " – " + e.Format("15:04")
		} else {
			out += " – " + e.Format("Mon 2 Jan 2006, 15:04")
		}
	}
	return out
}

func zoneLabel(t time.Time, loc *time.Location) string {
	abbr, _ := t.In(loc).Zone()
	if abbr == loc.String() {
		return abbr
	}
	return loc.String() + " (" + abbr + ")"
}
