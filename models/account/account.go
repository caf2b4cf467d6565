// Package account is Planner's accounts service: sign-up, sign-in with its
// throttle, password changes, sign-out and the admin's and the CLI's changes
// to accounts, each with its audit entry. Pages, the API and the CLI all go
// through it, so the rules live in one place and the web layer only
// translates HTTP.
package account

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/planner/planner/models"
	"gorm.io/gorm"
)

// LockDuration is how long a throttled (email, client) pair stays locked.
const LockDuration = 15 * time.Minute

// ErrBadCredentials is every failed password check: unknown email, disabled
// account and wrong password alike, so the answer says nothing about which
// emails exist.
var ErrBadCredentials = errors.New("incorrect email or password")

// ThrottledError is a refusal because the (email, client) pair is locked.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string { return "sign-in throttled" }

// RetryAfter is the Retry-After header value, in whole seconds (at least 1).
func (e *ThrottledError) RetryAfter() string {
	return strconv.Itoa(max(1, int((e.Wait+time.Second-1)/time.Second)))
}

// FieldErrors are the problems of a request, one message per field name
// (email, name, password, current_password, new_password).
type FieldErrors map[string]string

func (f FieldErrors) Error() string { return "invalid input" }

// Actor is who makes a change, as the audit log names them.
type Actor struct {
	Email string
	ID    string
	IP    string
}

// CLI is the actor of the planner user commands.
var CLI = Actor{Email: "cli"}

// By is u acting from ip.
func By(u *models.User, ip string) Actor {
	return Actor{Email: u.Email, ID: strconv.FormatUint(uint64(u.ID), 10), IP: ip}
}

// Config is what the service needs to know.
type Config struct {
	BcryptCost int
	HashSlots  int // bcrypt hashes at once (at least 1)
	HashQueue  int // hashes waiting beyond the slots
	LoginLimit int // consecutive failures before a pair is throttled
	// ThrottleKey keys the throttles' email digests (models.ThrottleKey of
	// the signing key): the server and the CLI must use the same.
	ThrottleKey []byte
	// LinkKeys sign the reset and verification links (LinkKeys of the
	// signing keys); without them, no link can be made or checked.
	LinkKeys [][]byte
	// Mailer composes the mails; nil sends none (the CLI).
	Mailer Mailer
	// MFAKeys seal the TOTP secrets (MFAKeys of the signing keys): the
	// first seals, all open.
	MFAKeys [][]byte
	// Queued, when set, is called after a mail was queued and committed
	// (it wakes the mail worker).
	Queued func()
	Clock  models.Clock
}

// Mailer composes the mails the service queues, with a link carrying
// token: the web layer renders them (from templ, with the site's base URL),
// the service queues them in the transaction of their cause.
type Mailer interface {
	PasswordReset(u *models.User, token string) (models.OutboxMail, error)
	VerifyEmail(u *models.User, token string) (models.OutboxMail, error)
}

// Service carries out every change to accounts.
type Service struct {
	db        *gorm.DB
	users     *models.Users
	throttles *models.Throttles
	sessions  *models.Sessions
	audit     *models.Audit
	hasher    *models.Hasher
	policy    *models.PasswordPolicy
	outbox    *models.Outbox
	limit     int
	key       []byte   // throttle digests
	linkKeys  [][]byte // reset and verification links
	mfaKeys   [][]byte // TOTP secrets
	mailer    Mailer
	queued    func()
	clock     models.Clock
}

// New returns the service on db. It indexes the common-password list and
// reads the highest stored hash cost, so build it once.
func New(db *gorm.DB, cfg Config) (*Service, error) {
	hasher, err := models.NewHasher(cfg.BcryptCost, cfg.HashSlots, cfg.HashQueue)
	if err != nil {
		return nil, err
	}
	// Unknown emails must cost what the stored hashes cost, even when the
	// server now runs at a lower cost than they were made with.
	users := models.NewUsers(db)
	topCost, err := users.HighestHashCost(context.Background())
	if err != nil {
		return nil, err
	}
	hasher.RaiseFloor(topCost)
	return &Service{
		db:        db,
		users:     users,
		throttles: models.NewThrottles(db, cfg.ThrottleKey),
		sessions:  models.NewSessions(db),
		audit:     models.NewAudit(db),
		hasher:    hasher,
		policy:    models.NewPasswordPolicy(),
		outbox:    models.NewOutbox(db),
		limit:     cfg.LoginLimit,
		key:       cfg.ThrottleKey,
		linkKeys:  cfg.LinkKeys,
		mfaKeys:   cfg.MFAKeys,
		mailer:    cfg.Mailer,
		queued:    cfg.Queued,
		clock:     cfg.Clock,
	}, nil
}

// HashWork is the bcrypt comparison work done so far, in cost-4 units
// (models.Hasher.Work): what tests compare instead of timings.
func (s *Service) HashWork() int64 { return s.hasher.Work() }

// CheckPassword returns a message when password is not acceptable for the
// account email, or "".
func (s *Service) CheckPassword(email, password string) string {
	return s.policy.Check(email, password)
}

// ByEmail returns the account with that email, or models.ErrNotFound.
func (s *Service) ByEmail(ctx context.Context, email string) (*models.User, error) {
	return s.users.ByEmail(ctx, email)
}

// ByID returns the account with that id, or models.ErrNotFound.
func (s *Service) ByID(ctx context.Context, id uint) (*models.User, error) {
	return s.users.ByID(ctx, id)
}

// SignUp is a request to open an account.
type SignUp struct {
	Email    string
	Name     string // optional; empty becomes models.DefaultName
	Password string
	Admin    bool // the CLI's --admin: audited as a promotion too
}

// SignUp opens an account. The request is checked first (FieldErrors), then
// that the email is free (models.ErrDuplicate, also when another sign-up
// wins a race), and only then is the password hashed (models.ErrBusy when
// hashing is saturated). by is who opens it; its zero Email means the new
// account itself, signing up from by.IP.
func (s *Service) SignUp(ctx context.Context, in SignUp, by Actor) (*models.User, error) {
	in.Email, in.Name = models.NormalizeEmail(in.Email), strings.TrimSpace(in.Name)
	errs := FieldErrors{}
	if msg := models.CheckEmail(in.Email); msg != "" {
		errs["email"] = msg
	}
	if msg := models.CheckName(in.Name, true); msg != "" {
		errs["name"] = msg
	}
	if msg := s.policy.Check(in.Email, in.Password); msg != "" {
		errs["password"] = msg
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if _, err := s.users.ByEmail(ctx, in.Email); err == nil {
		return nil, models.ErrDuplicate
	} else if !errors.Is(err, models.ErrNotFound) {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	role := models.RoleUser
	if in.Admin {
		role = models.RoleAdmin
	}
	var u *models.User
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		var err error
		if u, err = tx.Users.Create(ctx, in.Email, in.Name, hash, role); err != nil {
			return err
		}
		actor := by
		if actor.Email == "" {
			actor = By(u, by.IP)
		}
		if err := s.record(ctx, tx, actor, models.ActionSignup, u.Email); err != nil {
			return err
		}
		if by.Email == "" { // a sign-up of one's own: prove the address
			if err := s.queueVerification(ctx, tx, u); err != nil {
				return err
			}
		}
		if in.Admin {
			return s.record(ctx, tx, actor, models.ActionUserPromoted, u.Email)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return u, nil
}

// wake tells the mail worker that a mail was queued.
func (s *Service) wake() {
	if s.queued != nil {
		s.queued()
	}
}

// SignIn checks email and password from ip and returns the account. It
// answers ErrBadCredentials, a *ThrottledError or models.ErrBusy when it
// refuses.
//
// For a user with a second factor the password is only the first step: it
// answers the user and ErrMFARequired, resetting nothing (the attempt stays
// counted toward the throttle until SecondFactor completes the sign-in, so
// knowing the password buys no extra guesses at codes).
func (s *Service) SignIn(ctx context.Context, email, password, ip string) (*models.User, error) {
	return s.check(ctx, email, password, ip, true, func(tx models.Tx, u *models.User) error {
		if err := tx.Users.RecordSignIn(ctx, u.ID, s.clock.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionSignin, u.Email)
	})
}

// PasswordChange is the password form of a signed-in user.
type PasswordChange struct {
	Current string
	New     string
}

// ChangePassword sets u's password after checking the current one (which
// counts toward the sign-in throttle like a sign-in), and ends every
// session of u by bumping the token version, which it returns so the
// caller's own session can be re-issued. A wrong current password is
// FieldErrors too.
func (s *Service) ChangePassword(ctx context.Context, u *models.User, in PasswordChange, ip string) (int, error) {
	errs := FieldErrors{}
	if in.Current == "" {
		errs["current_password"] = "Enter your current password"
	}
	if msg := s.policy.Check(u.Email, in.New); msg != "" {
		errs["new_password"] = msg
	} else if in.New == in.Current {
		// Refused before any bcrypt runs: a loop of "change to the same
		// password" would otherwise be free CPU for whoever runs it.
		errs["new_password"] = "The new password must differ from the current one"
	}
	if len(errs) > 0 {
		return 0, errs
	}
	_, err := s.check(ctx, u.Email, in.Current, ip, false, nil)
	if errors.Is(err, ErrBadCredentials) {
		return 0, FieldErrors{"current_password": "Current password is incorrect"}
	}
	if err != nil {
		return 0, err
	}
	return s.setPassword(ctx, u, in.New, By(u, ip))
}

// SetPassword sets u's password without asking for the current one (the
// CLI) and ends every session of u.
func (s *Service) SetPassword(ctx context.Context, u *models.User, password string, by Actor) error {
	if msg := s.policy.Check(u.Email, password); msg != "" {
		return FieldErrors{"password": msg}
	}
	_, err := s.setPassword(ctx, u, password, by)
	return err
}

func (s *Service) setPassword(ctx context.Context, u *models.User, password string, by Actor) (int, error) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return 0, err
	}
	var ver int
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		if ver, err = tx.Users.SetPasswordHash(ctx, u.ID, hash, true); err != nil {
			return err
		}
		return s.record(ctx, tx, by, models.ActionPasswordChanged, u.Email)
	})
	return ver, err
}

// Session names the session a request came with: its id, and until when a
// token of it could still be used (so its revocation may be purged then).
type Session struct {
	SID   string
	Until time.Time
}

// SignOut ends session sess of u.
func (s *Service) SignOut(ctx context.Context, u *models.User, sess Session, ip string) error {
	return s.endSessions(ctx, u, sess, false, ip)
}

// SignOutAll ends every session and token of u, sess included, at u's own
// request.
func (s *Service) SignOutAll(ctx context.Context, u *models.User, sess Session, ip string) error {
	return s.endSessions(ctx, u, sess, true, ip)
}

func (s *Service) endSessions(ctx context.Context, u *models.User, sess Session, all bool, ip string) error {
	action := models.ActionSignout
	if all {
		action = models.ActionSignoutAll
	}
	err := s.change(ctx, By(u, ip), action, u, func(tx models.Tx) error {
		if all {
			if _, err := tx.Users.BumpTokenVersion(ctx, u.ID); err != nil {
				return err
			}
		}
		if err := tx.Sessions.Revoke(ctx, sess.SID, sess.Until); err != nil {
			return err
		}
		return tx.Sessions.Forget(ctx, sess.SID)
	})
	if err != nil {
		return err
	}
	return s.sessions.Purge(ctx, s.clock.Now())
}

// SetRole makes u an admin or a plain user; either way u's sessions end so
// the new role applies at once. The last enabled admin cannot be demoted
// (models.ErrLastAdmin).
func (s *Service) SetRole(ctx context.Context, u *models.User, role string, by Actor) error {
	action := models.ActionUserPromoted
	if role != models.RoleAdmin {
		action = models.ActionUserDemoted
	}
	return s.change(ctx, by, action, u, func(tx models.Tx) error { return tx.Users.SetRole(ctx, u.ID, role) })
}

// SetDisabled disables or enables u, ending u's sessions. The last enabled
// admin cannot be disabled (models.ErrLastAdmin).
func (s *Service) SetDisabled(ctx context.Context, u *models.User, disabled bool, by Actor) error {
	action := models.ActionUserEnabled
	if disabled {
		action = models.ActionUserDisabled
	}
	return s.change(ctx, by, action, u, func(tx models.Tx) error { return tx.Users.SetDisabled(ctx, u.ID, disabled) })
}

// RevokeSessions ends every session and token of u.
func (s *Service) RevokeSessions(ctx context.Context, u *models.User, by Actor) error {
	return s.change(ctx, by, models.ActionSessionsRevoked, u, func(tx models.Tx) error {
		_, err := tx.Users.BumpTokenVersion(ctx, u.ID)
		return err
	})
}

// Unlock clears every sign-in throttle of email and returns how many pairs
// were cleared.
func (s *Service) Unlock(ctx context.Context, email string, by Actor) (int64, error) {
	var n int64
	err := models.InTx(ctx, s.db, func(tx models.Tx) error {
		var err error
		if n, err = tx.Throttles(s.key).Unlock(ctx, email); err != nil {
			return err
		}
		return s.record(ctx, tx, by, models.ActionUserUnlocked, models.NormalizeEmail(email))
	})
	return n, err
}

// Delete removes u and every event u created. The last enabled admin
// cannot be deleted (models.ErrLastAdmin).
func (s *Service) Delete(ctx context.Context, u *models.User, by Actor) error {
	return s.change(ctx, by, models.ActionUserDeleted, u, func(tx models.Tx) error { return tx.Users.Delete(ctx, u.ID) })
}

// change runs do and records action on u by by in one transaction.
func (s *Service) change(ctx context.Context, by Actor, action string, u *models.User, do func(tx models.Tx) error) error {
	return models.InTx(ctx, s.db, func(tx models.Tx) error {
		if err := do(tx); err != nil {
			return err
		}
		return s.record(ctx, tx, by, action, u.Email)
	})
}

// check is the password check of sign-in and password change: bounded
// hashing, an attempt reserved before bcrypt runs (so parallel guesses
// cannot slip past the limit), the same work for unknown emails, and an
// audit entry for every refusal. On success, done runs in the transaction
// that also resets the throttle and upgrades an outdated hash.
//
// With firstStep set, a user with a second factor gets ErrMFARequired: the
// throttle is not reset and done does not run.
func (s *Service) check(ctx context.Context, email, password, ip string, firstStep bool, done func(tx models.Tx, u *models.User) error) (*models.User, error) {
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
	client := ClientKey(ip)
	res, err := s.throttles.Reserve(ctx, email, client, s.limit, LockDuration, s.clock.Now())
	if err != nil {
		return nil, err
	}
	if !res.Allowed {
		if err := s.refused(ctx, u, models.ActionSigninThrottled, ip); err != nil {
			return nil, err
		}
		return nil, &ThrottledError{Wait: res.RetryAfter}
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
		if err := s.refused(ctx, u, models.ActionSigninFailed, ip); err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	}
	newHash := ""
	if rehash {
		// The configured cost changed since this hash was made: upgrade it
		// now, while we know the password. The version is kept: nothing
		// about the user's sessions changed.
		if h, err := ticket.Hash(ctx, password); err == nil {
			newHash = h
		}
	}
	partial := firstStep && u.HasMFA()
	err = models.InTx(ctx, s.db, func(tx models.Tx) error {
		if !partial {
			if err := tx.Throttles(s.key).Reset(ctx, email, client); err != nil {
				return err
			}
		}
		if newHash != "" {
			if _, err := tx.Users.SetPasswordHash(ctx, u.ID, newHash, false); err != nil {
				return err
			}
		}
		if done != nil && !partial {
			return done(tx, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if partial {
		return u, ErrMFARequired
	}
	return u, nil
}

// refused records a refused sign-in of u (nil for an unknown email, whose
// typed text is never stored: people paste passwords into that field). The
// throttle count it follows is already committed (it must be, before
// bcrypt runs); if the entry cannot be written the caller answers with
// that error rather than the refusal, so every refusal anyone was told of
// is in the log.
func (s *Service) refused(ctx context.Context, u *models.User, action, ip string) error {
	e := models.AuditEntry{Action: action, Outcome: models.OutcomeFailure, IP: ip, At: s.clock.Now()}
	if u != nil {
		e.ActorEmail, e.ActorID, e.Target = u.Email, strconv.FormatUint(uint64(u.ID), 10), u.Email
	}
	return s.audit.Record(ctx, e)
}

// record writes a successful action on target by by, in tx.
func (s *Service) record(ctx context.Context, tx models.Tx, by Actor, action, target string) error {
	return tx.Audit.Record(ctx, models.AuditEntry{ActorEmail: by.Email, ActorID: by.ID, Action: action,
		Target: target, IP: by.IP, Outcome: models.OutcomeSuccess, At: s.clock.Now()})
}

// ClientKey is the identity rate limits and throttles count by: the IPv4
// address, or the /64 of an IPv6 one (one host usually owns the whole /64).
func ClientKey(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return ip
	}
	if v4 := parsed.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: parsed.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
