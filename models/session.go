package models

import (
	"context"
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
	db *gorm.DB
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

// IsRevoked reports whether sid was signed out.
func (s *Sessions) IsRevoked(ctx context.Context, sid string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&RevokedSession{}).Where("sid = ?", sid).Limit(1).Count(&n).Error
	return n > 0, translate("check revoked session", err)
}

// Purge deletes revocations whose sessions have expired by now.
func (s *Sessions) Purge(ctx context.Context, now time.Time) error {
	err := s.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&RevokedSession{}).Error
	return translate("purge revoked sessions", err)
}
