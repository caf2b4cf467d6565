package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Mail kinds, as the outbox names them (and counts them, to cap how many of
// one kind an address gets).
const (
	MailPasswordReset = "password_reset"
	MailVerifyEmail   = "verify_email"
	MailRSVPGoing     = "rsvp_going"    // an RSVP got a seat
	MailRSVPPromoted  = "rsvp_promoted" // a waiter got a seat
)

// OutboxMail is a mail waiting to be sent, or sent. It is written in the
// transaction of the change that causes it, so a change never happens
// without its mail nor a mail without its change, and the request never
// waits for a mail server. Once sent, the bodies are blanked: they may
// hold a link that is a credential for a while.
type OutboxMail struct {
	ID            uint       `gorm:"primaryKey"`
	Kind          string     `gorm:"size:30;not null"`
	ToAddr        string     `gorm:"size:254;not null"`
	Subject       string     `gorm:"size:300;not null"`
	TextBody      string     `gorm:"not null"`
	HTMLBody      string     `gorm:"column:html_body;not null"`
	Attempts      int        `gorm:"not null;default:0"`
	NextAttemptAt time.Time  `gorm:"not null"`
	ClaimedUntil  *time.Time // a worker is sending it until then
	SentAt        *time.Time
	FailedAt      *time.Time // given up after MaxMailAttempts
	LastError     string     `gorm:"size:500;not null;default:''"`
	CreatedAt     time.Time  `gorm:"not null"`
	// One optional attachment (the event's .ics in RSVP mails): its file
	// name, content type and content. Blanked with the bodies.
	AttachmentName string `gorm:"size:100;not null;default:''"`
	AttachmentType string `gorm:"size:100;not null;default:''"`
	Attachment     string `gorm:"not null;default:''"`
}

// TableName is the outbox's table.
func (OutboxMail) TableName() string { return "outbox" }

// MaxMailAttempts is how many times a mail is tried before the outbox
// gives up on it (with the default backoff, about ten hours of trying).
const MaxMailAttempts = 15

// Outbox is the store of mail to send.
type Outbox struct {
	db *gorm.DB
}

// NewOutbox returns the outbox backed by db.
func NewOutbox(db *gorm.DB) *Outbox { return &Outbox{db: db} }

// Enqueue adds m, due at once. Call it on the transaction's outbox
// (Tx.Outbox) so the mail commits with its cause.
func (s *Outbox) Enqueue(ctx context.Context, m OutboxMail) error {
	now := s.db.NowFunc()
	m.ID, m.Attempts, m.NextAttemptAt, m.CreatedAt = 0, 0, now, now
	m.ClaimedUntil, m.SentAt, m.FailedAt = nil, nil, nil
	return translate("enqueue mail", s.db.WithContext(ctx).Create(&m).Error)
}

// Claim takes the next due mail for lease: no other worker (of this
// instance or another sharing the database) gets it until it is marked or
// the lease runs out (a worker that died while sending). It counts as an
// attempt. No due mail is ErrNotFound. On PostgreSQL, FOR UPDATE SKIP
// LOCKED lets several instances claim different rows at once; SQLite has
// one writer at a time, so its UPDATE is atomic anyway.
func (s *Outbox) Claim(ctx context.Context, now time.Time, lease time.Duration) (*OutboxMail, error) {
	now = now.UTC()
	lock := ""
	if isPostgres(s.db) {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var got []OutboxMail
	err := s.db.WithContext(ctx).Raw(`UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
	WHERE id = (SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
		AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt_at, id LIMIT 1`+lock+`)
	RETURNING *`, now.Add(lease), now, now).Scan(&got).Error
	if err != nil {
		return nil, translate("claim mail", err)
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("claim mail: %w", ErrNotFound)
	}
	return &got[0], nil
}

// MarkSent records that m went out, and blanks its bodies.
func (s *Outbox) MarkSent(ctx context.Context, id uint, now time.Time) error {
	return s.update(ctx, "mark mail sent", id, map[string]any{"sent_at": now.UTC(), "claimed_until": nil,
		"text_body": "", "html_body": "", "attachment": "", "last_error": ""})
}

// MarkFailed records a failed attempt: the mail is tried again at retry,
// or, after MaxMailAttempts (or when retry is zero: a permanent refusal),
// given up.
func (s *Outbox) MarkFailed(ctx context.Context, m *OutboxMail, why string, now, retry time.Time) error {
	fields := map[string]any{"claimed_until": nil, "last_error": clip(why, 500)}
	if retry.IsZero() || m.Attempts >= MaxMailAttempts {
		fields["failed_at"] = now.UTC()
		fields["text_body"], fields["html_body"], fields["attachment"] = "", "", ""
	} else {
		fields["next_attempt_at"] = retry.UTC()
	}
	return s.update(ctx, "mark mail failed", m.ID, fields)
}

func (s *Outbox) update(ctx context.Context, op string, id uint, fields map[string]any) error {
	return translate(op, oneRow(s.db.WithContext(ctx).Model(&OutboxMail{}).Where("id = ?", id).Updates(fields)))
}

// CountSince is how many mails of kind were queued for to since then:
// what caps the mails one address can be sent.
func (s *Outbox) CountSince(ctx context.Context, to, kind string, since time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OutboxMail{}).Where("to_addr = ? AND kind = ? AND created_at > ?", to, kind, since.UTC()).
		Count(&n).Error
	return n, translate("count mail", err)
}

// MailRetention is how long sent and abandoned mails are kept (their
// bodies are blank by then) so the per-address caps can count them.
const MailRetention = 7 * 24 * time.Hour

// Purge deletes sent and abandoned mails older than MailRetention.
func (s *Outbox) Purge(ctx context.Context, now time.Time) error {
	err := s.db.WithContext(ctx).Where("(sent_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < ?",
		now.Add(-MailRetention).UTC()).Delete(&OutboxMail{}).Error
	return translate("purge mail", err)
}
