package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
)

// Messages the spec fixes word for word.
const (
	msgBadCredentials = "Incorrect email or password"
	msgTooMany        = "Too many failed sign-ins. Try again later."
)

// errBadCredentials is every failed password check: unknown email, disabled
// account and wrong password alike.
var errBadCredentials = errors.New("incorrect email or password")

// throttledError is a refusal because the (email, client) pair is locked.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string { return "sign-in throttled" }

// RetryAfter is the Retry-After header value, in whole seconds (at least 1).
func (e *throttledError) RetryAfter() string {
	return strconv.Itoa(max(1, int((e.retryAfter+time.Second-1)/time.Second)))
}

// SignIn checks passwords for the page and API sign-ins and the password
// change form, with one set of rules: bounded hashing, a throttle reserved
// before bcrypt runs, equal work for unknown emails, and an audit trail.
type SignIn struct {
	users     *models.Users
	throttles *models.Throttles
	audit     *models.Audit
	hasher    *models.Hasher
	limit     int
	now       func() time.Time
}

func (s *SignIn) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Attempt signs in email with password from ip. It returns the user, or
// errBadCredentials, a *throttledError, or models.ErrBusy.
func (s *SignIn) Attempt(ctx context.Context, email, password, ip string) (*models.User, error) {
	u, err := s.check(ctx, email, password, ip)
	if err != nil {
		return nil, err
	}
	if err := s.users.RecordSignIn(ctx, u.ID, s.clock()); err != nil {
		return nil, err
	}
	s.record(ctx, u, models.ActionSignin, models.OutcomeSuccess, ip)
	return u, nil
}

// Confirm re-checks the password of a signed-in user (before a password
// change). Failures count toward the same throttle as sign-ins.
func (s *SignIn) Confirm(ctx context.Context, u *models.User, password, ip string) error {
	_, err := s.check(ctx, u.Email, password, ip)
	return err
}

func (s *SignIn) check(ctx context.Context, email, password, ip string) (*models.User, error) {
	email = models.NormalizeEmail(email)
	ticket, err := s.hasher.Enter()
	if err != nil {
		return nil, err
	}
	defer ticket.Leave()

	u, err := s.users.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		u = nil // unknown email: still counted, still hashed
	}
	client := clientKey(ip)
	res, err := s.throttles.Reserve(ctx, email, client, s.limit, LockDuration, s.clock())
	if err != nil {
		return nil, err
	}
	if !res.Allowed {
		s.record(ctx, u, models.ActionSigninThrottled, models.OutcomeFailure, ip)
		return nil, &throttledError{retryAfter: res.RetryAfter}
	}
	hash := ""
	if u != nil && !u.Disabled {
		hash = u.PasswordHash
	}
	ok, rehash, err := ticket.Compare(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.record(ctx, u, models.ActionSigninFailed, models.OutcomeFailure, ip)
		return nil, errBadCredentials
	}
	if err := s.throttles.Reset(ctx, email, client); err != nil {
		return nil, err
	}
	if rehash {
		// The configured cost changed since this hash was made: upgrade it
		// now, while we know the password. The version is kept: nothing
		// about the user's sessions changed.
		if h, err := ticket.Hash(ctx, password); err == nil {
			if _, err := s.users.SetPasswordHash(ctx, u.ID, h, false); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// record writes an audit entry about u (nil for an unknown email, whose
// typed text is never stored: people paste passwords into that field).
func (s *SignIn) record(ctx context.Context, u *models.User, action, outcome, ip string) {
	e := models.AuditEntry{Action: action, Outcome: outcome, IP: ip, At: s.clock()}
	if u != nil {
		e.ActorEmail, e.ActorID, e.Target = u.Email, strconv.FormatUint(uint64(u.ID), 10), u.Email
	}
	// An audit failure must not turn a sign-in into an error for the user;
	// the store's error is already logged by the database layer.
	_ = s.audit.Record(ctx, e)
}

// signinFailure turns a failed attempt into a status and message for pages,
// setting Retry-After where the spec asks for it. ok is false for errors
// that are not sign-in failures (the caller returns those as they are).
func signinFailure(c echo.Context, err error) (status int, message string, ok bool) {
	var te *throttledError
	switch {
	case errors.Is(err, errBadCredentials):
		return http.StatusUnauthorized, msgBadCredentials, true
	case errors.As(err, &te):
		c.Response().Header().Set("Retry-After", te.RetryAfter())
		return http.StatusTooManyRequests, msgTooMany, true
	case errors.Is(err, models.ErrBusy):
		c.Response().Header().Set("Retry-After", "1")
		return http.StatusServiceUnavailable, "The server is busy. Try again in a moment.", true
	}
	return 0, "", false
}

// auditEntry builds an entry about the signed-in user acting on target.
func auditEntry(actor *models.User, action, target, ip string) models.AuditEntry {
	e := models.AuditEntry{Action: action, Outcome: models.OutcomeSuccess, IP: ip, Target: target}
	if actor != nil {
		e.ActorEmail, e.ActorID = actor.Email, strconv.FormatUint(uint64(actor.ID), 10)
	}
	return e
}
