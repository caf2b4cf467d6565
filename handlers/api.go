package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
)

// API serves the JSON API's account routes: the tutorial's contract with
// its mistakes fixed.
type API struct {
	accounts accounts
	factors  twoFactor
	sessions sessionIssuer
	mfa      *Sessions // the mfa_token of the two-factor grant
}

// GrantMFAOTP is the grant that completes a password grant answered with
// mfa_required: mfa_token and otp (a TOTP or recovery code).
const GrantMFAOTP = "urn:planner:params:oauth:grant-type:mfa-otp"

// NewAPI returns the API's account routes.
func NewAPI(accounts accounts, factors twoFactor, sessions *Sessions) *API {
	return &API{accounts: accounts, factors: factors, sessions: sessions, mfa: sessions}
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
	in := account.SignUp{Email: *b.Email, Password: *b.Password}
	if b.Name != nil {
		in.Name = *b.Name
	}
	_, err := a.accounts.SignUp(c.Request().Context(), in, account.Actor{IP: c.RealIP()})
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		return invalidFields("body", fe)
	case errors.Is(err, models.ErrDuplicate):
		return echo.NewHTTPError(http.StatusConflict, msgUserExists)
	case err != nil:
		return refuseAPI(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"message": "User created successfully"})
}

// Signin is the OAuth2 password-grant token endpoint (RFC 6749 §4.3):
// form-encoded username and password; scope, client_id and client_secret
// are accepted and ignored.
func (a *API) Signin(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
	form, err := postForm(c) // the body only: never credentials from the URL
	if err != nil {
		if isTooLarge(err) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The body must be form-encoded (application/x-www-form-urlencoded)")
	}
	gt := form.Get("grant_type")
	if gt == GrantMFAOTP {
		return a.mfaGrant(c, form)
	}
	if gt != "" && gt != "password" {
		return &jsonError{Status: http.StatusBadRequest, Body: map[string]any{
			"detail": "Only the password and " + GrantMFAOTP + " grants are supported", "error": "unsupported_grant_type"}}
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
	u, err := a.accounts.SignIn(c.Request().Context(), form.Get("username"), form.Get("password"), c.RealIP())
	if errors.Is(err, account.ErrMFARequired) {
		state, err := a.mfa.MFAState(u)
		if err != nil {
			return err
		}
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="mfa_required"`)
		return &jsonError{Status: http.StatusUnauthorized, Body: map[string]any{
			"detail": "A second factor is required: use the " + GrantMFAOTP + " grant with mfa_token and otp",
			"error":  "mfa_required", "mfa_token": state}}
	}
	if err != nil {
		return refuseAPI(c, err)
	}
	return a.issue(c, u)
}

// mfaGrant completes a sign-in with the mfa_token of the password grant and
// a code; every code counts toward the sign-in throttle.
func (a *API) mfaGrant(c echo.Context, form url.Values) error {
	var items []fieldError
	for _, f := range []string{"mfa_token", "otp"} {
		if _, ok := form[f]; !ok {
			items = append(items, missing("body", f))
		}
	}
	if len(items) > 0 {
		return invalid(items...)
	}
	badGrant := func(detail string) error {
		return &jsonError{Status: http.StatusUnauthorized, Body: map[string]any{"detail": detail, "error": "invalid_grant"}}
	}
	state, err := a.mfa.ParseMFAState(form.Get("mfa_token"))
	if err != nil {
		return badGrant("The mfa_token is invalid or has expired: sign in again")
	}
	id, _ := state.UserID()
	u, err := a.factors.SecondFactor(c.Request().Context(), id, state.Ver, form.Get("otp"), c.RealIP())
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		return badGrant("The mfa_token is invalid or has expired: sign in again")
	case errors.Is(err, account.ErrBadCode):
		return badGrant(msgBadCode)
	case err != nil:
		return refuseAPI(c, err)
	}
	return a.issue(c, u)
}

// issue answers a grant with a new access token for u.
func (a *API) issue(c echo.Context, u *models.User) error {
	tok, ttl, err := a.sessions.APIToken(c, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(ttl.Seconds()),
	})
}

// Signout kills the token: its session id is revoked until it expires.
func (a *API) Signout(c echo.Context) error {
	p := principalOf(c)
	if err := a.accounts.SignOut(c.Request().Context(), p.User, p.session(), c.RealIP()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": "Signed out"})
}

// Me describes the caller.
func (a *API) Me(c echo.Context) error {
	u := principalOf(c).User
	return c.JSON(http.StatusOK, map[string]any{
		"id":             u.ID,
		"email":          u.Email,
		"name":           u.Name,
		"role":           u.Role,
		"email_verified": u.EmailVerifiedAt != nil,
		"created_at":     apiTime(u.CreatedAt),
	})
}

// apiTime is the API's time format: RFC 3339, UTC, to the second.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
