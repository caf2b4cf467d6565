package handlers

import (
	"errors"
	"strings"
	"time"

	"github.com/planner/planner/models"
)

// Time zones. An event's times are entered and shown in its own zone (its
// Timezone, or PLANNER_TIMEZONE for events made before zones existed); a
// viewer reads them in their zone too when it differs.

// zoneOr returns the location named name, or def when name is empty or
// unknown (a zone the server's database no longer has).
func zoneOr(name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return def
}

// eventZone is the zone an event's times are shown in.
func eventZone(e *models.Event, def *time.Location) *time.Location { return zoneOr(e.Timezone, def) }

// viewerZone is the zone a viewer reads times in: theirs, else the default.
func viewerZone(u *models.User, def *time.Location) *time.Location {
	if u == nil {
		return def
	}
	return zoneOr(u.Timezone, def)
}

// Errors of a wall-clock time read in a zone.
var (
	// errNoSuchTime is a local time the clocks skip (spring forward).
	errNoSuchTime = errors.New("that time does not exist in the zone")
	errBadTime    = errors.New("not a datetime-local value")
)

// localLayouts are the datetime-local forms a browser (or a person) sends.
var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"}

// parseLocal reads a wall-clock time in loc; "" is no time. A time the
// clocks skip that day (02:30 when they jump from 02:00 to 03:00) is
// errNoSuchTime, never silently moved. A time that happens twice (when
// the clocks go back) is the earlier of the two, the one before the
// change: the documented choice, since a person writing "01:30" on that
// night almost always means the first.
func parseLocal(s string, loc *time.Location) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range localLayouts {
		wall, err := time.ParseInLocation(layout, s, time.UTC) // the wall clock, as if in UTC
		if err != nil {
			continue
		}
		if wall.Year() < 1900 || wall.Year() > 9999 {
			break
		}
		t, ok := resolveWall(wall, loc)
		if !ok {
			return nil, errNoSuchTime
		}
		return &t, nil
	}
	return nil, errBadTime
}

// resolveWall finds the instants whose wall clock in loc is wall (given as
// a UTC time) and returns the earliest, or false when there is none. The
// candidates are wall minus each offset the zone has within a day of it:
// zones change offset at most once a day.
func resolveWall(wall time.Time, loc *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	seen := map[int]bool{}
	for _, probe := range []time.Duration{-26 * time.Hour, 0, 26 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		cand := wall.Add(-time.Duration(off) * time.Second)
		if _, got := cand.In(loc).Zone(); got != off {
			continue // that offset is not in force at this instant
		}
		if !found || cand.Before(best) {
			best, found = cand, true
		}
	}
	return best, found
}

// zoneLabel names a zone for people: "Europe/Berlin (CET)".
func zoneLabel(t time.Time, loc *time.Location) string {
	abbr, _ := t.In(loc).Zone()
	if abbr == loc.String() {
		return abbr
	}
	return loc.String() + " (" + abbr + ")"
}

// commonZones are offered on the forms (any IANA name is accepted).
var commonZones = []string{"UTC", "Europe/London", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Kyiv",
	"Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "Africa/Nairobi", "Africa/Johannesburg", "Asia/Dubai",
	"Asia/Kolkata", "Asia/Bangkok", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Perth", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
	"America/Mexico_City", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu"}
