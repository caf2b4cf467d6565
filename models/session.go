package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RevokedSession is a session id that was signed out. A row is kept until
// no token of that session could still be valid, then purged.
type RevokedSession struct {
	SID       string    `gorm:"column:sid;primaryKey;size:64"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// Sessions is the store of revoked session ids. It lives in the database so
// that every instance behind a load balancer sees a sign-out at once.
type Sessions struct {
	db     *gorm.DB
	holder lazyStmt
}

// NewSessions returns the revocation store backed by db.
func NewSessions(db *gorm.DB) *Sessions {
	return &Sessions{db: db}
}

// Revoke marks sid as signed out until expiresAt, when every token of it has
// expired anyway. Revoking twice is not an error.
func (s *Sessions) Revoke(ctx context.Context, sid string, expiresAt time.Time) error {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&RevokedSession{SID: sid, ExpiresAt: expiresAt.UTC()}).Error
	return translate("revoke session", err)
}

// Session kinds: a browser session (the cookie) or an API token.
const (
	SessionBrowser = "browser"
	SessionAPI     = "api"
)

// Session is the record of one browser session or API token, keyed by its
// sid: what the devices page lists. It is not what lets a token in (that is
// the signature, the user's token version and revoked_sessions), so a
// token issued before the table existed still works and gets a record on
// its next request. ID is what pages and the API show: the sid never
// leaves the server.
type Session struct {
	ID           uint      `gorm:"primaryKey"`
	SID          string    `gorm:"column:sid;size:64;not null;uniqueIndex:idx_sessions_sid"`
	UserID       uint      `gorm:"not null"`
	Kind         string    `gorm:"size:10;not null"`
	TokenVersion int       `gorm:"not null"`
	IP           string    `gorm:"size:64;not null;default:''"`
	UserAgent    string    `gorm:"size:300;not null;default:''"`
	CreatedAt    time.Time `gorm:"not null"`
	LastSeenAt   time.Time `gorm:"not null"`
	ExpiresAt    time.Time `gorm:"not null"`
}

// MaxSessionAge is how long after sign-in a browser session may be
// renewed, and so how long a revocation of one must be kept.
const MaxSessionAge = 7 * 24 * time.Hour

// SeenEvery is how often a session's last-seen time (and address) is
// written: at most once a minute, so a busy session costs one write a
// minute, not one per request.
const SeenEvery = time.Minute

// Held is what the session check learns about the session itself: whether
// it was signed out, and when it was last recorded as seen (zero when it
// has no record yet).
type Held struct {
	Revoked  bool
	LastSeen time.Time
}

// Stale reports whether the session's record should be written now.
func (h Held) Stale(now time.Time) bool {
	return h.LastSeen.IsZero() || now.Sub(h.LastSeen) >= SeenEvery
}

// Holder returns the user a token of session sid names, whether sid was
// signed out and when it was last seen, in one prepared query: the check
// every authenticated request makes, so it reads nothing it does not need
// (never the password hash) and caches nothing (a sign-out or a disabled
// user counts at once everywhere). An unknown user is ErrNotFound.
func (s *Sessions) Holder(ctx context.Context, userID uint, sid string) (*User, Held, error) {
	stmt, err := s.holder.get(ctx, s.db, readPool, `SELECT u.id, u.email, u.name, u.role, u.disabled, u.token_version,
	u.last_sign_in_at, u.email_verified_at, u.created_at, u.updated_at, u.timezone, u.calendar_gen, u.totp_secret, u.totp_enabled_at,
	EXISTS (SELECT 1 FROM revoked_sessions WHERE sid = `+param(s.db, 1)+`), s.last_seen_at
	FROM users u LEFT JOIN sessions s ON s.sid = `+param(s.db, 2)+` AND s.user_id = u.id WHERE u.id = `+param(s.db, 3))
	if err != nil {
		return nil, Held{}, translate("check session", err)
	}
	rows, err := stmt.QueryContext(queryContext(ctx, s.db), sid, sid, userID)
	if err != nil {
		return nil, Held{}, translate("check session", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, Held{}, translate("check session", err)
		}
		return nil, Held{}, fmt.Errorf("check session: %w", ErrNotFound)
	}
	var u User
	var last, verified, totpOn, seen sql.NullTime
	var h Held
	if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Disabled, &u.TokenVersion, &last, &verified,
		&u.CreatedAt, &u.UpdatedAt, &u.Timezone, &u.CalendarGen, &u.TOTPSecret, &totpOn, &h.Revoked, &seen); err != nil {
		return nil, Held{}, translate("check session", err)
	}
	u.LastSignInAt, u.EmailVerifiedAt, u.TOTPEnabledAt = nullTime(last), nullTime(verified), nullTime(totpOn)
	if seen.Valid {
		h.LastSeen = seen.Time
	}
	return &u, h, nil
}

// Record writes the record of a session: a new one, or, for a sid already
// recorded (a renewed cookie, a password change that re-issued it, or the
// periodic last-seen update), its token version, expiry, last-seen time and
// address. The sid must belong to s.UserID: a row of another user is left
// alone.
func (s *Sessions) Record(ctx context.Context, r Session) error {
	r.ID = 0
	r.CreatedAt, r.LastSeenAt, r.ExpiresAt = r.CreatedAt.UTC(), r.LastSeenAt.UTC(), r.ExpiresAt.UTC()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = r.LastSeenAt
	}
	r.UserAgent = clip(r.UserAgent, 300)
	r.IP = clip(r.IP, 64)
	set := []string{"last_seen_at", "ip", "user_agent", "token_version"}
	if !r.ExpiresAt.IsZero() {
		set = append(set, "expires_at")
	} else {
		r.ExpiresAt = r.LastSeenAt.Add(time.Hour)
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "sid"}},
		DoUpdates: clause.AssignmentColumns(set),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "sessions.user_id = excluded.user_id"}}},
	}).Create(&r).Error
	return translate("record session", err)
}

// Live returns the live sessions of user, newest first: not expired, not
// signed out, and of the user's current token version (a "sign out
// everywhere" ends the others).
func (s *Sessions) Live(ctx context.Context, userID uint, now time.Time) ([]Session, error) {
	return s.LiveOf(ctx, []uint{userID}, now)
}

// LiveOf returns the live sessions of several users at once (the admin's
// users page), newest first.
func (s *Sessions) LiveOf(ctx context.Context, userIDs []uint, now time.Time) ([]Session, error) {
	out := []Session{}
	if len(userIDs) == 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Table("sessions").Select("sessions.*").
		Joins("JOIN users ON users.id = sessions.user_id AND users.token_version = sessions.token_version").
		Where("sessions.user_id IN ? AND sessions.expires_at > ?", userIDs, now.UTC()).
		Where("NOT EXISTS (SELECT 1 FROM revoked_sessions r WHERE r.sid = sessions.sid)").
		Order("sessions.last_seen_at DESC, sessions.id DESC").Find(&out).Error
	return out, translate("list sessions", err)
}

// ByID returns user's session with that id, or ErrNotFound (also when it
// belongs to someone else).
func (s *Sessions) ByID(ctx context.Context, userID, id uint) (*Session, error) {
	var r Session
	err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).First(&r).Error
	if err != nil {
		return nil, translate("find session", err)
	}
	return &r, nil
}

// End signs the session r out: its sid is revoked for as long as a token
// of it could live (a browser session's renewals until MaxSessionAge after
// sign-in, an API token until it expires) and its record deleted. Run it
// in a transaction.
func (s *Sessions) End(ctx context.Context, r *Session) error {
	until := r.ExpiresAt
	if r.Kind == SessionBrowser {
		until = r.CreatedAt.Add(MaxSessionAge)
	}
	if err := s.Revoke(ctx, r.SID, until); err != nil {
		return err
	}
	return s.Forget(ctx, r.SID)
}

// Forget deletes the record of session sid (a sign-out).
func (s *Sessions) Forget(ctx context.Context, sid string) error {
	return translate("forget session", s.db.WithContext(ctx).Where("sid = ?", sid).Delete(&Session{}).Error)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// RevocationGrace is how long a revocation is kept past its session's
// expiry. Token checks allow a little clock leeway after exp, so a
// revocation purged at exp would let a signed-out token work again for
// that leeway; the grace must exceed any leeway the checks allow.
const RevocationGrace = 5 * time.Minute

// Purge deletes revocations whose sessions expired more than
// RevocationGrace before now, and the records of sessions that ended.
func (s *Sessions) Purge(ctx context.Context, now time.Time) error {
	err := s.db.WithContext(ctx).Where("expires_at < ?", now.UTC().Add(-RevocationGrace)).Delete(&RevokedSession{}).Error
	if err != nil {
		return translate("purge revoked sessions", err)
	}
	// Session records: expired ones, and those a token-version bump ended.
	err = s.db.WithContext(ctx).Where("expires_at < ? OR token_version < (SELECT token_version FROM users WHERE users.id = sessions.user_id)",
		now.UTC()).Delete(&Session{}).Error
	return translate("purge session records", err)
}
