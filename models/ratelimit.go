package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// RateLimit is one client's count of attempts in the current one-minute
// window. The client is kept as a keyed digest, like the throttles' emails.
type RateLimit struct {
	ClientKey   string `gorm:"primaryKey;size:64"`
	WindowStart int64  `gorm:"not null"` // Unix seconds, a multiple of 60
	Hits        int    `gorm:"not null"`
}

// RateLimitWindow is the length of a rate-limit window.
const RateLimitWindow = time.Minute

// RateLimits counts attempts per client in the database, so every instance
// on one database counts toward one limit: N instances never allow N times
// the attempts.
type RateLimits struct {
	db  *gorm.DB
	key []byte
}

// NewRateLimits returns the store on db, keying client digests with key
// (ThrottleKey of the signing key will do).
func NewRateLimits(db *gorm.DB, key []byte) *RateLimits {
	return &RateLimits{db: db, key: key}
}

// Hit counts one attempt of client at now and reports whether it is within
// limit for the current window, and if not, how long until the window
// ends. Counting is one atomic upsert: concurrent attempts, on any
// instance, each get their own number.
func (s *RateLimits) Hit(ctx context.Context, client string, limit int, now time.Time) (ok bool, retryAfter time.Duration, err error) {
	start := now.Unix() - now.Unix()%int64(RateLimitWindow/time.Second)
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(client))
	var hits []int
	err = s.db.WithContext(ctx).Raw(`INSERT INTO rate_limits (client_key, window_start, hits) VALUES (?, ?, 1)
ON CONFLICT (client_key) DO UPDATE SET
	hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END,
	window_start = excluded.window_start
RETURNING hits`, hex.EncodeToString(m.Sum(nil)), start).Scan(&hits).Error
	if err != nil {
		return false, 0, translate("count rate limit", err)
	}
	if len(hits) != 1 {
		return false, 0, fmt.Errorf("count rate limit: %d rows returned", len(hits))
	}
	if hits[0] <= limit {
		return true, 0, nil
	}
	return false, time.Unix(start, 0).Add(RateLimitWindow).Sub(now), nil
}

// Purge deletes the counts of windows that ended before now.
func (s *RateLimits) Purge(ctx context.Context, now time.Time) error {
	err := s.db.WithContext(ctx).Where("window_start < ?", now.Add(-RateLimitWindow).Unix()).Delete(&RateLimit{}).Error
	return translate("purge rate limits", err)
}
