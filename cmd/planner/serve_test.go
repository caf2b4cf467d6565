package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hangGuard bounds how long a test waits for the program before calling it
// hung. It is a guard against deadlocks, not a timing assertion.
const hangGuard = 15 * time.Second

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// server is the program running "serve" in the background.
type server struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	stdout *lockedBuffer
	logs   *lockedBuffer
}

// startServer runs the program with args (which must set --addr to addr)
// and waits until /healthz answers 200.
func startServer(t *testing.T, e env, addr string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: addr, cancel: cancel, done: make(chan error, 1), stdout: &lockedBuffer{}, logs: &lockedBuffer{}}
	go func() { s.done <- run(ctx, args, e.get, strings.NewReader(""), s.stdout, s.logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(hangGuard):
			t.Error("server still running at cleanup")
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	for range 400 {
		select {
		case err := <-s.done:
			t.Fatalf("run returned before serving: %v\nlogs: %s", err, s.logs.String())
		default:
		}
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if strings.TrimSpace(string(body)) != "ok" {
					t.Fatalf("/healthz body %q, want ok", body)
				}
				return s
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("/healthz never answered 200\nlogs: %s", s.logs.String())
	return nil
}

// stop cancels the program's context, as SIGINT would, and returns what run
// returned.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(hangGuard):
		t.Fatalf("run did not return after its context was cancelled\nlogs: %s", s.logs.String())
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeAndGracefulShutdown(t *testing.T) {
	e := devEnv(t)
	addr := freeAddr(t)
	s := startServer(t, e, addr, "serve", "--addr", addr)

	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/readyz = %d %q, want 200 ok", code, body)
	}
	if want := "http://" + addr; !strings.Contains(s.stdout.String(), want) {
		t.Errorf("stdout %q does not say where it serves (%s)", s.stdout.String(), want)
	}
	// serve migrated the database and kept a development key beside it.
	if fi, err := os.Stat(e["PLANNER_DATABASE_URL"] + ".secret"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("development key file: %v, %v; want mode 0600", fi, err)
	}
	db := openStore(t, e)
	if n := countUsers(t, db); n != 0 {
		t.Errorf("users = %d", n)
	}

	if err := s.stop(t); err != nil {
		t.Fatalf("run after a graceful shutdown = %v, want nil", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("still accepting connections after run returned")
	}
	if logs := s.logs.String(); !strings.Contains(logs, "shutting down") || !strings.Contains(logs, "stopped") {
		t.Errorf("logs lack the shutdown: %s", logs)
	}
}

// TestServeFinishesRequestInFlight shuts the server down while a request is
// being handled, and checks that the request still gets its answer and
// that run returns nil only afterwards. The request is a form POST sent with
// "Expect: 100-continue": the server's "100 Continue" proves the request is
// in the hands of the app (reading its body) before shutdown starts. Its
// final answer is the 403 the spec gives a POST without a CSRF token.
func TestServeFinishesRequestInFlight(t *testing.T) {
	e := devEnv(t)
	addr := freeAddr(t)
	// Flags without a command mean serve.
	s := startServer(t, e, addr, "--addr", addr, "--log-format", "json")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(hangGuard))
	body := "email=someone%40example.com&password=whatever-it-is"
	head := "POST /login HTTP/1.1\r\nHost: " + addr + "\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Expect: 100-continue\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading 100 Continue: %v", err)
	}
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("got %d before sending the body, want 100 Continue", resp.StatusCode)
	}

	s.cancel()
	// Wait until shutdown has begun: the listener closes first.
	closed := false
	for range 400 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			closed = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !closed {
		t.Fatal("the listener never closed after the context was cancelled")
	}
	select {
	case err := <-s.done:
		t.Fatalf("run returned (%v) while a request was still in flight", err)
	default:
	}

	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatalf("finish the request: %v", err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the request in flight: %v", err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("in-flight request got %d, want the 403 of a POST without a CSRF token", resp.StatusCode)
	}
	if !resp.Close {
		t.Error("a response during shutdown should close the connection")
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
}

func TestServeAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := cli(t, devEnv(t), "", "serve", "--addr", ln.Addr().String())
	wantCode(t, r, 1)
	if !strings.HasPrefix(r.stderr, "planner: PLANNER_ADDR: ") {
		t.Errorf("stderr %q, want it to name PLANNER_ADDR", r.stderr)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	tests := []struct {
		args     []string
		env      env
		variable string
	}{
		{[]string{"serve", "--addr", "nope"}, nil, "PLANNER_ADDR"},
		{[]string{"serve", "--bcrypt-cost", "3"}, nil, "PLANNER_BCRYPT_COST"},
		{[]string{"serve", "--database-url", "postgres://u:pw@127.0.0.1:1/db"}, nil, "PLANNER_DATABASE_URL"},
		{[]string{"serve"}, env{"PLANNER_TIMEZONE": "Nowhere/Special"}, "PLANNER_TIMEZONE"},
	}
	for _, tt := range tests {
		e := devEnv(t)
		for k, v := range tt.env {
			e[k] = v
		}
		r := cli(t, e, "", tt.args...)
		wantCode(t, r, 1)
		if !strings.HasPrefix(r.stderr, "planner: "+tt.variable+": ") {
			t.Errorf("%q: stderr %q, want it to start with the variable %s", tt.args, r.stderr, tt.variable)
		}
	}
}

// TestHashProcs: serving adds one Go processor per hashing slot to the
// request workers' and gives them back when it stops.
func TestHashProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	prev := hashProcs(3)
	now := runtime.GOMAXPROCS(prev)
	if prev != before || now != before+3 {
		t.Fatalf("hashProcs(3) at GOMAXPROCS=%d: returned %d, set %d; want %d and %d", before, prev, now, before, before+3)
	}
}
