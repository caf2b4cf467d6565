package main

import (
	"fmt"
)

// scaleLoad is one workload of the scale check.
type scaleLoad struct {
	name string
	l    load
}

// scaleLoads are the workloads compared at 1,000 and at b.scale events on
// the Planner at base: the list and the events page signed in, whose
// answers never come from the public cache, and RSVPs.
func (b *bench) scaleLoads(base, token, cookie, rsvpPath string) []scaleLoad {
	return []scaleLoad{
		{"`GET /api/event/?limit=50`, bearer", load{url: base + "/api/event/?limit=50", threads: 2, conns: 32,
			duration: b.dur, headers: []string{"Authorization: Bearer " + token}}},
		{"`GET /events` signed in", load{url: base + "/events", threads: 2, conns: 32, duration: b.dur,
			headers: []string{"Cookie: " + cookie}}},
		// RSVP and cancel by turns on one event with a capacity: every
		// request a write under the event row's lock, plus its audit
		// entry and, for a seat taken, its mail in the outbox.
		{"RSVP and cancel by turns, bearer", load{url: base + rsvpPath, threads: 2, conns: 32,
			duration: b.dur, method: "RSVP_TOGGLE", headers: []string{"Authorization: Bearer " + token}}},
	}
}

// scaleLine compares the time per request of one workload at big events
// with its time at 1,000.
func scaleLine(col int, big, name string, small, large result) line {
	ratio := small.okRate() / large.okRate() // time per request, big over 1k
	c := cell{text: fmt.Sprintf("%.2f× (%s/s → %s/s)", ratio, count(small.okRate()), count(large.okRate())),
		ok: yes(ratio <= 1.5 && large.errors() == 0)}
	if e := large.errors(); e > 0 {
		c.text += ", " + count(e) + " errors"
	}
	return on(col, fmt.Sprintf("time at %s ÷ at 1,000 events: %s", big, name), "≤ 1.5×", c)
}
