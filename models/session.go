package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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

// Holder returns the user a token of session sid names and whether sid was
// signed out, in one prepared query: the check every authenticated request
// makes, so it reads nothing it does not need (never the password hash) and
// caches nothing (a sign-out or a disabled user counts at once everywhere).
// An unknown user is ErrNotFound.
func (s *Sessions) Holder(ctx context.Context, userID uint, sid string) (*User, bool, error) {
	stmt, err := s.holder.get(ctx, s.db, readPool, `SELECT id, email, name, role, disabled, token_version, last_sign_in_at,
	created_at, updated_at, EXISTS (SELECT 1 FROM revoked_sessions WHERE sid = `+param(s.db, 1)+`)
	FROM users WHERE id = `+param(s.db, 2))
	if err != nil {
		return nil, false, translate("check session", err)
	}
	rows, err := stmt.QueryContext(queryContext(ctx, s.db), sid, userID)
	if err != nil {
		return nil, false, translate("check session", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, false, translate("check session", err)
		}
		return nil, false, fmt.Errorf("check session: %w", ErrNotFound)
	}
	var u User
	var last sql.NullTime
	var revoked bool
	if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Disabled, &u.TokenVersion, &last,
		&u.CreatedAt, &u.UpdatedAt, &revoked); err != nil {
		return nil, false, translate("check session", err)
	}
	u.LastSignInAt = nullTime(last)
	return &u, revoked, nil
}

// RevocationGrace is how long a revocation is kept past its session's
// expiry. Token checks allow a little clock leeway after exp, so a
// revocation purged at exp would let a signed-out token work again for
// that leeway; the grace must exceed any leeway the checks allow.
const RevocationGrace = 5 * time.Minute

// Purge deletes revocations whose sessions expired more than
// RevocationGrace before now.
func (s *Sessions) Purge(ctx context.Context, now time.Time) error {
	err := s.db.WithContext(ctx).Where("expires_at < ?", now.UTC().Add(-RevocationGrace)).Delete(&RevokedSession{}).Error
	return translate("purge revoked sessions", err)
}
