package handlers

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// TestSharedReadsStartAfterArrival holds a read in flight, lets more
// requests for the same key arrive, and checks that none of them is
// answered by the read that had already begun: they share the next one.
func TestSharedReadsStartAfterArrival(t *testing.T) {
	var s sharedReads[string, int]
	var calls atomic.Int32
	started, release := make(chan struct{}, 4), make(chan struct{})
	read := func(context.Context) (int, error) {
		n := int(calls.Add(1))
		started <- struct{}{}
		if n == 1 {
			<-release
		}
		return n, nil
	}
	first := make(chan int)
	go func() { v, _ := s.get(t.Context(), "k", read); first <- v }()
	<-started // read 1 is in flight
	var wg sync.WaitGroup
	later := make([]int, 3)
	for i := range later {
		wg.Add(1)
		go func() { defer wg.Done(); later[i], _ = s.get(t.Context(), "k", read) }()
	}
	for queued := 0; queued < len(later); { // until all three have joined the next read
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		if kr := s.keys["k"]; kr != nil && kr.next != nil {
			queued = kr.next.waiters
		}
		s.mu.Unlock()
	}
	close(release)
	if v := <-first; v != 1 {
		t.Fatalf("first request got read %d, want 1", v)
	}
	wg.Wait()
	for i, v := range later {
		if v < 2 {
			t.Errorf("request %d, which arrived while read 1 ran, was answered by read %d", i, v)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d reads for 4 requests, want 2 (the three late ones share one)", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) != 0 {
		t.Errorf("%d idle keys kept", len(s.keys))
	}
}

// TestSharedReadsKeysAndErrors checks that different keys never share a
// read, that an error reaches every request that shared it, and that a
// request whose context ends stops waiting.
func TestSharedReadsKeysAndErrors(t *testing.T) {
	var s sharedReads[string, string]
	v, err := s.get(t.Context(), "a", func(context.Context) (string, error) { return "a", nil })
	w, _ := s.get(t.Context(), "b", func(context.Context) (string, error) { return "b", nil })
	if err != nil || v != "a" || w != "b" {
		t.Fatalf("got %q, %q (%v)", v, w, err)
	}
	boom := errors.New("boom")
	if _, err := s.get(t.Context(), "a", func(context.Context) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("error not passed on: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	block := make(chan struct{})
	defer close(block)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if _, err := s.get(ctx, "c", func(context.Context) (string, error) { <-block; return "", nil }); !errors.Is(err, context.Canceled) || !errors.Is(err, models.ErrTimeout) {
		t.Fatalf("a cancelled request kept waiting or got %v (want the 503 kind, models.ErrTimeout)", err)
	}
}

// TestRevocationSeenByLaterRequests has browsers of one session read a
// signed-in page on one instance without pause while the session is
// signed out through the other: every request that began after the sign-out
// had committed must be refused, shared session checks or not.
func TestRevocationSeenByLaterRequests(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			a, b := instancesOn(t, dialect)
			a.createUser("ada@example.com", goodPassword, models.RoleUser)
			browser := a.client()
			browser.login("ada@example.com", goodPassword)
			cookies := maps.Clone(browser.jar)
			var revoked atomic.Bool
			var servedAfter atomic.Int32
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &client{app: a, jar: maps.Clone(cookies), addr: "192.0.2.20:4000" + string(rune('0'+i)), headers: http.Header{}}
					for {
						select {
						case <-stop:
							return
						default:
						}
						after := revoked.Load()
						c.jar = maps.Clone(cookies) // the stolen cookie, every time
						rec := c.do(httptest.NewRequest(http.MethodGet, "/account", nil))
						if after && rec.Code == http.StatusOK {
							servedAfter.Add(1)
						}
					}
				}()
			}
			time.Sleep(50 * time.Millisecond)
			if rec := browser.on(b).post("/logout", nil); rec.Code != http.StatusSeeOther {
				t.Errorf("logout: %d", rec.Code)
			}
			revoked.Store(true)
			time.Sleep(50 * time.Millisecond)
			close(stop)
			wg.Wait()
			if n := servedAfter.Load(); n > 0 {
				t.Errorf("%d requests that began after the sign-out had committed were served as signed in", n)
			}
		})
	}
}
