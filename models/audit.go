package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Audit actions, as named in the spec.
const (
	ActionSignup            = "signup"
	ActionSignin            = "signin"
	ActionSigninFailed      = "signin_failed"
	ActionSigninThrottled   = "signin_throttled"
	ActionSignout           = "signout"
	ActionSignoutAll        = "signout_all"
	ActionPasswordChanged   = "password_changed"
	ActionUserPromoted      = "user_promoted"
	ActionUserDemoted       = "user_demoted"
	ActionUserDisabled      = "user_disabled"
	ActionUserEnabled       = "user_enabled"
	ActionSessionsRevoked   = "sessions_revoked"
	ActionUserUnlocked      = "user_unlocked"
	ActionUserDeleted       = "user_deleted"
	ActionEventDeletedAdmin = "event_deleted_by_admin"
	ActionRSVP              = "rsvp"
	ActionRSVPCancelled     = "rsvp_cancelled"
	ActionPasswordResetReq  = "password_reset_requested"
	ActionPasswordReset     = "password_reset"
	ActionEmailVerified     = "email_verified"
	ActionSessionRevoked    = "session_revoked"
	ActionMFAEnabled        = "mfa_enabled"
	ActionMFADisabled       = "mfa_disabled"
	ActionMFAFailed         = "mfa_failed"
	ActionRecoveryCodeUsed  = "recovery_code_used"
	ActionPasskeyAdded      = "passkey_added"
	ActionPasskeyRemoved    = "passkey_removed"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AuditRetention is how long audit entries are kept.
const AuditRetention = 90 * 24 * time.Hour

// AuditEntry is one line of the append-only audit log. Actor and target are
// kept as text, not foreign keys, so deleting a user keeps their history.
type AuditEntry struct {
	ID         uint      `gorm:"primaryKey"`
	At         time.Time `gorm:"not null;index"`
	ActorEmail string    `gorm:"size:254;not null;default:'';index"`
	ActorID    string    `gorm:"size:20;not null;default:''"`
	Action     string    `gorm:"size:40;not null;index"`
	Target     string    `gorm:"size:300;not null;default:''"`
	IP         string    `gorm:"size:64;not null;default:''"`
	Outcome    string    `gorm:"size:20;not null;default:''"`
}

// Audit is the store of audit entries.
type Audit struct {
	db *gorm.DB
}

// NewAudit returns the audit store backed by db.
func NewAudit(db *gorm.DB) *Audit {
	return &Audit{db: db}
}

// Record appends an entry; a zero At becomes now.
func (s *Audit) Record(ctx context.Context, e AuditEntry) error {
	e.ID = 0
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC()
	return translate("record audit entry", s.db.WithContext(ctx).Create(&e).Error)
}

// AuditFilter narrows List.
type AuditFilter struct {
	Action string // exact action name, or "" for all
	Actor  string // actor email, or "" for all
	Before uint   // only entries older than this id (the next page), or 0
	Limit  int
}

// List returns entries newest first.
func (s *Audit) List(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if !storableText(f.Action) || !storableText(f.Actor) {
		return []AuditEntry{}, nil // matches nothing stored (and PostgreSQL would fail)
	}
	q := s.db.WithContext(ctx).Order("id DESC")
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Actor != "" {
		q = q.Where("actor_email = ?", NormalizeEmail(f.Actor))
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []AuditEntry
	err := q.Limit(f.Limit).Find(&out).Error
	return out, translate("list audit entries", err)
}

// Purge deletes entries older than the retention period.
func (s *Audit) Purge(ctx context.Context, now time.Time) error {
	err := s.db.WithContext(ctx).Where("at < ?", now.Add(-AuditRetention).UTC()).Delete(&AuditEntry{}).Error
	return translate("purge audit entries", err)
}
