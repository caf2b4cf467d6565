package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
)

// publicCache keeps the API's encoded answers to anonymous readers (the
// event list and single events, which are the same for every anonymous
// caller), so a hot read costs one cheap query instead of reading and
// encoding the events again.
//
// Every use is checked against the events version (models.Events.Version),
// which database triggers bump in the same transaction as any change an
// event's JSON could show, whichever instance or code path made it: a
// cached answer is only ever served while the data it was built from is
// still current. Signed-in callers, whose answers depend on who they are,
// are never served from it. Its size is bounded; past the bound, or when
// the version moves, it starts again empty.
type publicCache struct {
	events *models.Events
	reads  *versionReads // shared with the page lists

	mu      sync.Mutex
	version int64
	entries map[string]cachedAnswer
	size    int
}

// cachedAnswer is a JSON body as Echo would encode it, and its Link header.
type cachedAnswer struct {
	body []byte
	link string
}

// Bounds of the cache: a few hundred list pages, or a few thousand events.
const (
	publicCacheBytes   = 4 << 20
	publicCacheEntries = 4096
)

func newPublicCache(events *models.Events, reads *versionReads) *publicCache {
	return &publicCache{events: events, reads: reads, entries: map[string]cachedAnswer{}}
}

// listCacheKey is where the answer to an event list query is kept.
func listCacheKey(q models.EventQuery) string {
	return "list\x00" + strconv.Itoa(q.Limit) + "\x00" + q.After + "\x00" + q.Q + "\x00" + q.Tag
}

// eventCacheKey is where the answer about one event is kept.
func eventCacheKey(id string) string { return "event\x00" + id }

// respond writes the JSON answer build makes (a body and its Link header,
// or an error). An anonymous reader's answer is kept under key and served
// from the cache while the events version stands; signed-in callers, and
// an empty key, always get a fresh answer.
func (pc *publicCache) respond(c echo.Context, key string, build func() (body any, link string, err error)) error {
	if key == "" || !cacheable(c) {
		body, link, err := build()
		if err != nil {
			return err
		}
		if link != "" {
			c.Response().Header().Set("Link", link)
		}
		return c.JSON(http.StatusOK, body)
	}
	version, hit, ok, err := pc.lookup(c.Request().Context(), key)
	if err != nil {
		return err
	}
	if ok {
		return hit.write(c)
	}
	body, link, err := build()
	if err != nil {
		return err
	}
	a, err := encodeAnswer(body, link)
	if err != nil {
		return err
	}
	pc.put(version, key, a)
	return a.write(c)
}

// lookup reads the current version and the answer cached under key for
// it. The version is what put must be given for an answer built now.
func (pc *publicCache) lookup(ctx context.Context, key string) (version int64, a cachedAnswer, ok bool, err error) {
	version, err = pc.reads.version(ctx, pc.events)
	if err != nil {
		return 0, cachedAnswer{}, false, err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if version != pc.version {
		if version > pc.version {
			pc.reset(version)
		}
		return version, cachedAnswer{}, false, nil
	}
	a, ok = pc.entries[key]
	return version, a, ok, nil
}

// put keeps a, built from data read after version was, unless the version
// has moved on meanwhile.
func (pc *publicCache) put(version int64, key string, a cachedAnswer) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if version != pc.version {
		return
	}
	n := len(key) + len(a.body) + len(a.link)
	if pc.size+n > publicCacheBytes || len(pc.entries) >= publicCacheEntries {
		pc.reset(version)
	}
	pc.entries[key] = a
	pc.size += n
}

func (pc *publicCache) reset(version int64) {
	pc.version, pc.entries, pc.size = version, map[string]cachedAnswer{}, 0
}

// encodeAnswer encodes v exactly as c.JSON does (one line, no indent).
func encodeAnswer(v any, link string) (cachedAnswer, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return cachedAnswer{}, err
	}
	return cachedAnswer{body: buf.Bytes(), link: link}, nil
}

// write sends the answer with status 200.
func (a cachedAnswer) write(c echo.Context) error {
	if a.link != "" {
		c.Response().Header().Set("Link", a.link)
	}
	return c.JSONBlob(http.StatusOK, a.body)
}

// cacheable reports whether the request's answer may come from the public
// cache: an anonymous caller, and no ?pretty (which c.JSON would indent).
func cacheable(c echo.Context) bool {
	if viewer(c) != nil {
		return false
	}
	if c.Request().URL.RawQuery == "" {
		return true // most reads: no query to parse
	}
	_, pretty := c.QueryParams()["pretty"]
	return !pretty
}

// versionReads shares reads of the events version between requests that
// arrive together, the way a database shares one fsync between
// transactions that commit together: a request waits for the next read
// that starts after it arrived, and every request that arrives while one
// read is running shares the following one. Each request still gets a
// version read after it arrived, so it sees every change committed before
// it came; under load, one query serves many requests.
type versionReads struct {
	mu      sync.Mutex
	next    *versionRead // the read the next arrivals join; nil when none waits
	running bool         // a read is in flight
}

// versionRead is one shared read of the version.
type versionRead struct {
	done    chan struct{}
	version int64
	err     error
}

func (r *versionReads) version(ctx context.Context, events *models.Events) (int64, error) {
	r.mu.Lock()
	if r.next == nil {
		r.next = &versionRead{done: make(chan struct{})}
	}
	read := r.next
	lead := !r.running
	r.running = true
	r.mu.Unlock()
	if lead {
		// Let requests that are about to ask join this read first: under
		// load there are many, and yielding costs next to nothing.
		runtime.Gosched()
		r.run(events)
	}
	select {
	case <-read.done:
		return read.version, read.err
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for the events version: %w: %w", models.ErrTimeout, ctx.Err())
	}
}

// run performs the read every request waiting so far has joined, then
// hands those that queued meanwhile to a goroutine of its own, so the
// caller gets its answer at once.
func (r *versionReads) run(events *models.Events) {
	r.mu.Lock()
	read := r.next
	r.next = nil // later arrivals join the next read, which starts after this one
	r.mu.Unlock()
	// Shared by several requests: none of their contexts may cancel it.
	read.version, read.err = events.Version(context.Background())
	close(read.done)
	r.mu.Lock()
	more := r.next != nil
	r.running = more
	r.mu.Unlock()
	if more {
		go r.run(events)
	}
}

// pageLists keeps the pages of the events list the event pages show
// (models.EventPage, before it is turned into views), so a signed-in
// browser reading /events again costs one shared version check instead of
// reading twenty events with their creators.
//
// It follows the public cache's rule: every use is checked against the
// events version, read after the request arrived (versionReads), and a
// page is kept only under the version read before its data was, so it is
// never used once anything it shows changed, through this instance,
// another one or the CLI. What a page holds depends on who asks (their
// private events), so a page is kept for one viewer id only. Searches are
// not kept (their first page depends on the moment in ways a page cannot
// tell). A first page (no cursor) also depends on the clock: an upcoming
// event moves to the past when it starts, so it is used only until its
// earliest upcoming event starts (see until); a page from a cursor reads
// the moment from the cursor and depends on the data alone.
type pageLists struct {
	events eventLister
	reads  *versionReads
	src    *models.Events // the version's

	mu      sync.Mutex
	version int64
	entries map[pageListKey]keptPage
	size    int
}

// eventLister lists events (*models.Events).
type eventLister interface {
	List(ctx context.Context, q models.EventQuery) (models.EventPage, error)
}

// pageListKey is everything of a query its page depends on, but the moment.
type pageListKey struct {
	viewer        uint // 0: anonymous
	allPrivate    bool
	order         models.EventOrder
	limit         int
	tag           string
	after, before string
}

// keptPage is a page and how long it stays right.
type keptPage struct {
	page models.EventPage
	// until is when the page stops being right by the clock alone: the
	// start of its earliest upcoming event, at which that event becomes a
	// past one. Nil: never (a cursor's page, or no upcoming event).
	until *time.Time
}

// Bounds of the kept pages: a few hundred pages of twenty events.
const (
	pageListsBytes   = 4 << 20
	pageListsEntries = 1024
)

func newPageLists(src *models.Events, reads *versionReads) *pageLists {
	return &pageLists{events: src, src: src, reads: reads, entries: map[pageListKey]keptPage{}}
}

// List answers q from a kept page while the events version and the clock
// allow, else from the database (keeping the answer).
func (pl *pageLists) List(ctx context.Context, q models.EventQuery) (models.EventPage, error) {
	if strings.TrimSpace(q.Q) != "" {
		return pl.events.List(ctx, q)
	}
	key := pageListKey{order: q.Order, limit: q.Limit, tag: q.Tag, after: q.After, before: q.Before, allPrivate: q.AllPrivate}
	if q.Viewer != nil {
		key.viewer = q.Viewer.ID
	}
	now := q.Now.UTC().Truncate(time.Second) // as the listing measures it
	version, err := pl.reads.version(ctx, pl.src)
	if err != nil {
		return models.EventPage{}, err
	}
	pl.mu.Lock()
	if version > pl.version {
		pl.reset(version)
	}
	kept, ok := pl.entries[key]
	ok = ok && version == pl.version
	pl.mu.Unlock()
	if ok && kept.usableAt(now, q) {
		return kept.page, nil
	}
	page, err := pl.events.List(ctx, q)
	if err != nil {
		return page, err
	}
	pl.put(version, key, keep(page, q))
	return page, nil
}

// usableAt reports whether the page is what q would read at now: a
// cursor's page always (its moment is the cursor's); a first page from its
// own moment until its earliest upcoming event starts.
func (k keptPage) usableAt(now time.Time, q models.EventQuery) bool {
	if q.After != "" || q.Before != "" {
		return true
	}
	if now.Before(k.page.Now) {
		return false // the clock went back: the page may miss upcoming events
	}
	return k.until == nil || !now.After(*k.until)
}

// keep is page as kept for q. The first page of a listing measured at
// page.Now holds, of every event it may show, the upcoming ones soonest
// first: if it shows none there is none (no event starts at page.Now or
// later), else the first is the earliest. Until that one starts no event
// changes sides, so the page reads the same.
func keep(page models.EventPage, q models.EventQuery) keptPage {
	k := keptPage{page: page}
	if q.After != "" || q.Before != "" {
		return k
	}
	for i := range page.Events {
		if s := page.Events[i].StartsAt; s != nil && !s.Before(page.Now) && (k.until == nil || s.Before(*k.until)) {
			t := *s
			k.until = &t
		}
	}
	return k
}

// put keeps k, built from data read after version was, unless the version
// has moved on meanwhile.
func (pl *pageLists) put(version int64, key pageListKey, k keptPage) {
	n := pageSizeOf(key, k.page)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if version != pl.version {
		return
	}
	if pl.size+n > pageListsBytes || len(pl.entries) >= pageListsEntries {
		pl.reset(version)
	}
	pl.entries[key] = k
	pl.size += n
}

func (pl *pageLists) reset(version int64) {
	pl.version, pl.entries, pl.size = version, map[pageListKey]keptPage{}, 0
}

// pageSizeOf estimates the memory a kept page holds.
func pageSizeOf(key pageListKey, p models.EventPage) int {
	n := 256 + len(key.tag) + len(key.after) + len(key.before) + len(p.Next) + len(p.Prev)
	for i := range p.Events {
		e := &p.Events[i]
		n += 512 + len(e.Title) + len(e.Image) + len(e.Description) + len(e.Tags) + len(e.Location) +
			len(e.Timezone) + len(e.Creator.Name) + len(e.Creator.Email)
	}
	return n
}
