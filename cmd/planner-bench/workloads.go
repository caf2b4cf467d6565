package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// setUp seeds Planner on each database, then starts the baseline with the
// very list Planner answers, and PocketBase when given.
func (b *bench) setUp() error {
	b.sides = []*side{{col: colSQLite, db: filepath.Join(b.dir, "planner.db")}}
	if b.postgres != "" {
		u, drop, err := b.pgSchema()
		if err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		b.sides = append(b.sides, &side{col: colPostgres, db: u, drop: drop})
	} else {
		fmt.Fprintln(b.out, "PostgreSQL: not measured (set PLANNER_TEST_POSTGRES_URL or --postgres)")
	}
	var list []byte
	for _, s := range b.sides {
		l, err := b.seed(s)
		if err != nil {
			return fmt.Errorf("seed Planner on %s: %w", s.name(), err)
		}
		if list == nil {
			list = l
		}
	}
	eventsFile := filepath.Join(b.dir, "events.json")
	if err := os.WriteFile(eventsFile, list, 0o600); err != nil {
		return err
	}
	var err error
	if b.baseByID, err = listedPath(list); err != nil {
		return err
	}
	if b.base, err = start("baseline", b.baselineBin, []string{"--events", eventsFile}, os.Environ(), "listening on ", io.Discard); err != nil {
		return err
	}
	st, _, _, err := newAPI(b.base.url).do("GET", "/events", "", "", nil)
	if b.baseEvents = err == nil && st == http.StatusOK; !b.baseEvents {
		fmt.Fprintln(b.out, "baseline has no /events")
	}
	if b.pbBin != "" && (b.runs("list") || b.runs("byid") || b.runs("create")) {
		t0 := time.Now()
		if b.pb, err = b.startPocketBase(); err != nil {
			return err
		}
		fmt.Fprintf(b.out, "PocketBase %s: set up through its API in %s: events collection, 1 user, 50 events\n",
			b.pb.version, time.Since(t0).Round(time.Millisecond))
	} else if b.pbBin == "" {
		fmt.Fprintln(b.out, "PocketBase: not measured (--pocketbase)")
	}
	return nil
}

// seed starts Planner on s's fresh database, creates the bench user and 50
// public events through the API and signs a browser in. It returns the
// list Planner answers.
func (b *bench) seed(s *side) ([]byte, error) {
	var err error
	if s.planner, err = b.startPlanner(s.db); err != nil {
		return nil, err
	}
	cl := newAPI(s.planner.url)
	seeded := time.Now()
	if s.token, err = cl.account(true); err != nil {
		return nil, err
	}
	if err := cl.events(s.token, 50); err != nil {
		return nil, err
	}
	if s.cookie, err = cl.browser(); err != nil {
		return nil, err
	}
	st, list, _, err := cl.do("GET", "/api/event/", "", "", nil)
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("list events: %d %v", st, err)
	}
	if s.byID, err = listedPath(list); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.out, "%s: seeded through the API in %s: 1 user, 50 public events (%d bytes of JSON)\n",
		s.name(), time.Since(seeded).Round(time.Millisecond), len(list))
	return list, nil
}

// listedPath is the by-id path of the 25th event of a list.
func listedPath(list []byte) (string, error) {
	var evs []struct {
		ID uint `json:"id"`
	}
	if err := json.Unmarshal(list, &evs); err != nil || len(evs) < 25 {
		return "", fmt.Errorf("event list: want 50 events, got %d (%v)", len(evs), err)
	}
	return fmt.Sprintf("/api/event/%d", evs[24].ID), nil
}

// std is the standard load: wrk -t2 -c32 for the workload's duration.
func (b *bench) std(url string) load { return load{url: url, threads: 2, conns: 32, duration: b.dur} }

// measure runs l and prints what it measured, one line, as it goes.
func (b *bench) measure(col, what string, l load) (result, error) {
	r, err := b.wrk(l)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(b.out, "  %-10s %-62s %9s/s  p50 %8s  p99 %8s  %s errors\n",
		col, what, count(r.okRate()), dur(r.p50()), dur(r.p99()), count(r.errors()))
	return r, nil
}

// rateCell is r's rate of answers under 400, then extra, then its errors
// if any.
func rateCell(r result, extra string, ok *bool) cell {
	t := count(r.okRate()) + "/s"
	if extra != "" {
		t += ", " + extra
	}
	if e := r.errors(); e > 0 {
		t += ", " + count(e) + " errors"
	}
	return cell{text: t, ok: ok}
}

// on is a line with one figure, in column col.
func on(col int, workload, target string, c cell) line {
	l := line{workload: workload, target: target}
	l.cells[col] = c
	return l
}

// versus runs path on the baseline, then on Planner, and returns both with
// Planner's share of the baseline's rate.
func (b *bench) versus(s *side, what, basePath, path string, headers ...string) (base, planner result, share float64, err error) {
	bl := b.std(b.base.url + basePath)
	if base, err = b.measure(s.name(), "baseline: "+what, bl); err != nil {
		return
	}
	pl := b.std(s.planner.url + path)
	pl.headers = headers
	if planner, err = b.measure(s.name(), "Planner: "+what, pl); err != nil {
		return
	}
	return base, planner, planner.okRate() / base.okRate(), nil
}

// pocketBaseRead measures a read of PocketBase's next to s's figures; nil
// without PocketBase.
func (b *bench) pocketBaseRead(s *side, name, path string) ([]line, error) {
	if b.pb == nil {
		return nil, nil
	}
	r, err := b.measure(s.name(), "PocketBase: "+path, b.std(b.pb.srv.url+path))
	if err != nil {
		return nil, err
	}
	return []line{on(s.col, "  PocketBase "+b.pb.version+" "+name, "", rateCell(r, "", nil))}, nil
}

func (b *bench) listLoad(s *side) ([]line, error) {
	br, pr, share, err := b.versus(s, "GET /api/event/", "/api/event/", "/api/event/")
	if err != nil {
		return nil, err
	}
	rss, err := s.planner.peakRSS()
	if err != nil {
		return nil, err
	}
	lines := []line{
		on(s.col, "list: `GET /api/event/` (50 events) ÷ bare Echo", "≥ 50% of bare Echo",
			rateCell(pr, pct(share), yes(share >= 0.5 && pr.errors() == 0))),
		on(s.col, "  bare Echo, the same 50 events", "", rateCell(br, "", nil)),
	}
	pl, err := b.pocketBaseRead(s, "list (`perPage=50`)", b.pbPath((*pocketbase).listPath))
	if err != nil {
		return nil, err
	}
	lines = append(lines, pl...)
	return append(lines, on(s.col, "peak RSS under the list load (VmHWM)", "≤ 48 MiB",
		cell{text: mib(rss), ok: yes(rss <= 48<<20)})), nil
}

// pbPath is f of PocketBase, or "" without it.
func (b *bench) pbPath(f func(*pocketbase) string) string {
	if b.pb == nil {
		return ""
	}
	return f(b.pb)
}

func (b *bench) byIDLoad(s *side) ([]line, error) {
	br, pr, share, err := b.versus(s, "GET /api/event/{id}", b.baseByID, s.byID)
	if err != nil {
		return nil, err
	}
	lines := []line{
		on(s.col, "by id: `GET /api/event/{id}` ÷ bare Echo", "≥ 50% of bare Echo",
			rateCell(pr, pct(share), yes(share >= 0.5 && pr.errors() == 0))),
		on(s.col, "  bare Echo, the same event", "", rateCell(br, "", nil)),
	}
	pl, err := b.pocketBaseRead(s, "get one", b.pbPath((*pocketbase).onePath))
	return append(lines, pl...), err
}

// create is POST /api/event/new on base with a bearer token at 64
// connections: full token checks on every request, revocation included.
func (b *bench) create(base, token string) load {
	return load{url: base + "/api/event/new", threads: 2, conns: 64, duration: b.dur,
		method: "POST", body: eventBody(7), contentType: "application/json",
		headers: []string{"Authorization: Bearer " + token}}
}

// createLoad measures PocketBase's create, then Planner's, at the same
// connections: Planner's should be at least twice PocketBase's.
func (b *bench) createLoad(s *side) ([]line, error) {
	const name = "create: `POST /api/event/new`, bearer, 64 conns ÷ PocketBase"
	const target = "≥ 2× PocketBase, 0 errors"
	var lines []line
	var pbr *result
	if b.pb != nil {
		r, err := b.measure(s.name(), "PocketBase: POST "+b.pb.createPath(), load{url: b.pb.srv.url + b.pb.createPath(),
			threads: 2, conns: 64, duration: b.dur, method: "POST", body: b.pb.createBody(),
			contentType: "application/json", headers: []string{"Authorization: Bearer " + b.pb.token}})
		if err != nil {
			return nil, err
		}
		pbr = &r
	}
	cr, err := b.measure(s.name(), "Planner: POST /api/event/new", b.create(s.planner.url, s.token))
	if err != nil {
		return nil, err
	}
	if pbr == nil {
		return []line{on(s.col, name, target, rateCell(cr, "no PocketBase (--pocketbase)", nil))}, nil
	}
	ratio := cr.okRate() / pbr.okRate()
	lines = append(lines,
		on(s.col, name, target, rateCell(cr, fmt.Sprintf("%.2f× PocketBase", ratio), yes(ratio >= 2 && cr.errors() == 0))),
		on(s.col, "  PocketBase "+b.pb.version+" create, bearer, 64 conns", "",
			rateCell(*pbr, "", nil)))
	return lines, nil
}

// eventsLoad is the events page as a signed-in browser, against the
// baseline rendering the same 50 events with Planner's templ components.
func (b *bench) eventsLoad(s *side) ([]line, error) {
	const name = "signed-in `GET /events` ÷ Echo + templ baseline"
	const target = "≥ 50% of the templ baseline"
	const refName = "  Echo + Planner's templ, the same 50 events, no DB"
	if !b.baseEvents {
		ev := b.std(s.planner.url + "/events")
		ev.headers = []string{"Cookie: " + s.cookie}
		er, err := b.measure(s.name(), "Planner: GET /events, signed in", ev)
		if err != nil {
			return nil, err
		}
		return []line{on(s.col, name, target, rateCell(er, "", nil)),
			on(s.col, refName, "", cell{text: "baseline has no /events"})}, nil
	}
	br, er, share, err := b.versus(s, "GET /events", "/events", "/events", "Cookie: "+s.cookie)
	if err != nil {
		return nil, err
	}
	return []line{
		on(s.col, name, target, rateCell(er, pct(share), yes(share >= 0.5 && er.errors() == 0))),
		on(s.col, refName, "", rateCell(br, "", nil)),
	}, nil
}

// signin is the sign-in load on base with conns clients for d.
func signin(base string, conns int, d time.Duration) load {
	return load{url: base + "/api/user/signin", threads: 1, conns: conns, duration: d,
		method: "POST", contentType: "application/x-www-form-urlencoded", statuses: true,
		body: "grant_type=password&username=" + strings.ReplaceAll(benchEmail, "@", "%40") + "&password=" + benchPassword}
}

// signinLoad keeps every hashing slot and the queue behind them busy, no
// more, and compares the sign-ins per second with the bcrypt limit.
func (b *bench) signinLoad(s *side) ([]line, error) {
	// The limit is measured right before the load, as every reference
	// is: on a shared machine a hash's time moves with everything else.
	hash := hashTime(b.cost)
	limit := float64(b.slots) / hash.Seconds()
	fmt.Fprintf(b.out, "  %-10s bcrypt: one hash at cost %d takes %s now -> limit %.2f sign-ins/s\n",
		s.name(), b.cost, hash.Round(time.Millisecond), limit)
	l := signin(s.planner.url, b.slots+b.queue, 2*b.dur)
	sr, err := b.measure(s.name(), "Planner: POST /api/user/signin", l)
	if err != nil {
		return nil, err
	}
	okRate := sr.Statuses["200"] / (sr.DurationUS / 1e6)
	text := fmt.Sprintf("%.2f/s, %s of %.2f/s", okRate, pct(okRate/limit), limit)
	if e := sr.errors(); e > 0 {
		text += ", " + count(e) + " errors"
	}
	return []line{on(s.col, fmt.Sprintf("sign-in, %d clients (slots + queue) ÷ bcrypt limit", l.conns),
		"≥ 90% of the bcrypt limit", cell{text: text, ok: yes(okRate >= 0.9*limit && sr.errors() == 0)})}, nil
}

// floodLoad reads one event by id while 50 clients hammer sign-in with no
// back-off: the readers' p99 must stay low, and every refused sign-in must
// be a quick 503 with Retry-After.
func (b *bench) floodLoad(s *side) ([]line, error) {
	flood := signin(s.planner.url, 50, 2*b.dur+2*time.Second)
	type out struct {
		r   result
		err error
	}
	fc := make(chan out, 1)
	go func() { r, err := b.wrk(flood); fc <- out{r, err} }()
	time.Sleep(time.Second)
	rd := b.std(s.planner.url + s.byID)
	rd.duration = 2 * b.dur
	rr, err := b.measure(s.name(), "Planner: GET /api/event/{id} during the sign-in flood", rd)
	fo := <-fc
	if err != nil {
		return nil, err
	}
	if fo.err != nil {
		return nil, fo.err
	}
	fr := fo.r
	other := fr.Requests - fr.Statuses["200"] - fr.Statuses["503"]
	bounded := fr.RetryAfter == fr.Statuses["503"] && other == 0 && fr.Timeout == 0 && fr.MaxUS < 10e6
	fmt.Fprintf(b.out, "  %-10s the flood: %.0f answers, %.0f 200, %.0f 503 (%.0f with Retry-After), longest wait %s\n",
		s.name(), fr.Requests, fr.Statuses["200"], fr.Statuses["503"], fr.RetryAfter, dur(time.Duration(fr.MaxUS)*time.Microsecond))
	flooded := fmt.Sprintf("%s/s: %s ok, %s 503, longest wait %s", count(fr.rate()), count(fr.Statuses["200"]), count(fr.Statuses["503"]),
		dur(time.Duration(fr.MaxUS)*time.Microsecond))
	if e := other + fr.Connect + fr.Read + fr.Write + fr.Timeout; e > 0 {
		flooded += ", " + count(e) + " errors"
	}
	return []line{
		on(s.col, "by id p99 while 50 clients flood sign-in", "p99 < 50 ms",
			cell{text: fmt.Sprintf("p99 %s (p50 %s, %s/s)", dur(rr.p99()), dur(rr.p50()), count(rr.okRate())),
				ok: yes(rr.p99() < 50*time.Millisecond && rr.errors() == 0)}),
		on(s.col, "  the flood (no back-off)", "refusals 503 + Retry-After, waits < 10 s",
			cell{text: flooded, ok: yes(bounded)}),
	}, nil
}

// startup starts Planner on db and times exec to the first answer of path.
func (b *bench) startup(db, path string) (time.Duration, error) {
	t0 := time.Now()
	s, err := b.startPlanner(db)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	st, _, _, err := newAPI(s.url).do("GET", path, "", "", nil)
	d := time.Since(t0)
	if err != nil || st != http.StatusOK {
		return 0, fmt.Errorf("first request after start: %d %v", st, err)
	}
	return d, nil
}
