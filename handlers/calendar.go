package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
)

// iCalendar (RFC 5545) for /events/{id}.ics and each user's feed
// /calendar/{token}.ics. Times are written in the event's own zone with
// TZID, and the zone itself as a VTIMEZONE listing its real offsets over
// the event's dates (from Go's zone database, so no recurrence rules to
// get wrong); UID is stable per event and SEQUENCE is the event's, which
// every edit raises.

// icsLocal is the local date-time form of DTSTART;TZID=...
const icsLocal = "20060102T150405"

// calendarWriter builds calendars for one site.
type calendarWriter struct {
	host     string // the UIDs' domain
	baseURL  string
	timezone *time.Location // the default zone
}

func newCalendarWriter(cfg Config) calendarWriter {
	return calendarWriter{host: cfg.BaseURL.Hostname(), baseURL: cfg.BaseURL.String(), timezone: cfg.Timezone}
}

// uid is the event's UID: the same in every file and feed, forever.
func (w calendarWriter) uid(e *models.Event) string { return fmt.Sprintf("event-%d@%s", e.ID, w.host) }

// calendar writes the dated events among es (undated ones cannot be in a
// calendar) with a VTIMEZONE for each zone they use.
func (w calendarWriter) calendar(name string, es []models.Event) *ics.Calendar {
	cal := ics.NewCalendarFor("Planner")
	cal.SetProductId("-//Planner//Planner events//EN")
	cal.SetMethod(ics.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	if name != "" {
		cal.SetXWRCalName(name)
	}
	type span struct{ from, to time.Time }
	zones := map[string]*span{}
	var order []*time.Location
	for i := range es {
		e := &es[i]
		if e.StartsAt == nil {
			continue
		}
		loc := eventZone(e, w.timezone)
		end := *e.StartsAt
		if e.EndsAt != nil {
			end = *e.EndsAt
		}
		if s, ok := zones[loc.String()]; ok {
			s.from, s.to = minTime(s.from, *e.StartsAt), maxTime(s.to, end)
		} else {
			zones[loc.String()] = &span{from: *e.StartsAt, to: end}
			order = append(order, loc)
		}
	}
	for _, loc := range order {
		s := zones[loc.String()]
		cal.AddVTimezone(vtimezone(loc, s.from, s.to))
	}
	for i := range es {
		e := &es[i]
		if e.StartsAt == nil {
			continue
		}
		loc := eventZone(e, w.timezone)
		ev := cal.AddEvent(w.uid(e))
		ev.SetDtStampTime(e.UpdatedAt)
		ev.SetCreatedTime(e.CreatedAt)
		ev.SetModifiedAt(e.UpdatedAt)
		ev.SetSequence(e.Sequence)
		ev.SetProperty(ics.ComponentPropertyDtStart, e.StartsAt.In(loc).Format(icsLocal), ics.WithTZID(loc.String()))
		if e.EndsAt != nil {
			ev.SetProperty(ics.ComponentPropertyDtEnd, e.EndsAt.In(loc).Format(icsLocal), ics.WithTZID(loc.String()))
		}
		ev.SetSummary(e.Title)
		if e.Description != "" {
			ev.SetDescription(e.Description)
		}
		if e.Location != "" {
			ev.SetLocation(e.Location)
		}
		ev.SetURL(fmt.Sprintf("%s/events/%d", w.baseURL, e.ID))
		ev.SetStatus(ics.ObjectStatusConfirmed)
		if e.Visibility == models.VisibilityPrivate {
			ev.SetClass(ics.ClassificationPrivate)
		}
	}
	return cal
}

// vtimezone describes loc from the period in force at from to the one in
// force at to: one STANDARD or DAYLIGHT part per period, each starting at
// its real transition (in the local time before it, as RFC 5545 wants).
func vtimezone(loc *time.Location, from, to time.Time) *ics.VTimezone {
	tz := ics.NewTimezone(loc.String())
	t := from
	for range 64 { // a few years of twice-yearly changes at most
		start, end := t.In(loc).ZoneBounds()
		abbr, off := t.In(loc).Zone()
		prevOff := off
		onset := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Format(icsLocal)
		if !start.IsZero() {
			_, prevOff = start.Add(-time.Second).In(loc).Zone()
			onset = start.UTC().Add(time.Duration(prevOff) * time.Second).Format(icsLocal)
		}
		part := &ics.ComponentBase{}
		part.SetProperty(ics.ComponentPropertyDtStart, onset)
		part.SetProperty(ics.ComponentProperty("TZOFFSETFROM"), icsOffset(prevOff))
		part.SetProperty(ics.ComponentProperty("TZOFFSETTO"), icsOffset(off))
		part.SetProperty(ics.ComponentProperty("TZNAME"), abbr)
		if t.In(loc).IsDST() {
			tz.Components = append(tz.Components, &ics.Daylight{ComponentBase: *part})
		} else {
			tz.Components = append(tz.Components, &ics.Standard{ComponentBase: *part})
		}
		if end.IsZero() || end.After(to) {
			break
		}
		t = end
	}
	return tz
}

// icsOffset writes a UTC offset as RFC 5545 does: +0100, -0330, +053328.
func icsOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	out := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		out += fmt.Sprintf("%02d", sec%60)
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// writeICS sends a calendar; attachment names a file to download.
func writeICS(c echo.Context, cal *ics.Calendar, attachment string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/calendar; charset=utf-8")
	if attachment != "" {
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+attachment+`"`)
	}
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", []byte(cal.Serialize(ics.WithNewLine("\r\n"))))
}

// errNoDate answers a calendar file for an event without a date.
var errNoDate = echo.NewHTTPError(http.StatusNotFound, "This event has no date yet, so it cannot go in a calendar.")

// eventICS answers /events/{id}.ics for an event the caller may see.
func (h *Events) eventICS(c echo.Context, e *models.Event) error {
	if e.StartsAt == nil {
		return errNoDate
	}
	cal := h.cal.calendar("", []models.Event{*e})
	return writeICS(c, cal, fmt.Sprintf("event-%d.ics", e.ID))
}

// userByID finds the owner of a calendar feed (*models.Users).
type userByID interface {
	ByID(ctx context.Context, id uint) (*models.User, error)
}

// Calendar serves the users' calendar feeds.
type Calendar struct {
	users   userByID
	rsvps   rsvpStore
	secrets derivedSecrets
	cal     calendarWriter
}

// NewCalendar returns the feeds.
func NewCalendar(cfg Config, users userByID, rsvps rsvpStore) *Calendar {
	return &Calendar{users: users, rsvps: rsvps, secrets: derivedSecrets{keys: cfg.SecretKeys}, cal: newCalendarWriter(cfg)}
}

// feedEvents bounds a feed.
const feedEvents = 1000

// Feed answers /calendar/{token}.ics: the events the token's user created
// or goes to. The token is the only credential (calendar apps send no
// cookies); a wrong, rotated or disabled user's token is 404, like a
// missing page.
func (h *Calendar) Feed(c echo.Context) error {
	token, ok := strings.CutSuffix(c.Param("token"), ".ics")
	if !ok {
		return echo.ErrNotFound
	}
	id, mac, ok := h.secrets.ParseFeedToken(token)
	if !ok {
		return echo.ErrNotFound
	}
	u, err := h.users.ByID(c.Request().Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	if u.Disabled || !h.secrets.FeedTokenOK(u.ID, u.CalendarGen, mac) {
		return echo.ErrNotFound
	}
	list, err := h.rsvps.Mine(c.Request().Context(), models.MineQuery{UserID: u.ID, OnlyGoing: true, Limit: feedEvents})
	if err != nil {
		return err
	}
	return writeICS(c, h.cal.calendar("Planner: "+u.Name, list), "")
}

// FeedURL is the address of u's feed.
func (h *Calendar) FeedURL(u *models.User) string {
	return h.cal.baseURL + "/calendar/" + url.PathEscape(h.secrets.FeedToken(u.ID, u.CalendarGen)) + ".ics"
}
