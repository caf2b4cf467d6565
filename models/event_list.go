package models

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"
)

// EventOrder is the order of a list of events.
type EventOrder int

// The orders events can be listed in.
const (
	// OrderID is the API's order: by id, oldest first.
	OrderID EventOrder = iota
	// OrderUpcoming lists only events starting now or later, soonest first.
	OrderUpcoming
	// OrderNewest lists every event newest first (the admin's list).
	OrderNewest
	// OrderBrowse is the pages' order: upcoming events soonest first, then
	// past ones most recent first, then undated ones newest first.
	OrderBrowse
)

// MaxPageSize bounds every list.
const MaxPageSize = 200

// ErrBadCursor means a pagination cursor was not one Planner made.
var ErrBadCursor = errors.New("invalid cursor")

// EventQuery selects a page of events.
type EventQuery struct {
	Viewer     *User // nil for anonymous callers
	AllPrivate bool  // list every private event too (admins in the API)
	Q          string
	Tag        string
	Order      EventOrder
	Limit      int
	After      string // cursor: the page after this one
	Before     string // cursor: the page before this one
	Now        time.Time
}

// EventPage is one page of events and the cursors around it.
type EventPage struct {
	Events []Event
	Next   string // "" when this is the last page
	Prev   string // "" when this is the first page
	// Now is the moment the listing measures "upcoming" and "past" from:
	// the first page's, carried on by every cursor, so a page can say
	// where its events belong exactly as the listing split them.
	Now time.Time
}

// cursor is the position of one event in a listing. It carries the moment
// the listing began, so "upcoming" and "past" mean the same on every page
// and an event that starts meanwhile is neither repeated nor skipped.
type cursor struct {
	Order EventOrder `json:"o"`
	Seg   int        `json:"s"`
	Start *int64     `json:"t,omitempty"`
	ID    uint       `json:"i"`
	Now   int64      `json:"n"`
	// Incl makes the event at the cursor part of the page it leads to: the
	// way back from an empty page to the one before it.
	Incl bool `json:"e,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, order EventOrder, segs int) (cursor, error) {
	var c cursor
	if len(s) > 200 {
		return c, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	// Ids past the int64 range cannot be compared in SQL (PostgreSQL
	// refuses the parameter): no real cursor holds one.
	if err != nil || json.Unmarshal(b, &c) != nil || c.Order != order || c.Seg < 0 || c.Seg >= segs || c.ID == 0 ||
		uint64(c.ID) > math.MaxInt64 {
		return c, ErrBadCursor
	}
	return c, nil
}

// segment is one run of a listing with its own condition and key order.
// byStart orders by (starts_at, id), else by id alone; desc reverses both.
type segment struct {
	where   string
	byStart bool
	desc    bool
}

func segments(order EventOrder) []segment {
	switch order {
	case OrderUpcoming:
		return []segment{{where: "events.starts_at >= @now", byStart: true}}
	case OrderNewest:
		return []segment{{desc: true}}
	case OrderBrowse:
		return []segment{
			{where: "events.starts_at >= @now", byStart: true},
			{where: "events.starts_at < @now", byStart: true, desc: true},
			{where: "events.starts_at IS NULL", desc: true},
		}
	default:
		return []segment{{}}
	}
}

// List returns one page of the events q selects, using keyset pagination:
// each page is found from the previous page's last key through an index,
// never by counting or skipping rows, so page 1,000 costs what page 1 does.
func (s *Events) List(ctx context.Context, q EventQuery) (EventPage, error) {
	if strings.TrimSpace(q.Q) != "" && isPostgres(s.db) {
		// A search's plan depends on its term: a rare one through the GIN
		// indexes, a common one along the page order. PostgreSQL would
		// settle on one generic plan for a prepared statement after a few
		// runs (a sequential scan that reads the whole table for a rare
		// term); custom plans, in a read-only transaction, keep each term's
		// own.
		var page EventPage
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL plan_cache_mode = force_custom_plan").Error; err != nil {
				return err
			}
			var err error
			page, err = (&Events{db: tx, few: s.few, window: s.window, scanWindow: s.scanWindow}).list(ctx, q)
			return err
		}, &sql.TxOptions{ReadOnly: true})
		if err != nil && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrBadCursor) && ctx.Err() != nil {
			err = fmt.Errorf("search events: %w: %w", ErrTimeout, err) // BEGIN or SET cut short
		}
		return page, err
	}
	return s.list(ctx, q)
}

func (s *Events) list(ctx context.Context, q EventQuery) (EventPage, error) {
	if q.Limit <= 0 || q.Limit > MaxPageSize {
		q.Limit = 50
	}
	if !storableText(q.Q) || !storableText(q.Tag) {
		return EventPage{}, nil // matches nothing stored (and PostgreSQL would fail)
	}
	segs := segments(q.Order)
	now := q.Now.UTC().Truncate(time.Second)
	var cur *cursor
	backward := false
	for _, raw := range []string{q.After, q.Before} {
		if raw == "" {
			continue
		}
		c, err := decodeCursor(raw, q.Order, len(segs))
		if err != nil {
			return EventPage{}, err
		}
		cur, backward = &c, raw == q.Before && q.After == ""
		now = time.Unix(c.Now, 0).UTC()
		break
	}

	// Walk the segments from the cursor's, forward or backward, until one
	// more event than the page holds has been seen.
	var found []Event
	var foundSeg []int
	start := 0
	if cur != nil {
		start = cur.Seg
	}
	step := 1
	if backward {
		step = -1
	}
	var sr *search
	if term := strings.TrimSpace(q.Q); term != "" {
		prepared := newSearch(term)
		if err := s.prepareSearch(ctx, &prepared); err != nil {
			return EventPage{}, err
		}
		sr = &prepared
		if slots := scanSlots(s.db); slots != nil && !sr.few {
			// Wait for a slot no longer than the request may last.
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				return EventPage{}, fmt.Errorf("search events: wait for a scan slot: %w: %w", ErrTimeout, ctx.Err())
			}
		}
	}
	var stop *cursor // where a search stopped looking, if it did
	for si := start; si >= 0 && si < len(segs) && len(found) <= q.Limit; si += step {
		var at *cursor
		if cur != nil && si == cur.Seg {
			at = cur
		}
		rows, end, err := s.segmentRows(ctx, q, sr, segs[si], now, at, backward, q.Limit+1-len(found))
		if err != nil {
			return EventPage{}, err
		}
		for range rows {
			foundSeg = append(foundSeg, si)
		}
		found = append(found, rows...)
		if end != nil && len(found) <= q.Limit {
			stop = &cursor{Order: q.Order, Seg: si, ID: end.id, Now: now.Unix()}
			if end.start != nil {
				t := end.start.Unix()
				stop.Start = &t
			}
			break
		}
	}

	n, hasNext, hasPrev := keyset(len(found), q.Limit, backward, cur != nil, func(i, j int) {
		found[i], found[j] = found[j], found[i]
		foundSeg[i], foundSeg[j] = foundSeg[j], foundSeg[i]
	})
	found, foundSeg = found[:n], foundSeg[:n]
	page := EventPage{Events: found, Now: now}
	key := func(i int) string {
		c := cursor{Order: q.Order, Seg: foundSeg[i], ID: found[i].ID, Now: now.Unix()}
		if found[i].StartsAt != nil {
			t := found[i].StartsAt.Unix()
			c.Start = &t
		}
		return c.encode()
	}
	if stop != nil {
		// The search looked at as many events as one page may and goes on
		// from the last of them: this page may be short, even empty. The
		// way back from an empty page starts there too.
		edge := stop.encode()
		switch {
		case backward:
			page.Prev, page.Next = edge, edge
			if len(found) > 0 {
				page.Next = key(len(found) - 1)
			}
		default:
			page.Next = edge
			if cur != nil {
				page.Prev = edge
				if len(found) > 0 {
					page.Prev = key(0)
				}
			}
		}
		return page, nil
	}
	if len(found) == 0 {
		// Nothing past the cursor (a search's last page can be empty): the
		// way back leads to the page that ends with the cursor's event.
		if cur != nil {
			back := *cur
			back.Incl = true
			if backward {
				page.Next = back.encode()
			} else {
				page.Prev = back.encode()
			}
		}
		return page, nil
	}
	if hasNext {
		page.Next = key(len(found) - 1)
	}
	if hasPrev {
		page.Prev = key(0)
	}
	return page, nil
}

// segmentRows reads up to n events of one segment past (or, backward,
// before) the cursor at. A search may stop early (see searchRows): stop is
// then the key of the last event it looked at, where the next page begins.
func (s *Events) segmentRows(ctx context.Context, q EventQuery, sr *search, seg segment, now time.Time, at *cursor, backward bool, n int) ([]Event, *listKey, error) {
	if sr != nil {
		return s.searchRows(ctx, sr, q, seg, now, keyOf(at), backward, n)
	}
	l := listing{q: q, seg: seg, now: now, backward: backward}
	tx, err := l.where(eventQuery(ctx, s.db), keyOf(at))
	if err != nil {
		return nil, nil, err
	}
	rows, err := readEvents(l.order(tx).Limit(n))
	if err != nil {
		return nil, nil, translate("list events", err)
	}
	return rows, nil, nil
}

// listKey is the position of an event within a segment.
type listKey struct {
	start *time.Time
	id    uint
	incl  bool // the key itself is past it too
}

func keyOf(c *cursor) *listKey {
	if c == nil {
		return nil
	}
	k := &listKey{id: c.ID, incl: c.Incl}
	if c.Start != nil {
		t := time.Unix(*c.Start, 0).UTC()
		k.start = &t
	}
	return k
}

// listing is one segment of a listing walked in one direction.
type listing struct {
	q        EventQuery
	seg      segment
	now      time.Time
	backward bool
}

// smaller reports whether the walk meets smaller keys first: forward in a
// descending segment, or backward in an ascending one.
func (l listing) smaller() bool { return l.seg.desc != l.backward }

// where adds who may see what, the tag, the segment's condition and the
// keys past at, in the walk's direction.
func (l listing) where(tx *gorm.DB, at *listKey) (*gorm.DB, error) {
	tx = filter(tx, l.q)
	switch {
	case strings.Contains(l.seg.where, "@now"):
		tx = tx.Where(l.seg.where, map[string]any{"now": l.now})
	case l.seg.where != "":
		tx = tx.Where(l.seg.where)
	}
	if at == nil {
		return tx, nil
	}
	cmp, eq := ">", ">"
	if l.smaller() {
		cmp, eq = "<", "<"
	}
	if at.incl {
		eq += "="
	}
	if !l.seg.byStart {
		return tx.Where("events.id "+eq+" ?", at.id), nil
	}
	if at.start == nil {
		return nil, ErrBadCursor
	}
	return tx.Where("(events.starts_at "+cmp+" @t OR (events.starts_at = @t AND events.id "+eq+" @id))",
		map[string]any{"t": *at.start, "id": at.id}), nil
}

// order sorts by the segment's key in the walk's direction.
func (l listing) order(tx *gorm.DB) *gorm.DB {
	dir := "ASC"
	if l.smaller() {
		dir = "DESC"
	}
	if l.seg.byStart {
		tx = tx.Order("events.starts_at " + dir)
	}
	return tx.Order("events.id " + dir)
}

// filter applies who may see what and the tag. The search is searchRows'.
func filter(tx *gorm.DB, q EventQuery) *gorm.DB {
	// On SQLite, a unary + keeps the visibility terms from choosing an
	// index: SQLite would otherwise search the visibility (or creator)
	// index and sort every match, which grows with the table, where the
	// index that gives the page's order, read until the page is full, costs
	// the same at a million events as at a thousand. PostgreSQL weighs
	// this itself (and has no unary + for text).
	vis, creator := "events.visibility", "events.creator_id"
	if !isPostgres(tx) {
		vis, creator = "+"+vis, "+"+creator
	}
	switch {
	case q.Viewer == nil:
		tx = tx.Where(vis+" = ?", VisibilityPublic)
	case !q.AllPrivate:
		tx = tx.Where("("+vis+" = ? OR "+creator+" = ?)", VisibilityPublic, q.Viewer.ID)
	}
	if tag := strings.ToLower(strings.TrimSpace(q.Tag)); tag != "" {
		tx = tx.Where("events.id IN (SELECT event_id FROM event_tags WHERE tag = ?)", tag)
	}
	return tx
}
