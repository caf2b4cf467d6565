// Command planner-bench is the load run of make bench. It builds nothing:
// given the built planner and planner-baseline binaries, it starts them on
// free loopback ports with fresh temp databases, seeds Planner through its
// API, drives each workload with wrk, stops everything and prints one
// table against the targets of the performance issue.
//
//	planner-bench --planner bin/planner --baseline bin/planner-baseline
//
// Every run is bounded in time; the whole program takes a few minutes.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "planner-bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is one load run's settings and state.
type bench struct {
	plannerBin, baselineBin, wrkBin string
	dur                             time.Duration
	cost                            int
	scale                           int
	dir                             string
	script                          string
	keys                            string
	logs                            io.Writer
	out                             io.Writer
	only                            map[string]bool // nil: every workload
	extra                           []string        // more PLANNER_* settings (last wins)
	postgres                        string          // PostgreSQL server for the search workload ("": SQLite only)
	searchDur                       time.Duration   // length of each search measurement

	// Set up by seed and all.
	planner, base *server
	db            string
	token, cookie string
	slots, queue  int
	limit         float64 // sign-ins per second bcrypt allows
}

// runs reports whether workload w is part of this run.
func (b *bench) runs(w string) bool { return b.only == nil || b.only[w] }

// Settings the load runs give Planner: no per-IP limit and a throttle no
// workload reaches, so only the bcrypt bound shapes sign-in.
const (
	ipRate     = "0"
	loginLimit = "1000000"
)

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("planner-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := &bench{out: stdout}
	fs.StringVar(&b.plannerBin, "planner", "bin/planner", "built planner binary")
	fs.StringVar(&b.baselineBin, "baseline", "bin/planner-baseline", "built planner-baseline binary")
	fs.StringVar(&b.wrkBin, "wrk", "wrk", "wrk binary")
	fs.DurationVar(&b.dur, "duration", 5*time.Second, "length of each throughput workload")
	fs.IntVar(&b.cost, "bcrypt-cost", 12, "PLANNER_BCRYPT_COST of the run")
	fs.IntVar(&b.scale, "scale", 1_000_000, "events in the scale check and the search workload (0 skips them)")
	fs.StringVar(&b.postgres, "postgres", os.Getenv("PLANNER_TEST_POSTGRES_URL"),
		"PostgreSQL URL for the search workload, which runs in a schema of its own there (default $PLANNER_TEST_POSTGRES_URL; empty: SQLite only)")
	fs.DurationVar(&b.searchDur, "search-duration", 2*time.Second, "length of each search measurement")
	fs.Func("set", "extra PLANNER_NAME=value setting for Planner (repeatable), e.g. --set PLANNER_LOG_LEVEL=warn", func(v string) error {
		if !strings.HasPrefix(v, "PLANNER_") || !strings.Contains(v, "=") {
			return fmt.Errorf("want PLANNER_NAME=value, got %q", v)
		}
		b.extra = append(b.extra, v)
		return nil
	})
	keep := fs.Bool("keep", false, "keep the temp directory (databases, request logs)")
	only := fs.String("only", "", "comma-separated workloads to run (list,byid,create,events,signin,flood,startup,scale,search); default all (scale includes the RSVP workload)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, p := range []*string{&b.plannerBin, &b.baselineBin} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w (run make bench, which builds it)", *p, err)
		}
		*p = abs
	}
	if _, err := exec.LookPath(b.wrkBin); err != nil {
		return fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	dir, err := os.MkdirTemp("", "planner-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(stdout, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b.dir = dir
	if *only != "" {
		b.only = map[string]bool{}
		for _, w := range strings.Split(*only, ",") {
			b.only[strings.TrimSpace(w)] = true
		}
	}
	b.script = filepath.Join(dir, "bench.lua")
	if err := os.WriteFile(b.script, benchLua, 0o600); err != nil {
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b.keys = hex.EncodeToString(key)
	logf, err := os.Create(filepath.Join(dir, "planner.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	b.logs = logf
	return b.all()
}

// env is Planner's environment for database db: nothing inherited from the
// caller's PLANNER_* variables.
func (b *bench) env(db string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLANNER_") {
			env = append(env, kv)
		}
	}
	return append(append(env,
		"PLANNER_ADDR=127.0.0.1:0",
		"PLANNER_DATABASE_URL="+db,
		"PLANNER_BASE_URL=http://127.0.0.1",
		"PLANNER_SECRET_KEYS="+b.keys,
		"PLANNER_BCRYPT_COST="+strconv.Itoa(b.cost),
		"PLANNER_IP_RATE="+ipRate,
		"PLANNER_LOGIN_LIMIT="+loginLimit,
	), b.extra...)
}

func (b *bench) startPlanner(db string) (*server, error) {
	return start("planner", b.plannerBin, []string{"serve"}, b.env(db), "Planner is serving on ", b.logs)
}

// row is one line of the table.
type row struct {
	workload string
	rate     string
	p50, p99 string
	errors   string
	share    string
	target   string
	ok       *bool
}

func yes(v bool) *bool { return &v }

func (b *bench) all() error {
	b.slots = max(1, runtime.NumCPU()-1) // Planner's default hashing slots
	b.queue = 4 * b.slots
	hash := hashTime(b.cost)
	b.limit = float64(b.slots) / hash.Seconds()
	fmt.Fprintf(b.out, "planner-bench: %d CPUs, wrk -t2 -c32 (create: -c64), %s per workload, loopback\n", runtime.NumCPU(), b.dur)
	fmt.Fprintf(b.out, "planner settings: PLANNER_IP_RATE=%s PLANNER_LOGIN_LIMIT=%s PLANNER_BCRYPT_COST=%d %s(request log to a file)\n",
		ipRate, loginLimit, b.cost, strings.Join(append(b.extra, ""), " "))
	fmt.Fprintf(b.out, "bcrypt: one hash at cost %d takes %s here; %d hashing slot(s), queue %d -> limit %.2f sign-ins/s\n",
		b.cost, hash.Round(time.Millisecond), b.slots, b.queue, b.limit)
	defer func() { _ = b.planner.stop(); _ = b.base.stop() }()
	if err := b.seed(); err != nil {
		return err
	}

	var rows []row
	for _, w := range []struct {
		key string
		run func() ([]row, error)
	}{
		{"list", b.listLoad}, {"byid", b.byIDLoad}, {"create", b.createLoad}, {"events", b.eventsLoad},
		{"signin", b.signinLoad}, {"flood", b.floodLoad},
	} {
		if !b.runs(w.key) {
			continue
		}
		r, err := w.run()
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}

	// Start-up on the existing database: exec to first answered request.
	if err := b.base.stop(); err != nil {
		return err
	}
	b.base = nil
	if err := b.planner.stop(); err != nil {
		return err
	}
	b.planner = nil
	if b.runs("startup") {
		var starts []time.Duration
		for range 3 {
			d, err := b.startup(b.db, byIDPath)
			if err != nil {
				return err
			}
			starts = append(starts, d)
		}
		slices.Sort(starts)
		rows = append(rows, row{workload: "start-up to first answer, existing database (median of 3)", rate: dur(starts[1]),
			target: "< 200 ms", ok: yes(starts[1] < 200*time.Millisecond)})
	}
	if b.scale > 0 && b.runs("scale") {
		sr, err := b.scaleCheck()
		if err != nil {
			return err
		}
		rows = append(rows, sr...)
	}
	if b.scale > 0 && b.runs("search") {
		sr, err := b.searchCheck()
		if err != nil {
			return err
		}
		rows = append(rows, sr...)
	}
	b.table(rows)
	return nil
}

// byIDPath is the event the by-id workloads read.
const byIDPath = "/api/event/25"

// seed starts Planner on a fresh database, creates the bench user and 50
// public events through the API, signs a browser in, and starts the
// baseline with the very list Planner answers.
func (b *bench) seed() error {
	b.db = filepath.Join(b.dir, "planner.db")
	var err error
	if b.planner, err = b.startPlanner(b.db); err != nil {
		return err
	}
	cl := newAPI(b.planner.url)
	seeded := time.Now()
	if b.token, err = cl.account(true); err != nil {
		return err
	}
	if err := cl.events(b.token, 50); err != nil {
		return err
	}
	if b.cookie, err = cl.browser(); err != nil {
		return err
	}
	st, list, _, err := cl.do("GET", "/api/event/", "", "", nil)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("list events: %d %v", st, err)
	}
	eventsFile := filepath.Join(b.dir, "events.json")
	if err := os.WriteFile(eventsFile, list, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "seeded through the API in %s: 1 user, 50 public events (%d bytes of JSON)\n",
		time.Since(seeded).Round(time.Millisecond), len(list))
	b.base, err = start("baseline", b.baselineBin, []string{"--events", eventsFile}, os.Environ(), "listening on ", io.Discard)
	return err
}

// std is the standard load: wrk -t2 -c32 for the workload's duration.
func (b *bench) std(url string) load { return load{url: url, threads: 2, conns: 32, duration: b.dur} }

// versus runs path on the baseline, then on Planner, and compares.
func (b *bench) versus(name, baseName, path string) ([]row, result, error) {
	br, err := b.wrk(b.std(b.base.url + path))
	if err != nil {
		return nil, result{}, err
	}
	pr, err := b.wrk(b.std(b.planner.url + path))
	if err != nil {
		return nil, result{}, err
	}
	share := pr.rate() / br.rate()
	return []row{
		b.row(baseName, br, "100%", "", nil),
		b.row(name, pr, pct(share), ">= 50% of baseline", yes(share >= 0.5 && pr.errors() == 0)),
	}, pr, nil
}

func (b *bench) listLoad() ([]row, error) {
	rows, _, err := b.versus("GET /api/event/ (50 events)", "baseline: bare Echo encoding the 50 events", "/api/event/")
	if err != nil {
		return nil, err
	}
	rss, err := b.planner.peakRSS()
	if err != nil {
		return nil, err
	}
	return append(rows, row{workload: "peak RSS of planner under the list load (VmHWM)", rate: mib(rss),
		target: "<= 48 MiB", ok: yes(rss <= 48<<20)}), nil
}

func (b *bench) byIDLoad() ([]row, error) {
	rows, _, err := b.versus("GET /api/event/{id}", "baseline: bare Echo encoding one event", byIDPath)
	return rows, err
}

// createLoad is POST /api/event/new with a bearer token at 64 connections:
// full token checks on every request, revocation included.
func (b *bench) createLoad() ([]row, error) {
	cr, err := b.wrk(load{url: b.planner.url + "/api/event/new", threads: 2, conns: 64, duration: b.dur,
		method: "POST", body: eventBody(7), contentType: "application/json",
		headers: []string{"Authorization: Bearer " + b.token}})
	if err != nil {
		return nil, err
	}
	return []row{b.row("POST /api/event/new, bearer token, 64 connections", cr, "",
		">= 5,200/s, 0 errors", yes(cr.rate() >= 5200 && cr.errors() == 0))}, nil
}

// eventsLoad is the events page as a signed-in browser.
func (b *bench) eventsLoad() ([]row, error) {
	ev := b.std(b.planner.url + "/events")
	ev.headers = []string{"Cookie: " + b.cookie}
	er, err := b.wrk(ev)
	if err != nil {
		return nil, err
	}
	return []row{b.row("GET /events, signed-in browser (cookie)", er, "", ">= 5,000/s", yes(er.rate() >= 5000 && er.errors() == 0))}, nil
}

// signin is the sign-in load with conns clients for d.
func (b *bench) signin(conns int, d time.Duration) load {
	return load{url: b.planner.url + "/api/user/signin", threads: 1, conns: conns, duration: d,
		method: "POST", contentType: "application/x-www-form-urlencoded", statuses: true,
		body: "grant_type=password&username=" + strings.ReplaceAll(benchEmail, "@", "%40") + "&password=" + benchPassword}
}

// signinLoad keeps every hashing slot and the queue behind them busy, no
// more, and compares the sign-ins per second with the bcrypt limit.
func (b *bench) signinLoad() ([]row, error) {
	l := b.signin(b.slots+b.queue, 2*b.dur)
	sr, err := b.wrk(l)
	if err != nil {
		return nil, err
	}
	okRate := sr.Statuses["200"] / (sr.DurationUS / 1e6)
	return []row{{workload: fmt.Sprintf("POST /api/user/signin, %d clients (slots+queue)", l.conns),
		rate: fmt.Sprintf("%.2f", okRate), p50: dur(sr.p50()), p99: dur(sr.p99()), errors: count(sr.errors()),
		share: pct(okRate/b.limit) + " of limit", target: ">= 90% of bcrypt limit",
		ok: yes(okRate >= 0.9*b.limit && sr.errors() == 0)}}, nil
}

// floodLoad reads one event by id while 50 clients hammer sign-in with no
// back-off: the readers' p99 must stay low, and every refused sign-in must
// be a quick 503 with Retry-After.
func (b *bench) floodLoad() ([]row, error) {
	flood := b.signin(50, 2*b.dur+2*time.Second)
	type out struct {
		r   result
		err error
	}
	fc := make(chan out, 1)
	go func() { r, err := b.wrk(flood); fc <- out{r, err} }()
	time.Sleep(time.Second)
	rd := b.std(b.planner.url + byIDPath)
	rd.duration = 2 * b.dur
	rr, err := b.wrk(rd)
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
	fmt.Fprintf(b.out, "sign-in flood: %.0f answers, %.0f 200, %.0f 503 (%.0f with Retry-After), longest wait %s\n",
		fr.Requests, fr.Statuses["200"], fr.Statuses["503"], fr.RetryAfter, dur(time.Duration(fr.MaxUS)*time.Microsecond))
	return []row{
		b.row("GET /api/event/{id} during the sign-in flood", rr, "", "p99 < 50 ms", yes(rr.p99() < 50*time.Millisecond && rr.errors() == 0)),
		{workload: "  the flood: POST /api/user/signin, 50 clients, no back-off",
			rate: count(fr.rate()), p50: dur(fr.p50()), p99: dur(fr.p99()),
			errors: count(other + fr.Connect + fr.Read + fr.Write + fr.Timeout),
			share:  fmt.Sprintf("%.0f ok, %.0f 503", fr.Statuses["200"], fr.Statuses["503"]),
			target: "503 + Retry-After, bounded wait", ok: yes(bounded)},
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

// scaleCheck compares the list and the events page at 1,000 events and at
// b.scale events, on a database of its own seeded in bulk.
func (b *bench) scaleCheck() ([]row, error) {
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
	measure := func() (result, result, result, error) {
		// With a bearer token: answers to signed-in callers never come
		// from the public cache, so every request runs the query.
		l, err := b.wrk(load{url: s.url + "/api/event/?limit=50", threads: 2, conns: 32, duration: b.dur,
			headers: []string{"Authorization: Bearer " + token}})
		if err != nil {
			return result{}, result{}, result{}, err
		}
		e, err := b.wrk(load{url: s.url + "/events", threads: 2, conns: 32, duration: b.dur, headers: []string{"Cookie: " + cookie}})
		if err != nil {
			return result{}, result{}, result{}, err
		}
		// RSVP and cancel by turns on one event with a capacity: every
		// request a write under the event row's lock, plus its audit entry.
		r, err := b.wrk(load{url: s.url + rsvpPath, threads: 2, conns: 32, duration: b.dur, method: "RSVP_TOGGLE",
			headers: []string{"Authorization: Bearer " + token}})
		return l, e, r, err
	}
	l1, e1, r1, err := measure()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := bulkEvents(ctx, db, 1, b.scale-1000); err != nil {
		return nil, fmt.Errorf("seed %d events: %w", b.scale, err)
	}
	fmt.Fprintf(b.out, "scale: seeded %d more events in one transaction in %s\n", b.scale-1000, time.Since(t0).Round(time.Millisecond))
	l2, e2, r2, err := measure()
	if err != nil {
		return nil, err
	}
	big := count(float64(b.scale))
	var rows []row
	for _, w := range []struct {
		name   string
		small  result
		large  result
		target string
	}{
		{"GET /api/event/?limit=50, bearer (uncached)", l1, l2, ""},
		{"GET /events, signed in", e1, e2, ""},
		{"POST and DELETE /api/event/{id}/rsvp by turns, bearer", r1, r2, ""},
	} {
		rows = append(rows, b.row(w.name+" at 1,000 events", w.small, "", "", nil))
		ratio := w.small.rate() / w.large.rate() // time per request, 1M over 1k
		rows = append(rows, b.row(w.name+" at "+big+" events", w.large, fmt.Sprintf("%.2fx time", ratio),
			"<= 1.5x time of 1,000", yes(ratio <= 1.5 && w.large.errors() == 0)))
	}
	return rows, nil
}

// hashTime is how long one bcrypt hash at cost takes here: the median of
// three, measured with nothing else running.
func hashTime(cost int) time.Duration {
	var ds []time.Duration
	for range 3 {
		t := time.Now()
		_, _ = bcrypt.GenerateFromPassword([]byte(benchPassword), cost)
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	return ds[1]
}

func (b *bench) row(name string, r result, share, target string, ok *bool) row {
	return row{workload: name, rate: count(r.rate()), p50: dur(r.p50()), p99: dur(r.p99()),
		errors: count(r.errors()), share: share, target: target, ok: ok}
}

// table prints the rows aligned, with a verdict per target.
func (b *bench) table(rows []row) {
	head := row{workload: "workload", rate: "req/s", p50: "p50", p99: "p99", errors: "errors", share: "vs baseline", target: "target"}
	cols := func(r row) []string {
		v := ""
		if r.ok != nil {
			v = "MISSED"
			if *r.ok {
				v = "met"
			}
		}
		if r == head {
			v = "result"
		}
		return []string{r.workload, r.rate, r.p50, r.p99, r.errors, r.share, r.target, v}
	}
	all := append([]row{head}, rows...)
	width := make([]int, 8)
	for _, r := range all {
		for i, c := range cols(r) {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	fmt.Fprintln(b.out)
	for n, r := range all {
		var sb strings.Builder
		for i, c := range cols(r) {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i >= 1 && i <= 4 {
				sb.WriteString(pad + c) // numbers right-aligned
			} else {
				sb.WriteString(c + pad)
			}
			sb.WriteString("  ")
		}
		fmt.Fprintln(b.out, strings.TrimRight(sb.String(), " "))
		if n == 0 {
			total := 0
			for _, w := range width {
				total += w + 2
			}
			fmt.Fprintln(b.out, strings.Repeat("-", total-2))
		}
	}
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// count formats a number with thousands separators.
func count(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
}
