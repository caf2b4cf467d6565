package models_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TestRateLimits counts attempts per client and window, atomically: of 64
// concurrent attempts exactly the limit pass; a new window starts afresh;
// clients are kept only as keyed digests.
func TestRateLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		rl := models.NewRateLimits(db, testThrottleKey)
		now := time.Date(2031, 3, 1, 18, 0, 10, 0, time.UTC)
		var passed atomic.Int32
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := rl.Hit(ctx, "192.0.2.1", 10, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					passed.Add(1)
				}
			}()
		}
		wg.Wait()
		if passed.Load() != 10 {
			t.Fatalf("%d of 64 concurrent attempts passed a limit of 10", passed.Load())
		}
		ok, wait, err := rl.Hit(ctx, "192.0.2.1", 10, now)
		if err != nil || ok || wait != 50*time.Second {
			t.Errorf("over the limit: ok %v, wait %v, err %v; want refused for 50 s", ok, wait, err)
		}
		if ok, _, _ := rl.Hit(ctx, "192.0.2.2", 10, now); !ok {
			t.Error("another client shares the count")
		}
		if ok, _, _ := rl.Hit(ctx, "192.0.2.1", 10, now.Add(time.Minute)); !ok {
			t.Error("the next window did not start afresh")
		}
		var keys []string
		db.Model(&models.RateLimit{}).Pluck("client_key", &keys)
		for _, k := range keys {
			if k == "192.0.2.1" || k == "192.0.2.2" || len(k) != 64 {
				t.Errorf("client stored as %q, want a keyed digest", k)
			}
		}
		if err := rl.Purge(ctx, now.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		var n int64
		db.Model(&models.RateLimit{}).Count(&n)
		if n != 0 {
			t.Errorf("%d windows left after purging", n)
		}
	})
}
