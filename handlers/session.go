package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
)

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "planner_session"

// principalKey is where echo-jwt keeps the verified caller in the context.
const principalKey = "planner.principal"

// Principal is a verified caller: the user as loaded for this request, and
// the claims of the token that proved who they are.
type Principal struct {
	User   *models.User
	Claims *Claims
}

// principalOf returns the caller, or nil when nobody is signed in.
func principalOf(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	return p
}

// errInvalidToken marks every reason a token is refused (bad signature,
// times, audience, revoked session, gone or disabled user, old version),
// as opposed to a failure to check it (the database is down), which must
// not sign anyone out.
var errInvalidToken = errors.New("invalid token")

// errTokenRejected is why a well-signed token is still refused.
var errTokenRejected = fmt.Errorf("%w: revoked, or the user is gone, disabled or has a newer token version", errInvalidToken)

// Sessions issues, checks, renews and ends sessions: browser cookies and,
// through Verify, API tokens too, so both get the same revocation checks.
type Sessions struct {
	cfg     Config
	tokens  *Tokens
	revoked *models.Sessions
	log     *slog.Logger
	clock   models.Clock
	// holders shares the session check between concurrent requests of
	// one session; each still gets a check that began after it arrived.
	holders sharedReads[holderKey, holding]
}

// holderKey names one session check: the token's user and session.
type holderKey struct {
	user uint
	sid  string
}

// holding is the answer of a session check.
type holding struct {
	user *models.User
	held models.Held
}

// NewSessions returns the sessions of cfg: cookies and tokens signed by
// tokens, revocations in revoked, renewal failures logged to log.
func NewSessions(cfg Config, tokens *Tokens, revoked *models.Sessions, log *slog.Logger) *Sessions {
	return &Sessions{cfg: cfg, tokens: tokens, revoked: revoked, log: log, clock: cfg.Clock,
		holders: sharedReads[holderKey, holding]{timeout: cfg.RequestTimeout}}
}

// session is the account.Session the principal's token belongs to, with
// the time its revocation may be forgotten: a browser session could be
// renewed until MaxSessionAge after sign-in, an API token lives until it
// expires.
func (p *Principal) session() account.Session {
	if slices.Contains(p.Claims.Audience, AudienceWeb) {
		return account.Session{SID: p.Claims.SID, Until: time.Unix(p.Claims.AuthTime, 0).Add(MaxSessionAge)}
	}
	return account.Session{SID: p.Claims.SID, Until: p.Claims.ExpiresAt.Time}
}

// Seen is where a request came from, for the devices list.
type Seen struct {
	IP        string
	UserAgent string
}

// seenOf is the request's address and browser.
func seenOf(c echo.Context) Seen {
	return Seen{IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
}

// Verify checks raw for audience aud: the token itself, then that its
// session is not revoked, its user exists, is enabled, and still has the
// token's version. At most once a minute per session it also records that
// the session was seen, from where (a failure to write that is logged, not
// a refusal).
func (s *Sessions) Verify(ctx context.Context, aud, raw string, seen Seen) (*Principal, error) {
	claims, err := s.tokens.Parse(aud, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidToken, err)
	}
	id, _ := claims.UserID()
	h, err := s.holders.get(ctx, holderKey{id, claims.SID}, func(ctx context.Context) (holding, error) {
		u, held, err := s.revoked.Holder(ctx, id, claims.SID)
		return holding{u, held}, err
	})
	if errors.Is(err, models.ErrNotFound) {
		return nil, errTokenRejected
	}
	if err != nil {
		return nil, err
	}
	u, held := new(models.User), h.held
	*u = *h.user // each request its own copy: handlers may change theirs
	if held.Revoked || u.Disabled || u.TokenVersion != claims.Ver {
		return nil, errTokenRejected
	}
	if now := s.clock.Now(); held.Stale(now) {
		kind := models.SessionAPI
		if aud == AudienceWeb {
			kind = models.SessionBrowser
		}
		rec := models.Session{SID: claims.SID, UserID: u.ID, Kind: kind, TokenVersion: claims.Ver, IP: seen.IP,
			UserAgent: seen.UserAgent, CreatedAt: time.Unix(claims.AuthTime, 0), LastSeenAt: now}
		if kind == models.SessionAPI {
			rec.CreatedAt, rec.ExpiresAt = claims.IssuedAt.Time, claims.ExpiresAt.Time
		} else if held.LastSeen.IsZero() {
			rec.ExpiresAt = claims.ExpiresAt.Time // no record yet (a token from before the devices list)
		}
		if err := s.revoked.Record(ctx, rec); err != nil && ctx.Err() == nil {
			s.log.Warn("record session seen", "err", err)
		}
	}
	return &Principal{User: u, Claims: claims}, nil
}

// Start signs u in on this browser: a new session id and a fresh cookie.
func (s *Sessions) Start(c echo.Context, u *models.User) error {
	now := s.clock.Now()
	return s.issue(c, u.ID, u.TokenVersion, NewID(), now)
}

// record writes the record of a session as it is issued (or re-issued).
func (s *Sessions) record(c echo.Context, kind string, userID uint, ver int, sid string, created, exp time.Time) error {
	seen := seenOf(c)
	return s.revoked.Record(c.Request().Context(), models.Session{SID: sid, UserID: userID, Kind: kind, TokenVersion: ver,
		IP: seen.IP, UserAgent: seen.UserAgent, CreatedAt: created, LastSeenAt: s.clock.Now(), ExpiresAt: exp})
}

// Reissue replaces the cookie of the current session (same sid and sign-in
// time) with one carrying token version ver, after a password change.
func (s *Sessions) Reissue(c echo.Context, p *Principal, ver int) error {
	return s.issue(c, p.User.ID, ver, p.Claims.SID, time.Unix(p.Claims.AuthTime, 0))
}

func (s *Sessions) issue(c echo.Context, userID uint, ver int, sid string, authTime time.Time) error {
	now := s.clock.Now()
	exp := now.Add(s.cfg.SessionTTL)
	if limit := authTime.Add(MaxSessionAge); exp.After(limit) {
		exp = limit
	}
	tok, err := s.tokens.Issue(AudienceWeb, userID, ver, sid, authTime, exp)
	if err != nil {
		return err
	}
	if err := s.record(c, models.SessionBrowser, userID, ver, sid, authTime, exp); err != nil {
		return err
	}
	c.SetCookie(s.cookie(tok, int(s.cfg.SessionTTL.Seconds())))
	return nil
}

// APIToken issues an API bearer token for u, a session of its own (with
// its record, for the devices list), and says how long it lives.
func (s *Sessions) APIToken(c echo.Context, u *models.User) (string, time.Duration, error) {
	now := s.clock.Now()
	sid, exp := NewID(), now.Add(s.cfg.TokenTTL)
	tok, err := s.tokens.Issue(AudienceAPI, u.ID, u.TokenVersion, sid, now, exp)
	if err != nil {
		return "", 0, err
	}
	if err := s.record(c, models.SessionAPI, u.ID, u.TokenVersion, sid, now, exp); err != nil {
		return "", 0, err
	}
	return tok, s.cfg.TokenTTL, nil
}

// Clear drops the session cookie without touching the session (the
// accounts service revokes it).
func (s *Sessions) Clear(c echo.Context) { c.SetCookie(s.cookie("", -1)) }

func (s *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.Secure(),
		SameSite: http.SameSiteLaxMode,
	}
}

// renew re-issues the cookie (same sid) once half the idle lifetime has
// passed, unless that would outlive MaxSessionAge after sign-in. A busy
// user stays signed in; an idle one is signed out after SessionTTL.
func (s *Sessions) renew(c echo.Context, p *Principal) {
	now := s.clock.Now()
	issued := p.Claims.IssuedAt.Time
	if now.Sub(issued) < s.cfg.SessionTTL/2 {
		return
	}
	authTime := time.Unix(p.Claims.AuthTime, 0)
	if !now.Before(authTime.Add(MaxSessionAge)) || !p.Claims.ExpiresAt.Time.Before(authTime.Add(MaxSessionAge)) {
		return
	}
	if err := s.issue(c, p.User.ID, p.User.TokenVersion, p.Claims.SID, authTime); err != nil {
		s.log.Error("renew session", "err", err)
	}
}

// bearer is echo-jwt reading "Authorization: Bearer" on the API; cookies
// are never read there. With optional, a missing token lets the request
// through anonymously; a bad one is 401 either way.
func (s *Sessions) bearer(optional bool) echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		ContextKey:  principalKey,
		TokenLookup: "header:Authorization:Bearer ",
		ParseTokenFunc: func(c echo.Context, raw string) (any, error) {
			return s.Verify(c.Request().Context(), AudienceAPI, raw, seenOf(c))
		},
		ErrorHandler: func(c echo.Context, err error) error {
			if errors.Is(err, errInvalidToken) {
				c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				return echo.NewHTTPError(http.StatusUnauthorized, msgInvalidToken).SetInternal(err)
			}
			var perr *echojwt.TokenParsingError
			if errors.As(err, &perr) {
				return err // the check itself failed (database): a 500
			}
			if optional {
				return nil
			}
			c.Response().Header().Set("WWW-Authenticate", "Bearer")
			return echo.NewHTTPError(http.StatusUnauthorized, msgNotAuthenticated).SetInternal(err)
		},
		ContinueOnIgnoredError: optional,
	})
}

// PageSession is echo-jwt reading the session cookie on every page: a valid
// session makes the caller known (and renews it when due, and marks the page
// no-store); a missing or invalid one leaves the caller anonymous, dropping
// the bad cookie. RequireUser then guards the protected groups.
func (s *Sessions) PageSession() echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		Skipper:     skipNonPages,
		ContextKey:  principalKey,
		TokenLookup: "cookie:" + SessionCookie,
		ParseTokenFunc: func(c echo.Context, raw string) (any, error) {
			return s.Verify(c.Request().Context(), AudienceWeb, raw, seenOf(c))
		},
		SuccessHandler: func(c echo.Context) {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			s.renew(c, principalOf(c))
		},
		ErrorHandler: func(c echo.Context, err error) error {
			if errors.Is(err, errInvalidToken) {
				s.Clear(c)
				return nil // anonymous; RequireUser decides whether that is enough
			}
			var perr *echojwt.TokenParsingError
			if errors.As(err, &perr) {
				return err // the check itself failed: a 500, not a sign-out
			}
			return nil // no cookie: anonymous
		},
		ContinueOnIgnoredError: true,
	})
}

// RequireUser sends anonymous callers to the sign-in page, with the page
// they wanted as next.
func RequireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if principalOf(c) == nil {
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return next(c)
	}
}

// RequireAdmin answers 403 to signed-in users who are not admins. It runs
// after RequireUser.
func RequireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := principalOf(c); p == nil || !p.User.IsAdmin() {
			return errForbidden
		}
		return next(c)
	}
}
