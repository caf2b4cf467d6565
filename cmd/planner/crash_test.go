package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
)

// raceBuild is set by race_test.go when the tests run with -race; the
// binary is then built the same way, which also reuses the test build's
// compiled packages.
var raceBuild bool

// buildPlanner builds the real binary from this package into a temp dir.
func buildPlanner(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "planner")
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	if models.SQLiteFTS5 { // build it the way this test binary was built
		args = append(args, "-tags", "sqlite_fts5")
	}
	cmd := exec.Command(goBin, append(args, ".")...) // the test runs in cmd/planner
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is the binary serving in a child process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	done   chan error
}

// startPlanner runs "planner serve" with env on addr and waits for /healthz.
func startPlanner(t *testing.T, bin, addr string, env []string) *process {
	t.Helper()
	p := &process{base: "http://" + addr, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.cmd.Dir, "PLANNER_ADDR=" + addr,
		"PLANNER_BASE_URL=" + p.base}, env...)
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { p.done <- p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill() // an error if it has exited already
		<-exited
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for range 600 { // a hang guard, not a timing assertion
		select {
		case err := <-p.done:
			t.Fatalf("planner exited before serving: %v\n%s", err, p.stderr.String())
		default:
		}
		if resp, err := client.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("planner never became healthy\n%s", p.stderr.String())
	return nil
}

// call sends a request to the process and decodes a JSON answer into out.
func (p *process) call(method, path, token string, body any, out any) (int, error) {
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, p.base+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err // the answer was not received whole: not acknowledged
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, fmt.Errorf("decode %s: %w", raw, err)
		}
	}
	return resp.StatusCode, nil
}

// crashEvent is what a writer sends; its description is derived from its
// title, so a torn or mixed-up row shows.
func crashEvent(title string) map[string]any {
	return map[string]any{
		"title":       title,
		"description": strings.Repeat(title+" | ", 40) + "end",
		"tags":        []string{"crash", strings.ReplaceAll(title, " ", "-")},
		"location":    "Room " + title,
		"starts_at":   "2031-03-01T18:00:00Z",
	}
}

type storedEvent struct {
	ID          uint     `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Location    string   `json:"location"`
	StartsAt    *string  `json:"starts_at"`
}

func (e storedEvent) intact() bool {
	want := crashEvent(e.Title)
	return e.Description == want["description"] && e.Location == want["location"] && len(e.Tags) == 2 &&
		e.Tags[1] == strings.ToLower(strings.ReplaceAll(e.Title, " ", "-")) && e.StartsAt != nil && *e.StartsAt == "2031-03-01T18:00:00Z"
}

// TestCrashKeepsAcknowledgedWrites starts the real binary, writes events
// (and updates one, over and over) through the API from eight clients,
// kills the process with SIGKILL in the middle of the stream, starts it
// again on the same database and checks that every acknowledged write is
// there and intact, on SQLite and on PostgreSQL. The restarted process is
// then stopped with SIGTERM and must exit cleanly.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	bin := buildPlanner(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "planner.db")
			if backend == "postgres" {
				dbURL = dbtest.PostgresURL(t)
			}
			env := []string{"PLANNER_DATABASE_URL=" + dbURL, "PLANNER_BCRYPT_COST=4", "PLANNER_IP_RATE=0",
				"PLANNER_SECRET_KEYS=crash-test-key-0123456789abcdefghijklmnop", "PLANNER_LOG_LEVEL=warn"}
			crashAndRecover(t, bin, env)
		})
	}
}

func crashAndRecover(t *testing.T, bin string, env []string) {
	addr := freeAddr(t)
	p := startPlanner(t, bin, addr, env)
	if code, err := p.call("POST", "/api/user/signup", "", map[string]any{"email": "crash@example.com", "password": "correct-horse-battery"}, nil); code != 200 {
		t.Fatalf("sign-up: %d %v", code, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code, err := p.call("POST", "/api/user/signin", "", url.Values{"username": {"crash@example.com"}, "password": {"correct-horse-battery"}}, &tok); code != 200 {
		t.Fatalf("sign-in: %d %v", code, err)
	}
	var counter struct {
		ID uint `json:"id"`
	}
	if code, err := p.call("POST", "/api/event/new", tok.AccessToken, map[string]any{"title": "counter 0"}, &counter); code != 200 {
		t.Fatalf("create the counter: %d %v", code, err)
	}

	// Seven writers create at once, so that creates share group commits
	// (models/event_create.go) when the kill comes: each one acknowledged
	// must be there, and none of a batch half there.
	const writers, killAfter, maxPerWriter = 8, 120, 2000
	var (
		mu         sync.Mutex
		acked      = map[uint]string{} // id → title
		sent       int
		lastAcked  int // the counter's last acknowledged value
		lastSent   int
		unexpected []string
		killed     = make(chan struct{})
		killOnce   sync.Once
		wg         sync.WaitGroup
	)
	kill := func() {
		killOnce.Do(func() {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		})
	}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < maxPerWriter; i++ {
				if w == 0 { // this writer updates the counter event
					mu.Lock()
					lastSent++
					n := lastSent
					mu.Unlock()
					code, err := p.call("PUT", fmt.Sprintf("/api/event/%d", counter.ID), tok.AccessToken, map[string]any{"title": fmt.Sprintf("counter %d", n)}, nil)
					if err != nil {
						break
					}
					if code != http.StatusOK {
						mu.Lock()
						unexpected = append(unexpected, fmt.Sprintf("update: %d", code))
						mu.Unlock()
						break
					}
					mu.Lock()
					lastAcked = n
					mu.Unlock()
					continue
				}
				title := fmt.Sprintf("w%d n%d", w, i)
				var out struct {
					ID uint `json:"id"`
				}
				mu.Lock()
				sent++
				mu.Unlock()
				code, err := p.call("POST", "/api/event/new", tok.AccessToken, crashEvent(title), &out)
				if err != nil {
					break // the process is gone: this write was not acknowledged
				}
				if code != http.StatusOK || out.ID == 0 {
					mu.Lock()
					unexpected = append(unexpected, fmt.Sprintf("create: %d", code))
					mu.Unlock()
					break
				}
				mu.Lock()
				acked[out.ID] = title
				n := len(acked)
				mu.Unlock()
				if n == killAfter {
					kill() // mid-stream: the other writers have requests in flight
				}
			}
		}(w)
	}
	wg.Wait()
	kill() // in case the stream ended first (it should not)
	err := <-p.done
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the process was not killed by SIGKILL: %v\n%s", err, p.stderr.String())
	}
	if len(unexpected) > 0 {
		t.Fatalf("writes refused before the kill: %v\n%s", unexpected, p.stderr.String())
	}
	if len(acked) < killAfter {
		t.Fatalf("only %d writes acknowledged before the kill", len(acked))
	}
	t.Logf("killed with %d creates acknowledged of %d sent; counter %d acknowledged, %d sent", len(acked), sent, lastAcked, lastSent)

	// Start again on the same database; the old token still works, since
	// sessions live in the database and the keys are the same.
	p2 := startPlanner(t, bin, freeAddr(t), env)
	for id, title := range acked {
		var got storedEvent
		code, err := p2.call("GET", fmt.Sprintf("/api/event/%d", id), tok.AccessToken, nil, &got)
		if code != http.StatusOK {
			t.Errorf("acknowledged event %d (%s) lost: %d %v", id, title, code, err)
			continue
		}
		if got.Title != title || !got.intact() {
			t.Errorf("acknowledged event %d is not intact: %+v", id, got)
		}
	}
	var c storedEvent
	if code, err := p2.call("GET", fmt.Sprintf("/api/event/%d", counter.ID), tok.AccessToken, nil, &c); code != 200 {
		t.Fatalf("counter: %d %v", code, err)
	}
	var n int
	if _, err := fmt.Sscanf(c.Title, "counter %d", &n); err != nil || n < lastAcked || n > lastSent {
		t.Errorf("counter is %q: acknowledged %d, sent up to %d", c.Title, lastAcked, lastSent)
	}
	// Every stored event, acknowledged or not, is whole: no torn rows.
	var all []storedEvent
	path := "/api/event/?limit=200"
	for page := 0; path != "" && page < 100; page++ {
		var list []storedEvent
		req, _ := http.NewRequest("GET", p2.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		all = append(all, list...)
		path = ""
		if link := resp.Header.Get("Link"); link != "" {
			u, _ := url.Parse(link[strings.Index(link, "<")+1 : strings.Index(link, ">")])
			path = u.RequestURI()
		}
	}
	for _, e := range all {
		if e.ID != counter.ID && !e.intact() {
			t.Errorf("stored event %d is not intact: %+v", e.ID, e)
		}
	}
	if len(all) < len(acked)+1 || len(all) > sent+1 {
		t.Errorf("%d events stored; %d acknowledged, %d sent", len(all), len(acked), sent)
	}

	// A graceful stop after the recovery exits 0 (and, in a race build,
	// without a race report).
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p2.done:
		if err != nil {
			t.Errorf("restarted planner exited with %v\n%s", err, p2.stderr.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("restarted planner did not stop on SIGTERM")
	}
}
