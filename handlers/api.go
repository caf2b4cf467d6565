package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
)

// API serves the JSON API's account routes: the tutorial's contract with
// its mistakes fixed.
type API struct {
	cfg      Config
	users    *models.Users
	signin   *SignIn
	sessions *Sessions
	tokens   *Tokens
	policy   *models.PasswordPolicy
	hasher   *models.Hasher
	audit    *models.Audit
}

// bearer is echo-jwt reading "Authorization: Bearer" on the API; cookies
// are never read there. With optional, a missing token lets the request
// through anonymously; a bad one is 401 either way.
func (s *Sessions) bearer(optional bool) echo.MiddlewareFunc {
	return echojwt.WithConfig(echojwt.Config{
		ContextKey:  principalKey,
		TokenLookup: "header:Authorization:Bearer ",
		ParseTokenFunc: func(c echo.Context, raw string) (any, error) {
			return s.Verify(c.Request().Context(), AudienceAPI, raw)
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

// signupBody is what POST /api/user/signup reads.
type signupBody struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Name     *string `json:"name"`
}

// Signup creates an account.
func (a *API) Signup(c echo.Context) error {
	var b signupBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	var items []fieldError
	if b.Email == nil {
		items = append(items, missing("body", "email"))
	}
	if b.Password == nil {
		items = append(items, missing("body", "password"))
	}
	if len(items) > 0 {
		return invalid(items...)
	}
	email := models.NormalizeEmail(*b.Email)
	name := ""
	if b.Name != nil {
		name = strings.TrimSpace(*b.Name)
	}
	errs := map[string]string{}
	if msg := models.CheckEmail(email); msg != "" {
		errs["email"] = msg
	}
	if msg := models.CheckName(name, true); msg != "" {
		errs["name"] = msg
	}
	if msg := a.policy.Check(email, *b.Password); msg != "" {
		errs["password"] = msg
	}
	if len(errs) > 0 {
		return invalidFields("body", errs)
	}
	ctx := c.Request().Context()
	if _, err := a.users.ByEmail(ctx, email); err == nil {
		return echo.NewHTTPError(http.StatusConflict, msgUserExists)
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	ticket, err := a.hasher.Enter()
	if err != nil {
		return busy(c, err)
	}
	defer ticket.Leave()
	hash, err := ticket.Hash(ctx, *b.Password)
	if err != nil {
		return err
	}
	u, err := a.users.Create(ctx, email, name, hash, models.RoleUser)
	if errors.Is(err, models.ErrDuplicate) {
		return echo.NewHTTPError(http.StatusConflict, msgUserExists)
	}
	if err != nil {
		return err
	}
	_ = a.audit.Record(ctx, auditEntry(u, models.ActionSignup, u.Email, c.RealIP()))
	return c.JSON(http.StatusOK, map[string]string{"message": "User created successfully"})
}

// busy is the 503 with Retry-After when password hashing is saturated.
func busy(c echo.Context, err error) error {
	c.Response().Header().Set("Retry-After", "1")
	return echo.NewHTTPError(http.StatusServiceUnavailable, "The server is busy. Try again in a moment.").SetInternal(err)
}

// Signin is the OAuth2 password-grant token endpoint (RFC 6749 §4.3):
// form-encoded username and password; scope, client_id and client_secret
// are accepted and ignored.
func (a *API) Signin(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
	form, err := c.FormParams()
	if err != nil {
		if isTooLarge(err) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The body must be form-encoded (application/x-www-form-urlencoded)")
	}
	if gt := form.Get("grant_type"); gt != "" && gt != "password" {
		return &jsonError{Status: http.StatusBadRequest, Body: map[string]any{
			"detail": "Only the password grant is supported", "error": "unsupported_grant_type"}}
	}
	var items []fieldError
	for _, f := range []string{"username", "password"} {
		if _, ok := form[f]; !ok {
			items = append(items, missing("body", f))
		}
	}
	if len(items) > 0 {
		return invalid(items...)
	}
	u, err := a.signin.Attempt(c.Request().Context(), form.Get("username"), form.Get("password"), c.RealIP())
	var te *throttledError
	switch {
	case errors.Is(err, errBadCredentials):
		return &jsonError{Status: http.StatusUnauthorized, Body: map[string]any{"detail": msgBadCredentials, "error": "invalid_grant"}}
	case errors.As(err, &te):
		c.Response().Header().Set("Retry-After", te.RetryAfter())
		return echo.NewHTTPError(http.StatusTooManyRequests, msgTooMany)
	case errors.Is(err, models.ErrBusy):
		return busy(c, err)
	case err != nil:
		return err
	}
	now := time.Now()
	exp := now.Add(a.cfg.TokenTTL)
	tok, err := a.tokens.Issue(AudienceAPI, u.ID, u.TokenVersion, NewID(), now, exp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(a.cfg.TokenTTL.Seconds()),
	})
}

// Signout kills the token: its session id is revoked until it expires.
func (a *API) Signout(c echo.Context) error {
	p := principalOf(c)
	ctx := c.Request().Context()
	if err := a.sessions.revoked.Revoke(ctx, p.Claims.SID, p.Claims.ExpiresAt.Time); err != nil {
		return err
	}
	_ = a.audit.Record(ctx, auditEntry(p.User, models.ActionSignout, p.User.Email, c.RealIP()))
	return c.JSON(http.StatusOK, map[string]string{"message": "Signed out"})
}

// Me describes the caller.
func (a *API) Me(c echo.Context) error {
	u := principalOf(c).User
	return c.JSON(http.StatusOK, map[string]any{
		"id":         u.ID,
		"email":      u.Email,
		"name":       u.Name,
		"role":       u.Role,
		"created_at": apiTime(u.CreatedAt),
	})
}

// apiTime is the API's time format: RFC 3339, UTC, to the second.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
