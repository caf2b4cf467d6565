package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

//go:embed bench.lua
var benchLua []byte

// load is one wrk run.
type load struct {
	url         string
	threads     int
	conns       int
	duration    time.Duration
	method      string // "" is GET
	body        string
	contentType string
	headers     []string // "Name: value"
	statuses    bool     // count answers by status (slower wrk)
}

// result is what wrk measured, read from bench.lua's BENCH line.
type result struct {
	Requests   float64            `json:"requests"`
	DurationUS float64            `json:"duration_us"`
	P50US      float64            `json:"p50_us"`
	P99US      float64            `json:"p99_us"`
	MaxUS      float64            `json:"max_us"`
	Connect    float64            `json:"connect"`
	Read       float64            `json:"read"`
	Write      float64            `json:"write"`
	Status     float64            `json:"status"` // answers with a status over 399
	Timeout    float64            `json:"timeout"`
	RetryAfter float64            `json:"retry_after"` // 503s with Retry-After (statuses only)
	Statuses   map[string]float64 `json:"statuses"`
}

// rate is requests per second.
func (r result) rate() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return r.Requests / (r.DurationUS / 1e6)
}

// okRate is answers under 400 per second: what a client got done.
func (r result) okRate() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return max(0, r.Requests-r.Status) / (r.DurationUS / 1e6)
}

// errors counts socket errors, timeouts and error statuses.
func (r result) errors() float64 { return r.Connect + r.Read + r.Write + r.Timeout + r.Status }

func (r result) p50() time.Duration { return time.Duration(r.P50US) * time.Microsecond }
func (r result) p99() time.Duration { return time.Duration(r.P99US) * time.Microsecond }

// wrk runs l and returns what it measured. A run is bounded by its
// duration plus a minute.
func (b *bench) wrk(l load) (result, error) {
	threads := max(1, l.threads)
	args := []string{
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(max(threads, l.conns)),
		"-d", fmt.Sprintf("%ds", int(l.duration.Seconds())), "--timeout", "10s", "-s", b.script,
	}
	for _, h := range l.headers {
		args = append(args, "-H", h)
	}
	args = append(args, l.url)
	ctx, cancel := context.WithTimeout(context.Background(), l.duration+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.wrkBin, args...)
	cmd.Env = append(os.Environ(), "BENCH_METHOD="+l.method, "BENCH_BODY="+l.body, "BENCH_CTYPE="+l.contentType)
	if l.statuses {
		cmd.Env = append(cmd.Env, "BENCH_STATUS=1")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk %s: %v: %s", l.url, err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "BENCH "); ok {
			var r result
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return result{}, fmt.Errorf("wrk %s: reading its result: %w", l.url, err)
			}
			return r, nil
		}
	}
	return result{}, fmt.Errorf("wrk %s printed no result: %s", l.url, stdout.String())
}
