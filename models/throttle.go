package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SigninThrottle counts consecutive failed sign-ins for one (email, client)
// pair. The email is kept only as a keyed digest (HMAC-SHA256 with a key
// derived from the server's secret): people paste passwords into the email
// field, and this table records unknown emails too, so a plain hash would
// let whoever reads the table test guesses against it offline.
type SigninThrottle struct {
	ID          uint       `gorm:"primaryKey"`
	EmailHash   string     `gorm:"size:64;not null;uniqueIndex:idx_throttle_pair,priority:1"`
	Client      string     `gorm:"size:64;not null;uniqueIndex:idx_throttle_pair,priority:2"`
	Failures    int        `gorm:"not null;default:0"`
	LockedUntil *time.Time `gorm:"index"`
	UpdatedAt   time.Time  `gorm:"not null"`
}

// Reservation is the answer to Throttles.Reserve.
type Reservation struct {
	// Allowed is false when the pair is throttled; nothing was counted then.
	Allowed bool
	// RetryAfter is how long the pair stays throttled, when not Allowed.
	RetryAfter time.Duration
}

// Throttles is the store of sign-in throttles. State lives in the database
// so several instances count toward one limit.
type Throttles struct {
	db  *gorm.DB
	key []byte
}

// NewThrottles returns the throttle store backed by db, keying its email
// digests with key (see ThrottleKey).
func NewThrottles(db *gorm.DB, key []byte) *Throttles {
	return &Throttles{db: db, key: key}
}

// ThrottleKey derives the key of the throttle digests from the signing key
// (the first of PLANNER_SECRET_KEYS), so the signing key itself is used for
// nothing else. Putting a new key first starts every count afresh, which
// errs on the side of the user.
func ThrottleKey(signingKey []byte) []byte {
	m := hmac.New(sha256.New, signingKey)
	m.Write([]byte("planner sign-in throttle v1"))
	return m.Sum(nil)
}

func (s *Throttles) emailDigest(email string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(m.Sum(nil))
}

// Reserve counts one sign-in attempt for (email, client) before the password
// is checked, as a failure until Reset says otherwise. Counting first, in one
// locked transaction, is what keeps parallel guesses from all passing a
// "check, hash, then count" gap. The attempt that brings the count to limit
// is still allowed (and locks the pair for lock); later ones are refused
// until the lock expires, without extending it.
func (s *Throttles) Reserve(ctx context.Context, email, client string, limit int, lock time.Duration, now time.Time) (Reservation, error) {
	now = now.UTC()
	var res Reservation
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row SigninThrottle
		// A Reset of the pair committed between the insert that found it
		// there and the locking read makes the read find nothing (read
		// committed): insert again.
		for attempt := 0; ; attempt++ {
			row = SigninThrottle{EmailHash: s.emailDigest(email), Client: client}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
				return err
			}
			q := tx.Where("email_hash = ? AND client = ?", row.EmailHash, client)
			if isPostgres(tx) {
				q = q.Clauses(clause.Locking{Strength: "UPDATE"})
			}
			err := q.First(&row).Error
			if errors.Is(err, gorm.ErrRecordNotFound) && attempt < 3 {
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		if row.LockedUntil != nil {
			if row.LockedUntil.After(now) {
				res = Reservation{RetryAfter: row.LockedUntil.Sub(now)}
				return nil
			}
			row.Failures, row.LockedUntil = 0, nil // the lock has run out: start afresh
		}
		row.Failures++
		if row.Failures >= limit {
			until := now.Add(lock)
			row.LockedUntil = &until
		}
		res = Reservation{Allowed: true}
		return tx.Model(&row).Select("failures", "locked_until", "updated_at").Updates(&row).Error
	})
	return res, translate("reserve sign-in attempt", err)
}

// Reset clears the count of (email, client) after a successful sign-in.
func (s *Throttles) Reset(ctx context.Context, email, client string) error {
	err := s.db.WithContext(ctx).Where("email_hash = ? AND client = ?", s.emailDigest(email), client).
		Delete(&SigninThrottle{}).Error
	return translate("reset sign-in throttle", err)
}

// Unlock clears every throttle of email, from any client, and returns how
// many pairs were cleared.
func (s *Throttles) Unlock(ctx context.Context, email string) (int64, error) {
	res := s.db.WithContext(ctx).Where("email_hash = ?", s.emailDigest(email)).Delete(&SigninThrottle{})
	return res.RowsAffected, translate("unlock sign-in throttle", res.Error)
}

// LockedUntil reports which of emails are throttled at now, from any
// client, and until when (the latest lock of each). The admin's users page
// offers Unlock only for these: digests are one-way, so the emails are
// looked up by their digests, one query for the whole page.
func (s *Throttles) LockedUntil(ctx context.Context, emails []string, now time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(emails) == 0 {
		return out, nil
	}
	byDigest := make(map[string]string, len(emails))
	for _, e := range emails {
		byDigest[s.emailDigest(e)] = e
	}
	digests := make([]string, 0, len(byDigest))
	for d := range byDigest {
		digests = append(digests, d)
	}
	var rows []SigninThrottle
	err := s.db.WithContext(ctx).Select("email_hash", "locked_until").
		Where("email_hash IN ? AND locked_until > ?", digests, now.UTC()).Find(&rows).Error
	if err != nil {
		return nil, translate("read sign-in throttles", err)
	}
	for _, r := range rows {
		e := byDigest[r.EmailHash]
		if until, ok := out[e]; !ok || r.LockedUntil.After(until) {
			out[e] = *r.LockedUntil
		}
	}
	return out, nil
}

// Purge deletes pairs untouched since before cutoff whose locks have run out,
// so the table does not grow with every mistyped email forever.
func (s *Throttles) Purge(ctx context.Context, cutoff time.Time) error {
	err := s.db.WithContext(ctx).
		Where("updated_at < ? AND (locked_until IS NULL OR locked_until < ?)", cutoff.UTC(), cutoff.UTC()).
		Delete(&SigninThrottle{}).Error
	return translate("purge sign-in throttles", err)
}
