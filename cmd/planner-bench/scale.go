package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// scaleCheck compares the list, the events page and RSVPs at 1,000 events
// and at b.scale events, on an SQLite database of its own seeded in bulk.
func (b *bench) scaleCheck() ([]line, error) {
	db := filepath.Join(b.dir, "scale.db")
	s, err := b.startPlanner(db)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	cl := newAPI(s.url)
	token, err := cl.account(true)
	if err != nil {
		return nil, err
	}
	cookie, err := cl.browser()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := bulkEvents(ctx, db, 1, 1000); err != nil {
		return nil, fmt.Errorf("seed 1,000 events: %w", err)
	}
	rsvpPath, err := cl.cappedEvent(token)
	if err != nil {
		return nil, err
	}
	type workload struct {
		name string
		l    load
	}
	ws := []workload{
		// With a bearer token: answers to signed-in callers never come
		// from the public cache, so every request runs the query.
		{"`GET /api/event/?limit=50`, bearer", load{url: s.url + "/api/event/?limit=50", threads: 2, conns: 32,
			duration: b.dur, headers: []string{"Authorization: Bearer " + token}}},
		{"`GET /events` signed in", load{url: s.url + "/events", threads: 2, conns: 32, duration: b.dur,
			headers: []string{"Cookie: " + cookie}}},
		// RSVP and cancel by turns on one event with a capacity: every
		// request a write under the event row's lock, plus its audit
		// entry and, for a seat taken, its mail in the outbox.
		{"RSVP and cancel by turns, bearer", load{url: s.url + rsvpPath, threads: 2, conns: 32,
			duration: b.dur, method: "RSVP_TOGGLE", headers: []string{"Authorization: Bearer " + token}}},
	}
	measure := func(size string) ([]result, error) {
		var rs []result
		for _, w := range ws {
			r, err := b.measure(colNames[colSQLite], "scale at "+size+": "+w.name, w.l)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		return rs, nil
	}
	small, err := measure("1,000")
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := bulkEvents(ctx, db, 1, b.scale-1000); err != nil {
		return nil, fmt.Errorf("seed %d events: %w", b.scale, err)
	}
	big := count(float64(b.scale))
	fmt.Fprintf(b.out, "scale: seeded %d more events in one transaction in %s\n", b.scale-1000, time.Since(t0).Round(time.Millisecond))
	large, err := measure(big)
	if err != nil {
		return nil, err
	}
	var lines []line
	for i, w := range ws {
		ratio := small[i].okRate() / large[i].okRate() // time per request, 1M over 1k
		c := cell{text: fmt.Sprintf("%.2f× (%s/s → %s/s)", ratio, count(small[i].okRate()), count(large[i].okRate())),
			ok: yes(ratio <= 1.5 && large[i].errors() == 0)}
		if e := large[i].errors(); e > 0 {
			c.text += ", " + count(e) + " errors"
		}
		lines = append(lines, on(colSQLite, fmt.Sprintf("time at %s ÷ at 1,000 events: %s", big, w.name), "≤ 1.5×", c))
	}
	return lines, nil
}
