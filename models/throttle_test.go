package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

const (
	testLimit = 5
	testLock  = 15 * time.Minute
)

// testThrottleKey keys the throttle digests of these tests.
var testThrottleKey = models.ThrottleKey([]byte("throttle-test-signing-key-0123456789"))

// TestThrottleDigestIsKeyed: what the table keeps of a typed email (often
// a pasted password) is an HMAC with the server's key, not a plain hash
// anyone could test guesses against; another key gives other digests.
func TestThrottleDigestIsKeyed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		typed := "MyS3cret-Password!"
		now := time.Now()
		reserve(t, models.NewThrottles(db, testThrottleKey), typed, "192.0.2.1", now)
		reserve(t, models.NewThrottles(db, models.ThrottleKey([]byte("another-signing-key-0123456789abcdef"))), typed, "192.0.2.1", now)
		var digests []string
		if err := db.Model(&models.SigninThrottle{}).Order("id").Pluck("email_hash", &digests).Error; err != nil {
			t.Fatal(err)
		}
		plain := sha256.Sum256([]byte(strings.ToLower(typed)))
		plainHex := hex.EncodeToString(plain[:])
		if len(digests) != 2 || digests[0] == digests[1] {
			t.Fatalf("digests %q: want one per key", digests)
		}
		for _, d := range digests {
			if d == plainHex || strings.Contains(strings.ToLower(d), strings.ToLower(typed)) {
				t.Errorf("digest %q is the plain SHA-256 (or the text) of the typed email", d)
			}
			if len(d) != 64 {
				t.Errorf("digest %q: want 64 hex digits", d)
			}
		}
	})
}

// reserve calls Reserve with the test limits, or fails the test.
func reserve(t *testing.T, th *models.Throttles, email, client string, now time.Time) models.Reservation {
	t.Helper()
	r, err := th.Reserve(context.Background(), email, client, testLimit, testLock, now)
	if err != nil {
		t.Fatalf("Reserve(%q, %q): %v", email, client, err)
	}
	return r
}

// lockPair spends the whole limit of a pair at now.
func lockPair(t *testing.T, th *models.Throttles, email, client string, now time.Time) {
	t.Helper()
	for i := 1; i <= testLimit; i++ {
		if r := reserve(t, th, email, client, now); !r.Allowed {
			t.Fatalf("attempt %d of %d refused: %+v", i, testLimit, r)
		}
	}
	if r := reserve(t, th, email, client, now); r.Allowed {
		t.Fatalf("attempt %d allowed, want the pair locked", testLimit+1)
	}
}

// countLocked is how many pairs are throttled at now.
func countLocked(t *testing.T, db *gorm.DB, now time.Time) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.SigninThrottle{}).Where("locked_until > ?", now.UTC()).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestThrottleReserve(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		th := models.NewThrottles(db, testThrottleKey)
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
		const email, client = "victim@example.com", "203.0.113.7"

		for i := 1; i <= testLimit; i++ {
			r := reserve(t, th, email, client, now)
			if !r.Allowed || r.RetryAfter != 0 {
				t.Fatalf("attempt %d = %+v, want allowed", i, r)
			}
		}
		r := reserve(t, th, email, client, now)
		if r.Allowed {
			t.Fatalf("attempt %d allowed past the limit", testLimit+1)
		}
		if r.RetryAfter <= 0 || r.RetryAfter > testLock || r.RetryAfter < testLock-time.Second {
			t.Fatalf("RetryAfter = %v, want about %v", r.RetryAfter, testLock)
		}

		// Attempts while locked are refused and do not extend the lock.
		for _, later := range []time.Duration{time.Minute, 5 * time.Minute, 14 * time.Minute} {
			r := reserve(t, th, email, client, now.Add(later))
			if r.Allowed {
				t.Fatalf("attempt %v into the lock allowed", later)
			}
			want := testLock - later
			if d := r.RetryAfter - want; d < -time.Second || d > time.Second {
				t.Fatalf("RetryAfter %v into the lock = %v, want %v (the lock must not move)", later, r.RetryAfter, want)
			}
		}
		if n := countLocked(t, db, now.Add(10*time.Minute)); n != 1 {
			t.Errorf("CountLocked during the lock = %d, want 1", n)
		}

		// Once the lock has run out, counting starts afresh: the full limit again.
		after := now.Add(testLock + time.Second)
		if n := countLocked(t, db, after); n != 0 {
			t.Errorf("CountLocked after the lock = %d, want 0", n)
		}
		lockPair(t, th, email, client, after)
		if n := countLocked(t, db, after); n != 1 {
			t.Errorf("CountLocked after locking again = %d, want 1", n)
		}
	})
}

func TestThrottleEmailIsCaseInsensitive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		th := models.NewThrottles(db, testThrottleKey)
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
		emails := []string{"Mixed@Example.com", "mixed@example.com", " MIXED@EXAMPLE.COM "}
		for i := 0; i < testLimit; i++ {
			if r := reserve(t, th, emails[i%len(emails)], "c", now); !r.Allowed {
				t.Fatalf("attempt %d refused", i+1)
			}
		}
		if r := reserve(t, th, "mixed@EXAMPLE.com", "c", now); r.Allowed {
			t.Fatal("changing the email's case got around the limit")
		}
	})
}

func TestThrottleResetAndIndependence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		th := models.NewThrottles(db, testThrottleKey)
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

		// Reset after a success: the count starts over.
		for range testLimit - 1 {
			reserve(t, th, "a@example.com", "c1", now)
		}
		if err := th.Reset(ctx, "A@example.com", "c1"); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		lockPair(t, th, "a@example.com", "c1", now) // the full limit again

		// Another client, or another email, is counted on its own.
		if r := reserve(t, th, "a@example.com", "c2", now); !r.Allowed {
			t.Error("a different client is locked by someone else's failures")
		}
		if r := reserve(t, th, "b@example.com", "c1", now); !r.Allowed {
			t.Error("a different email from the same client is locked")
		}
		// Reset of one pair leaves the other locked pair alone... and clears a lock.
		if err := th.Reset(ctx, "a@example.com", "c2"); err != nil {
			t.Fatal(err)
		}
		if r := reserve(t, th, "a@example.com", "c1", now); r.Allowed {
			t.Error("Reset of client c2 unlocked client c1")
		}
		if err := th.Reset(ctx, "a@example.com", "c1"); err != nil {
			t.Fatal(err)
		}
		if r := reserve(t, th, "a@example.com", "c1", now); !r.Allowed {
			t.Error("Reset did not clear a lock")
		}
		// Resetting a pair that was never counted is not an error.
		if err := th.Reset(ctx, "never@example.com", "c9"); err != nil {
			t.Errorf("Reset of an unknown pair: %v", err)
		}
	})
}

func TestThrottleUnlock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		th := models.NewThrottles(db, testThrottleKey)
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

		lockPair(t, th, "Bob@Example.com", "198.51.100.1", now)
		lockPair(t, th, "bob@example.com", "2001:db8:1:2::/64", now)
		reserve(t, th, "bob@example.com", "198.51.100.3", now) // counted, not locked
		lockPair(t, th, "carol@example.com", "198.51.100.1", now)
		if n := countLocked(t, db, now); n != 3 {
			t.Fatalf("CountLocked = %d, want 3", n)
		}

		n, err := th.Unlock(ctx, "  BOB@example.COM")
		if err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		if n != 3 {
			t.Errorf("Unlock cleared %d pairs, want 3 (every client of that email)", n)
		}
		for _, client := range []string{"198.51.100.1", "2001:db8:1:2::/64"} {
			if r := reserve(t, th, "bob@example.com", client, now); !r.Allowed {
				t.Errorf("bob from %s still locked after Unlock", client)
			}
		}
		if r := reserve(t, th, "carol@example.com", "198.51.100.1", now); r.Allowed {
			t.Error("Unlock of bob unlocked carol too")
		}
		if n := countLocked(t, db, now); n != 1 {
			t.Errorf("CountLocked after Unlock = %d, want 1 (carol)", n)
		}
		if n, err := th.Unlock(ctx, "nobody@example.com"); err != nil || n != 0 {
			t.Errorf("Unlock(unknown) = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestThrottlePurge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		th := models.NewThrottles(db, testThrottleKey)
		// updated_at comes from the clock, so these pairs use the real time.
		now := time.Now().UTC()
		reserve(t, th, "counted@example.com", "c", now) // one failure, no lock
		lockPair(t, th, "locked@example.com", "c", now) // locked until now+15m

		rows := func() int64 {
			t.Helper()
			var n int64
			if err := db.Model(&models.SigninThrottle{}).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		// A cutoff in the past touches nothing recently updated.
		if err := th.Purge(ctx, now.Add(-24*time.Hour)); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		if n := rows(); n != 2 {
			t.Fatalf("rows after purging with an old cutoff = %d, want 2", n)
		}
		// A cutoff after the last update drops the unlocked pair, keeps the live lock.
		if err := th.Purge(ctx, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := rows(); n != 1 {
			t.Fatalf("rows after purge = %d, want 1 (the locked pair)", n)
		}
		if r := reserve(t, th, "locked@example.com", "c", now); r.Allowed {
			t.Fatal("Purge dropped a pair that is still locked")
		}
		// Once the lock has run out by the cutoff, it goes too.
		if err := th.Purge(ctx, now.Add(testLock+time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := rows(); n != 0 {
			t.Fatalf("rows after the lock ran out = %d, want 0", n)
		}
	})
}

// TestThrottleReserveConcurrent fires many attempts for one pair at once:
// exactly the limit may pass, however they interleave.
func TestThrottleReserveConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		th := models.NewThrottles(db, testThrottleKey)
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
		const goroutines = 20
		for round, email := range []string{"race1@example.com", "race2@example.com", "race3@example.com"} {
			start := make(chan struct{})
			var wg sync.WaitGroup
			results := make([]models.Reservation, goroutines)
			errs := make([]error, goroutines)
			for i := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = th.Reserve(context.Background(), email, "203.0.113.9", testLimit, testLock, now)
				}()
			}
			close(start)
			wg.Wait()
			allowed := 0
			for i := range goroutines {
				if errs[i] != nil {
					t.Fatalf("round %d: Reserve #%d: %v", round, i, errs[i])
				}
				if results[i].Allowed {
					allowed++
				} else if results[i].RetryAfter <= 0 {
					t.Errorf("round %d: refused without a RetryAfter: %+v", round, results[i])
				}
			}
			if allowed != testLimit {
				t.Fatalf("round %d: %d of %d concurrent attempts allowed, want exactly %d", round, allowed, goroutines, testLimit)
			}
		}
	})
}

// TestThrottleLockedUntil: only pairs locked at now count, from any client,
// with the latest lock of the email; failures below the limit and locks
// that ran out do not.
func TestThrottleLockedUntil(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		th := models.NewThrottles(db, testThrottleKey)
		ctx := context.Background()
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
		lockPair(t, th, "locked@example.com", "192.0.2.1", now)
		lockPair(t, th, "locked@example.com", "192.0.2.2", now.Add(time.Minute))
		reserve(t, th, "failed@example.com", "192.0.2.1", now) // one failure: not locked
		lockPair(t, th, "expired@example.com", "192.0.2.1", now.Add(-testLock-time.Second))
		got, err := th.LockedUntil(ctx, []string{"locked@example.com", "failed@example.com", "expired@example.com", "none@example.com"}, now.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got["locked@example.com"].Equal(now.Add(time.Minute+testLock)) {
			t.Fatalf("locked: %v", got)
		}
		if got, err := th.LockedUntil(ctx, nil, now); err != nil || len(got) != 0 {
			t.Fatalf("no emails: %v %v", got, err)
		}
	})
}
