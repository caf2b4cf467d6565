package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/planner/planner/models"
)

// TestSigninFloodLeavesReadsAnswering hammers POST /api/user/signin from 50
// clients over real HTTP, with real (if cheap) bcrypt, one hashing slot and a
// short queue, while readers fetch an event. Every read must answer 200,
// and every sign-in 200, 401 or the designed 503 with Retry-After: no
// request fails. Speed is the benchmark's business, not this test's.
func TestSigninFloodLeavesReadsAnswering(t *testing.T) {
	app, logs := newLoggedApp(t, newTestApp(t).db, func(c *Config) {
		c.BcryptCost = 8
		c.LoginLimit = 1 << 30 // the flood is about CPU, not throttling
		c.IPRate = 0
		c.HashSlots = 1
		c.HashQueue = 2
	})
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	e := app.createEvent(app.createUser("owner@example.com", goodPassword, models.RoleUser).ID, "Still readable", "public")
	api := newAPIClient(httptestServer(t, app))

	const flooders, readers, reads = 50, 4, 25
	var (
		stop                  = make(chan struct{})
		mu                    sync.Mutex
		failures              []string
		ok, refused, busy, nn atomic.Int64
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var flood sync.WaitGroup
	for i := 0; i < flooders; i++ {
		flood.Add(1)
		go func(i int) {
			defer flood.Done()
			password := goodPassword
			if i%2 == 1 {
				password = "wrong-password"
			}
			form := url.Values{"username": {"ada@example.com"}, "password": {password}}
			for n := 0; n < 500; n++ { // bounded; stops as soon as the readers are done
				select {
				case <-stop:
					return
				default:
				}
				nn.Add(1)
				code, h, body, err := api.call("POST", "/api/user/signin", "", form)
				switch {
				case err != nil:
					fail("sign-in: %v", err)
				case code == http.StatusOK:
					ok.Add(1)
				case code == http.StatusUnauthorized:
					refused.Add(1)
				case code == http.StatusServiceUnavailable && h.Get("Retry-After") != "" && strings.Contains(string(body), `"detail"`):
					busy.Add(1)
				default:
					fail("sign-in: %d %q %s", code, h.Get("Retry-After"), body)
				}
			}
		}(i)
	}

	var read sync.WaitGroup
	for r := 0; r < readers; r++ {
		read.Add(1)
		go func() {
			defer read.Done()
			for n := 0; n < reads; n++ {
				code, _, body, err := api.call("GET", fmt.Sprintf("/api/event/%d", e.ID), "", nil)
				if err != nil || code != http.StatusOK || !strings.Contains(string(body), "Still readable") {
					fail("read during the flood: %d %s %v", code, body, err)
				}
			}
		}()
	}
	read.Wait()
	close(stop)
	flood.Wait()

	t.Logf("%d sign-ins during %d reads: %d 200, %d 401, %d 503", nn.Load(), readers*reads, ok.Load(), refused.Load(), busy.Load())
	for _, f := range failures {
		t.Error(f)
	}
	// The designed 503 is logged like any 5xx; anything else logged as an
	// error is a failure the answers did not show.
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "status=503") {
			t.Errorf("server error during the flood: %s", line)
		}
	}
}
