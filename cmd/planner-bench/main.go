// Command planner-bench is the load run of make bench. It builds nothing:
// given the built planner and planner-baseline binaries (and PocketBase,
// when given), it starts them on free loopback ports with fresh temp
// databases, seeds each through its API, drives each workload with wrk on
// SQLite and, with --postgres, on PostgreSQL side by side, stops
// everything and prints one table of every figure against its target.
//
//	planner-bench --planner bin/planner --baseline bin/planner-baseline --pocketbase .tools/pocketbase-v0.39.11/base
//
// Every target is a ratio or a bound measured in the same run, so a slow
// day moves both sides of it. Every run is bounded in time.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
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
	pbBin                           string // PocketBase ("": not measured)
	dur                             time.Duration
	cost                            int
	scale                           int
	dir                             string
	script                          string
	keys                            string
	logs                            *os.File
	out                             io.Writer
	only                            map[string]bool // nil: every workload
	extra                           []string        // more PLANNER_* settings (last wins)
	postgres                        string          // PostgreSQL server ("": SQLite only)
	searchDur                       time.Duration   // length of each search measurement
	procs                           int             // GOMAXPROCS of each scale-out instance (0: Go's default)
	cpus                            float64         // CPU quota of each scale-out instance, in cores (0: none)
	proxyBin                        string          // the scale-out balancer: HAProxy's binary, or "go" for the built-in proxy

	// Set up by all.
	began      time.Time
	sides      []*side     // the databases Planner runs on, SQLite first
	base       *server     // planner-baseline
	baseByID   string      // the baseline's path for the by-id event
	baseEvents bool        // the baseline answers GET /events
	pb         *pocketbase // nil without --pocketbase
	slots      int
	queue      int
}

// side is one database Planner is measured on, with the Planner serving it
// and the credentials of its bench user.
type side struct {
	col     int // the table column: colSQLite or colPostgres
	db      string
	planner *server
	token   string // bearer token
	cookie  string // signed-in browser's Cookie header
	byID    string // the event the by-id workloads read
	drop    func() // removes the database (PostgreSQL: its schema)
}

func (s *side) name() string { return colNames[s.col] }

// workloads are the names --only takes, in the order they run.
var workloads = []string{"list", "byid", "create", "events", "signin", "flood", "scaleout", "startup", "scale", "search"}

// runs reports whether workload w is part of this run.
func (b *bench) runs(w string) bool { return b.only == nil || b.only[w] }

// Settings the load runs give Planner: no per-IP limit and a throttle no
// workload reaches, so only the bcrypt bound shapes sign-in.
const (
	ipRate     = "0"
	loginLimit = "1000000"
)

func run(args []string, stdout, stderr io.Writer) error {
	b, keep, err := parseFlags(args, stdout, stderr)
	if err != nil {
		return err
	}
	for _, p := range []*string{&b.plannerBin, &b.baselineBin, &b.pbBin} {
		if *p == "" {
			continue
		}
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
	if b.proxyBin != "go" && b.runs("scaleout") && b.postgres != "" {
		if b.proxyBin, err = exec.LookPath(b.proxyBin); err != nil {
			return fmt.Errorf("haproxy not found (apt-get install haproxy, or --proxy go): %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "planner-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(stdout, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b.dir = dir
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

// parseFlags reads the command line into a bench; keep is --keep.
func parseFlags(args []string, stdout, stderr io.Writer) (b *bench, keep bool, err error) {
	fs := flag.NewFlagSet("planner-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	b = &bench{out: stdout}
	fs.StringVar(&b.plannerBin, "planner", "bin/planner", "built planner binary")
	fs.StringVar(&b.baselineBin, "baseline", "bin/planner-baseline", "built planner-baseline binary")
	fs.StringVar(&b.pbBin, "pocketbase", "", "PocketBase binary (its examples/base) to measure side by side; empty: not measured")
	fs.StringVar(&b.wrkBin, "wrk", "wrk", "wrk binary")
	fs.DurationVar(&b.dur, "duration", 5*time.Second, "length of each throughput workload")
	fs.IntVar(&b.cost, "bcrypt-cost", 12, "PLANNER_BCRYPT_COST of the run")
	fs.IntVar(&b.scale, "scale", 1_000_000, "events in the scale and search workloads, which share one database per server (0 skips them)")
	fs.StringVar(&b.postgres, "postgres", os.Getenv("PLANNER_TEST_POSTGRES_URL"),
		"PostgreSQL server: every workload also runs there, each in a schema of its own, dropped afterwards (default $PLANNER_TEST_POSTGRES_URL; empty: SQLite only)")
	fs.DurationVar(&b.searchDur, "search-duration", 2*time.Second, "length of each search measurement")
	fs.IntVar(&b.procs, "scaleout-procs", 1, "GOMAXPROCS of each of the two instances of the scale-out workload, as on containers of that many cores (0: Go's default, every core)")
	fs.Float64Var(&b.cpus, "scaleout-cpus", 0.5, "CPU quota of each of the two instances of the scale-out workload, in cores, as on containers of that many CPUs (a CPU cgroup: needs root; 0: none)")
	fs.StringVar(&b.proxyBin, "proxy", "haproxy", "the scale-out workload's balancer: an HAProxy binary (Debian's haproxy), or \"go\" for the one built in (httputil.ReverseProxy)")
	fs.Func("set", "extra PLANNER_NAME=value setting for Planner (repeatable), e.g. --set PLANNER_LOG_LEVEL=warn", func(v string) error {
		if !strings.HasPrefix(v, "PLANNER_") || !strings.Contains(v, "=") {
			return fmt.Errorf("want PLANNER_NAME=value, got %q", v)
		}
		b.extra = append(b.extra, v)
		return nil
	})
	fs.BoolVar(&keep, "keep", false, "keep the temp directory (databases, logs)")
	only := fs.String("only", "", "comma-separated workloads to run ("+strings.Join(workloads, ",")+
		"); default all (list, byid and create include PocketBase's; scale includes the RSVP workload; scaleout needs PostgreSQL)")
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *only != "" {
		b.only = map[string]bool{}
		for _, w := range strings.Split(*only, ",") {
			w = strings.TrimSpace(w)
			if !slices.Contains(workloads, w) {
				return nil, false, fmt.Errorf("--only: unknown workload %q (want some of %s)", w, strings.Join(workloads, ","))
			}
			b.only[w] = true
		}
	}
	if b.dur < time.Second {
		return nil, false, fmt.Errorf("--duration %s: wrk measures whole seconds, want at least 1s", b.dur)
	}
	return b, keep, nil
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

func (b *bench) all() error {
	b.began = time.Now()
	b.slots = max(1, runtime.NumCPU()-1) // Planner's default hashing slots
	b.queue = 4 * b.slots
	hash := hashTime(b.cost)
	fmt.Fprintf(b.out, "planner-bench: %d cores (runtime.NumCPU) shared by Planner, PostgreSQL, PocketBase, the proxy and wrk; loopback\n", runtime.NumCPU())
	fmt.Fprintf(b.out, "loads: wrk -t2 -c32 (create: -c64, Planner and PocketBase alike), %s per workload\n", b.dur)
	fmt.Fprintf(b.out, "planner settings: PLANNER_IP_RATE=%s PLANNER_LOGIN_LIMIT=%s PLANNER_BCRYPT_COST=%d %s(request log to a file)\n",
		ipRate, loginLimit, b.cost, strings.Join(append(b.extra, ""), " "))
	fmt.Fprintf(b.out, "bcrypt: one hash at cost %d takes %s here; %d hashing slot(s), queue %d -> limit %.2f sign-ins/s (measured again before each sign-in load)\n",
		b.cost, hash.Round(time.Millisecond), b.slots, b.queue, float64(b.slots)/hash.Seconds())
	defer b.stopAll()

	if err := b.setUp(); err != nil {
		return err
	}
	var lines []line
	perSide := []struct {
		key string
		run func(*side) ([]line, error)
	}{
		{"list", b.listLoad}, {"byid", b.byIDLoad}, {"create", b.createLoad}, {"events", b.eventsLoad},
		{"signin", b.signinLoad}, {"flood", b.floodLoad},
	}
	for _, w := range perSide {
		if !b.runs(w.key) {
			continue
		}
		for _, s := range b.sides {
			ls, err := w.run(s)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", w.key, s.name(), err)
			}
			lines = append(lines, ls...)
		}
	}
	if b.runs("scaleout") {
		if pg := b.side(colPostgres); pg != nil {
			ls, err := b.scaleOut(pg)
			if err != nil {
				return fmt.Errorf("scaleout: %w", err)
			}
			lines = append(lines, ls...)
		} else {
			fmt.Fprintln(b.out, "scaleout: skipped, it needs PostgreSQL (--postgres or PLANNER_TEST_POSTGRES_URL)")
		}
	}

	// Start-up on the existing database: exec to first answered request,
	// with nothing else of ours running.
	b.stopServers()
	if b.runs("startup") {
		for _, s := range b.sides {
			var starts []time.Duration
			for range 3 {
				d, err := b.startup(s.db, s.byID)
				if err != nil {
					return err
				}
				starts = append(starts, d)
			}
			slices.Sort(starts)
			l := line{workload: "start-up to first answer, existing database (median of 3)", target: "< 200 ms"}
			l.cells[s.col] = cell{text: dur(starts[1]), ok: yes(starts[1] < 200*time.Millisecond)}
			lines = append(lines, l)
		}
	}
	if b.scale > 0 && (b.runs("scale") || b.runs("search")) {
		ls, err := b.millionCheck()
		if err != nil {
			return err
		}
		lines = append(lines, ls...)
	}
	lines = merge(lines)
	fmt.Fprintln(b.out)
	printTable(b.out, lines)
	met, missed := tally(lines)
	fmt.Fprintf(b.out, "\n%d targets met, %d missed; %s, %s, load run %s\n", met, missed, machine(),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(b.began).Round(time.Second))
	return nil
}

// machine describes this machine: its CPU model, cores and memory.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%s, %d cores%s", cpu, runtime.NumCPU(), mem)
}

// side is the side of column col, or nil when it is not measured.
func (b *bench) side(col int) *side {
	for _, s := range b.sides {
		if s.col == col {
			return s
		}
	}
	return nil
}

// stopServers stops every server the run started; the databases stay.
func (b *bench) stopServers() {
	for _, s := range b.sides {
		_ = s.planner.stop()
		s.planner = nil
	}
	_ = b.base.stop()
	b.base = nil
	if b.pb != nil {
		_ = b.pb.srv.stop()
		b.pb = nil
	}
}

// stopAll stops the servers and drops the databases.
func (b *bench) stopAll() {
	b.stopServers()
	for _, s := range b.sides {
		if s.drop != nil {
			s.drop()
		}
	}
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

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

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
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}
