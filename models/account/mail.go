package account

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/planner/planner/models"
)

// Caps on the mails one address is sent, whoever asks: a mailbox cannot be
// flooded through the forgot-password or resend forms, even from many IPs.
const (
	MailCap       = 3 // mails of one kind per address per MailCapWindow
	MailCapWindow = time.Hour
)

// ErrTooManyMails is a resend refused by the per-address cap.
var ErrTooManyMails = &ThrottledError{Wait: MailCapWindow}

// resetBinding is what a reset token is bound to: the password hash and
// token version it was made for.
func resetBinding(u *models.User) string {
	return u.PasswordHash + "|" + strconv.Itoa(u.TokenVersion)
}

// RequestPasswordReset queues a reset mail for the account with email
// (typed by anyone from ip), unless there is none, it is disabled, or the
// address got MailCap reset mails within the hour. The caller learns
// nothing of which: it gets nil whenever the request was taken, and the
// work done is the same either way (one lookup, one count, one mail
// composed, one transaction), so the time says nothing either.
func (s *Service) RequestPasswordReset(ctx context.Context, email, ip string) error {
	email = models.NormalizeEmail(email)
	u, err := s.users.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	known := err == nil && !u.Disabled
	target := &models.User{Email: email, Name: "", PasswordHash: "$2a$12$dummy", TokenVersion: 1}
	if known {
		target = u
	}
	n, err := s.outbox.CountSince(ctx, email, models.MailPasswordReset, s.clock.Now().Add(-MailCapWindow))
	if err != nil {
		return err
	}
	var mail models.OutboxMail
	if s.mailer != nil && len(s.linkKeys) > 0 {
		tok := ResetToken(s.linkKeys, target, s.clock.Now())
		if mail, err = s.mailer.PasswordReset(target, tok); err != nil {
			return err
		}
	}
	send := known && n < MailCap && mail.ToAddr != ""
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		e := models.AuditEntry{Action: models.ActionPasswordResetReq, IP: ip, At: s.clock.Now(), Outcome: models.OutcomeFailure}
		if known {
			// The typed email is stored only when it is an account's.
			e.ActorEmail, e.ActorID, e.Target = u.Email, strconv.FormatUint(uint64(u.ID), 10), u.Email
		}
		if send {
			e.Outcome = models.OutcomeSuccess
			if err := tx.Outbox.Enqueue(ctx, mail); err != nil {
				return err
			}
		}
		return tx.Audit.Record(ctx, e)
	})
	if err == nil && send {
		s.wake()
	}
	return err
}

// ResetPassword sets a new password through the token of a reset mail and
// ends every session of the account. A bad, expired, used or outdated
// token is ErrBadLink; a new password that breaks the policy or equals the
// current one is FieldErrors (new_password). Following the link proves
// the address too, so it counts as verified.
func (s *Service) ResetPassword(ctx context.Context, token, password, ip string) (*models.User, error) {
	p, err := parseLink(token, purposeReset, s.clock.Now())
	if err != nil {
		return nil, err
	}
	u, err := s.users.ByID(ctx, p.userID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || !p.check(s.linkKeys, resetBinding(u)) {
		return nil, ErrBadLink
	}
	if msg := s.policy.Check(u.Email, password); msg != "" {
		return nil, FieldErrors{"new_password": msg}
	}
	ticket, err := s.hasher.Enter()
	if err != nil {
		return nil, err
	}
	defer ticket.Leave()
	same, _, err := ticket.Compare(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if same {
		return nil, FieldErrors{"new_password": "The new password must differ from the current one"}
	}
	hash, err := ticket.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		ver, err := tx.Users.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, hash)
		if errors.Is(err, models.ErrNotFound) {
			return ErrBadLink // the password changed meanwhile: the token died with it
		}
		if err != nil {
			return err
		}
		u.TokenVersion, u.PasswordHash = ver, hash
		if _, err := tx.Users.MarkEmailVerified(ctx, u.ID, u.Email, s.clock.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionPasswordReset, u.Email)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// VerifyEmail marks the address of the verification token's account as
// verified. A bad or expired token, or one for an address the account no
// longer has, is ErrBadLink; an address verified already is fine.
func (s *Service) VerifyEmail(ctx context.Context, token, ip string) (*models.User, error) {
	p, err := parseLink(token, purposeVerify, s.clock.Now())
	if err != nil {
		return nil, err
	}
	u, err := s.users.ByID(ctx, p.userID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrBadLink
	}
	if err != nil {
		return nil, err
	}
	if !p.check(s.linkKeys, u.Email) {
		return nil, ErrBadLink
	}
	if u.EmailVerifiedAt != nil {
		return u, nil
	}
	now := s.clock.Now()
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		done, err := tx.Users.MarkEmailVerified(ctx, u.ID, u.Email, now)
		if err != nil || !done {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionEmailVerified, u.Email)
	})
	if err != nil {
		return nil, err
	}
	u.EmailVerifiedAt = &now
	return u, nil
}

// ResendVerification queues another verification mail for u, at most
// MailCap an hour (ErrTooManyMails beyond). A verified address gets none.
func (s *Service) ResendVerification(ctx context.Context, u *models.User) error {
	if u.EmailVerifiedAt != nil {
		return nil
	}
	n, err := s.outbox.CountSince(ctx, u.Email, models.MailVerifyEmail, s.clock.Now().Add(-MailCapWindow))
	if err != nil {
		return err
	}
	if n >= MailCap {
		return ErrTooManyMails
	}
	if err := models.InTx(ctx, s.db, func(tx models.Tx) error { return s.queueVerification(ctx, tx, u) }); err != nil {
		return err
	}
	s.wake()
	return nil
}

// queueVerification queues the verification mail of u in tx.
func (s *Service) queueVerification(ctx context.Context, tx models.Tx, u *models.User) error {
	if s.mailer == nil || len(s.linkKeys) == 0 {
		return nil
	}
	tok := VerifyToken(s.linkKeys, u, s.clock.Now())
	m, err := s.mailer.VerifyEmail(u, tok)
	if err != nil {
		return err
	}
	return tx.Outbox.Enqueue(ctx, m)
}

// Sessions returns u's live sessions and API tokens.
func (s *Service) Sessions(ctx context.Context, u *models.User) ([]models.Session, error) {
	return s.sessions.Live(ctx, u.ID, s.clock.Now())
}

// SessionsOf returns the live sessions of several users (the admin's list).
func (s *Service) SessionsOf(ctx context.Context, ids []uint) ([]models.Session, error) {
	return s.sessions.LiveOf(ctx, ids, s.clock.Now())
}

// LockedUntil reports which of emails are throttled now, and until when
// (the admin's users page offers Unlock only for those).
func (s *Service) LockedUntil(ctx context.Context, emails []string) (map[string]time.Time, error) {
	return s.throttles.LockedUntil(ctx, emails, s.clock.Now())
}

// RevokeSession ends u's session with that id (models.ErrNotFound when u
// has none such: another user's id is not found either).
func (s *Service) RevokeSession(ctx context.Context, u *models.User, id uint, ip string) error {
	return s.change(ctx, By(u, ip), models.ActionSessionRevoked, u, func(tx models.Tx) error {
		r, err := tx.Sessions.ByID(ctx, u.ID, id)
		if err != nil {
			return err
		}
		return tx.Sessions.End(ctx, r)
	})
}
