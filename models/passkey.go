package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Passkey is one WebAuthn credential of a user. Credential is the JSON of
// the library's credential record (public key, sign count, flags): the
// models know nothing of WebAuthn.
type Passkey struct {
	ID           uint      `gorm:"primaryKey"`
	UserID       uint      `gorm:"not null;index:idx_passkeys_user"`
	Name         string    `gorm:"size:60;not null"`
	CredentialID string    `gorm:"size:1400;not null;uniqueIndex:idx_passkeys_credential_id"`
	Credential   string    `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null"`
	LastUsedAt   *time.Time
}

// Passkeys is the store of passkeys.
type Passkeys struct{ db *gorm.DB }

// NewPasskeys returns the passkey store backed by db.
func NewPasskeys(db *gorm.DB) *Passkeys { return &Passkeys{db: db} }

// Create stores p (ErrDuplicate when its credential is registered already).
func (s *Passkeys) Create(ctx context.Context, p *Passkey) error {
	p.CreatedAt = p.CreatedAt.UTC()
	return translate("create passkey", s.db.WithContext(ctx).Create(p).Error)
}

// Of lists the passkeys of user id, oldest first.
func (s *Passkeys) Of(ctx context.Context, id uint) ([]Passkey, error) {
	var out []Passkey
	err := s.db.WithContext(ctx).Where("user_id = ?", id).Order("id").Find(&out).Error
	return out, translate("list passkeys", err)
}

// ByCredentialID returns the passkey of that credential, or ErrNotFound.
func (s *Passkeys) ByCredentialID(ctx context.Context, credID string) (*Passkey, error) {
	var p Passkey
	err := s.db.WithContext(ctx).Where("credential_id = ?", credID).First(&p).Error
	if err != nil {
		return nil, translate("find passkey", err)
	}
	return &p, nil
}

// Delete removes passkey id of user userID; another user's is ErrNotFound.
func (s *Passkeys) Delete(ctx context.Context, userID, id uint) error {
	return translate("delete passkey", oneRow(s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&Passkey{})))
}

// Used records a sign-in with passkey id: its updated credential (the new
// sign count) and the time.
func (s *Passkeys) Used(ctx context.Context, id uint, credential string, at time.Time) error {
	return translate("use passkey", oneRow(s.db.WithContext(ctx).Model(&Passkey{}).Where("id = ?", id).
		Updates(map[string]any{"credential": credential, "last_used_at": at.UTC()})))
}
