package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// backend answers with its name, the request's method, path, query and
// body.
func backend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s?%s %s", name, r.Method, r.URL.Path, r.URL.RawQuery, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestProxyRoundRobin(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	p, err := newProxy(log.New(io.Discard, "", 0), a.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.close() })
	testRoundRobin(t, p, a, b)
}

// testRoundRobin checks that p, in front of backend "a", sends every
// request to it intact, and once set to a and b, half to each. Each
// request comes on a connection of its own, so balancers of connections
// (HAProxy in TCP mode) and of requests (the Go proxy) both alternate.
func testRoundRobin(t *testing.T, p balancer, a, b *httptest.Server) {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(n int) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for i := range n {
			res, err := hc.Post(p.addr()+"/api/event/new?x=1", "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, i)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			name, rest, _ := strings.Cut(string(body), " ")
			if want := fmt.Sprintf(`POST /api/event/new?x=1 {"n":%d}`, i); rest != want {
				t.Errorf("backend %s got %q, want %q", name, rest, want)
			}
			seen[name]++
		}
		return seen
	}
	if got := send(4); got["a"] != 4 {
		t.Errorf("one backend: requests went %v, want all 4 to a", got)
	}
	if err := p.set(a.URL, b.URL); err != nil {
		t.Fatal(err)
	}
	if got := send(10); got["a"] != 5 || got["b"] != 5 {
		t.Errorf("two backends: requests went %v, want 5 each", got)
	}
}

func TestProxySetRefusesNoBackend(t *testing.T) {
	p := &proxy{}
	for _, bs := range [][]string{nil, {"not a url"}, {"http://ok:1", "/just/a/path"}} {
		if err := p.set(bs...); err == nil {
			t.Errorf("set(%q): no error", bs)
		}
	}
	if _, err := newProxy(log.New(io.Discard, "", 0)); err == nil {
		t.Error("newProxy with no backend: no error")
	}
}
