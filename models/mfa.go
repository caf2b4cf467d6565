package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// RecoveryCode is one single-use recovery code of a user, kept only as the
// SHA-256 digest of its normalised text: the codes carry 80 random bits, so
// a digest is as good as a slow hash and lets a sign-in look one up.
type RecoveryCode struct {
	ID        uint   `gorm:"primaryKey"`
	UserID    uint   `gorm:"not null;uniqueIndex:idx_recovery_codes_code,priority:1"`
	CodeHash  string `gorm:"size:64;not null;uniqueIndex:idx_recovery_codes_code,priority:2"`
	UsedAt    *time.Time
	CreatedAt time.Time `gorm:"not null"`
}

// SetTOTPPending stores a new sealed secret for a user who has no confirmed
// one yet (ErrConflict when they have: disable first).
func (s *Users) SetTOTPPending(ctx context.Context, id uint, sealed string) error {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND totp_enabled_at IS NULL", id).
		Updates(map[string]any{"totp_secret": sealed, "totp_last_step": 0})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrConflict
	}
	return translate("set pending totp", res.Error)
}

// EnableTOTP confirms the pending secret sealed of user id, with step the
// time step of the code that confirmed it (never accepted again). It is
// ErrConflict when the pending secret changed or was confirmed meanwhile.
func (s *Users) EnableTOTP(ctx context.Context, id uint, sealed string, step int64, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&User{}).
		Where("id = ? AND totp_enabled_at IS NULL AND totp_secret = ?", id, sealed).
		Updates(map[string]any{"totp_enabled_at": at.UTC(), "totp_last_step": step})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrConflict
	}
	return translate("enable totp", res.Error)
}

// UseTOTPStep records that a code of step was accepted for user id, and
// reports false when a code of that step or a later one was accepted
// already. One conditional UPDATE: two requests with the same code cannot
// both pass, on either database.
func (s *Users) UseTOTPStep(ctx context.Context, id uint, step int64) (bool, error) {
	res := s.db.WithContext(ctx).Model(&User{}).
		Where("id = ? AND totp_enabled_at IS NOT NULL AND totp_last_step < ?", id, step).
		Update("totp_last_step", step)
	return res.RowsAffected == 1, translate("use totp step", res.Error)
}

// ClearTOTP removes the secret of user id, pending or confirmed, and every
// recovery code, and ends the user's sessions when endSessions is set.
func (s *Users) ClearTOTP(ctx context.Context, id uint, endSessions bool) error {
	fields := map[string]any{"totp_secret": "", "totp_enabled_at": nil, "totp_last_step": 0}
	if endSessions {
		fields["token_version"] = gorm.Expr("token_version + 1")
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := oneRow(tx.Model(&User{}).Where("id = ?", id).Updates(fields)); err != nil {
			return err
		}
		return tx.Where("user_id = ?", id).Delete(&RecoveryCode{}).Error
	})
	return translate("clear totp", err)
}

// RecoveryCodes is the store of recovery codes.
type RecoveryCodes struct{ db *gorm.DB }

// NewRecoveryCodes returns the recovery code store backed by db.
func NewRecoveryCodes(db *gorm.DB) *RecoveryCodes { return &RecoveryCodes{db: db} }

// Replace drops every code of user id and stores hashes as the new ones.
func (s *RecoveryCodes) Replace(ctx context.Context, id uint, hashes []string, now time.Time) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", id).Delete(&RecoveryCode{}).Error; err != nil {
			return err
		}
		rows := make([]RecoveryCode, len(hashes))
		for i, h := range hashes {
			rows[i] = RecoveryCode{UserID: id, CodeHash: h, CreatedAt: now.UTC()}
		}
		return tx.Create(&rows).Error
	})
	return translate("replace recovery codes", err)
}

// Use marks the unused code with digest hash of user id as used, and
// reports false when there is none (unknown, or used already).
func (s *RecoveryCodes) Use(ctx context.Context, id uint, hash string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&RecoveryCode{}).
		Where("user_id = ? AND code_hash = ? AND used_at IS NULL", id, hash).Update("used_at", now.UTC())
	return res.RowsAffected == 1, translate("use recovery code", res.Error)
}

// Remaining counts the unused codes of user id.
func (s *RecoveryCodes) Remaining(ctx context.Context, id uint) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", id).Count(&n).Error
	return n, translate("count recovery codes", err)
}
