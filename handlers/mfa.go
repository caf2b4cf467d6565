package handlers

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/views"
)

// Two-factor policy.
const (
	// MFAStateTTL is how long the state between the password and the code
	// of a sign-in lives.
	MFAStateTTL = 5 * time.Minute
	// StepUpAge is how recent a sign-in (or a confirmation at
	// /login/confirm) must be for the admin area and security settings.
	StepUpAge = 15 * time.Minute
	// mfaCookie holds the state of a sign-in waiting for its code.
	mfaCookie = "planner_mfa"
)

// twoFactor is what the two-factor pages ask of the accounts service.
type twoFactor interface {
	BeginTOTP(ctx context.Context, u *models.User) (account.Enrolment, error)
	PendingTOTP(u *models.User) (account.Enrolment, error)
	ConfirmTOTP(ctx context.Context, u *models.User, code, ip string) ([]string, error)
	DisableTOTP(ctx context.Context, u *models.User, code, password, ip string) error
	RecoveryCodesLeft(ctx context.Context, u *models.User) (int64, error)
	SecondFactor(ctx context.Context, id uint, ver int, code, ip string) (*models.User, error)
	Reauthenticate(ctx context.Context, u *models.User, password, code, ip string) error
}

// MFAState issues the signed state of a sign-in whose password was right:
// audience planner-mfa, its own random sid, MFAStateTTL long.
func (s *Sessions) MFAState(u *models.User) (string, error) {
	now := s.clock.Now()
	return s.tokens.Issue(AudienceMFA, u.ID, u.TokenVersion, NewID(), now, now.Add(MFAStateTTL))
}

// ParseMFAState checks a state MFAState issued.
func (s *Sessions) ParseMFAState(raw string) (*Claims, error) {
	c, err := s.tokens.Parse(AudienceMFA, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidToken, err)
	}
	return c, nil
}

// Confirmed re-issues the current session (same sid) with auth_time now,
// after the user proved it is them again at /login/confirm.
func (s *Sessions) Confirmed(c echo.Context, p *Principal) error {
	return s.issue(c, p.User.ID, p.User.TokenVersion, p.Claims.SID, s.clock.Now())
}

func (s *Sessions) mfaCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: mfaCookie, Value: value, Path: "/login", MaxAge: maxAge, HttpOnly: true,
		Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode}
}

// recentAuth sends a caller whose sign-in is older than StepUpAge to
// /login/confirm, which brings them back: to this page for a GET, to the
// page the form was on (the Referer, when it is ours) otherwise.
func recentAuth(cfg Config) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || cfg.Clock.Now().Sub(time.Unix(p.Claims.AuthTime, 0)) <= StepUpAge {
				return next(c)
			}
			back := c.Request().URL.RequestURI()
			if c.Request().Method != http.MethodGet {
				back = "/account"
				if strings.HasPrefix(c.Request().URL.Path, "/admin") {
					back = "/admin"
				}
				if ref, err := url.Parse(c.Request().Referer()); err == nil && cfg.BaseURL != nil && ref.Host == cfg.BaseURL.Host {
					if n := safeNext(ref.RequestURI()); n != "" {
						back = n
					}
				}
			}
			return c.Redirect(http.StatusSeeOther, "/login/confirm?next="+url.QueryEscape(back))
		}
	}
}

// requireAdminMFA is PLANNER_ADMIN_MFA=required: an admin without a second
// factor is sent to set one up before the admin area.
func requireAdminMFA(required, secure bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := principalOf(c); required && p != nil && p.User.IsAdmin() && !p.User.HasMFA() {
				setFlash(c, secure, "admin_mfa_required")
				return c.Redirect(http.StatusSeeOther, "/account/mfa")
			}
			return next(c)
		}
	}
}

// MFA serves /account/mfa: enrol an authenticator app, confirm it, turn it
// off.
type MFA struct {
	accounts twoFactor
	secure   bool
}

// NewMFA returns the two-factor pages.
func NewMFA(accounts twoFactor, secure bool) *MFA { return &MFA{accounts: accounts, secure: secure} }

// codeForm is every form that takes a code.
type codeForm struct {
	Code     string `form:"code,secret"`
	Password string `form:"password,secret"`
	Next     string `form:"next"`
	formState
}

func (m *MFA) view(c echo.Context, status int, f *codeForm, codes []string) error {
	u := principalOf(c).User
	v := views.MFAView{Enabled: u.HasMFA(), RecoveryCodes: codes}
	if v.Enabled {
		n, err := m.accounts.RecoveryCodesLeft(c.Request().Context(), u)
		if err != nil {
			return err
		}
		v.RecoveryLeft = n
	} else if e, err := m.accounts.PendingTOTP(u); err == nil {
		v.Pending, v.Secret = true, e.Secret
		if v.QRPath, v.QRSize, err = qrPath(e.URL); err != nil {
			return err
		}
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if f == nil {
		f = &codeForm{}
	}
	return render(c, status, views.MFA(page(c, "Two-factor sign-in"), v, viewForm(f)))
}

// Show is the two-factor page.
func (m *MFA) Show(c echo.Context) error { return m.view(c, http.StatusOK, nil, nil) }

// Setup makes a new pending secret and shows it.
func (m *MFA) Setup(c echo.Context) error {
	_, err := m.accounts.BeginTOTP(c.Request().Context(), principalOf(c).User)
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account/mfa")
}

// Confirm turns the pending secret on with a code from the app, and shows
// the recovery codes, once.
func (m *MFA) Confirm(c echo.Context) error {
	var f codeForm
	bindForm(c, &f)
	u := principalOf(c).User
	codes, err := m.accounts.ConfirmTOTP(c.Request().Context(), u, f.Code, c.RealIP())
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		f.Errors = fe
		return m.view(c, http.StatusUnprocessableEntity, &f, nil)
	case errors.Is(err, models.ErrConflict):
		return c.Redirect(http.StatusSeeOther, "/account/mfa")
	case err != nil:
		return err
	}
	now := time.Now()
	u.TOTPEnabledAt = &now
	return m.view(c, http.StatusOK, nil, codes)
}

// Disable turns the second factor off, after a code or the password.
func (m *MFA) Disable(c echo.Context) error {
	var f codeForm
	bindForm(c, &f)
	err := m.accounts.DisableTOTP(c.Request().Context(), principalOf(c).User, f.Code, f.Password, c.RealIP())
	var fe account.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return m.view(c, http.StatusUnprocessableEntity, &f, nil)
	}
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		return m.view(c, r.status, &f, nil)
	}
	if errors.Is(err, models.ErrConflict) {
		return c.Redirect(http.StatusSeeOther, "/account/mfa")
	}
	if err != nil {
		return err
	}
	setFlash(c, m.secure, "mfa_disabled")
	return c.Redirect(http.StatusSeeOther, "/account/mfa")
}

// qrPath draws text as a QR code: one SVG path of the dark modules, with a
// quiet zone of four, and the side in modules. Drawn here, so the page
// needs no script and no other origin.
func qrPath(text string) (string, int, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", 0, fmt.Errorf("draw qr code: %w", err)
	}
	b := code.Bounds()
	const quiet = 4
	var d strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 && code.At(x, y) != color.Transparent {
				fmt.Fprintf(&d, "M%d %dh1v1h-1z", x-b.Min.X+quiet, y-b.Min.Y+quiet)
			}
		}
	}
	return d.String(), b.Dx() + 2*quiet, nil
}

// mfaCodeMessage is the answer to a wrong code.
const msgBadCode = "That code is not right"

// NewLoginMFA shows the code step of a sign-in, while its state lives.
func (a *Auth) NewLoginMFA(c echo.Context) error {
	if _, err := a.mfaState(c); err != nil {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return a.loginMFA(c, http.StatusOK, &codeForm{Next: safeNext(c.QueryParam("next"))})
}

func (a *Auth) loginMFA(c echo.Context, status int, f *codeForm) error {
	return render(c, status, views.LoginMFA(page(c, "Two-factor sign-in"), viewForm(f)))
}

func (a *Auth) mfaState(c echo.Context) (*Claims, error) {
	ck, err := c.Cookie(mfaCookie)
	if err != nil {
		return nil, err
	}
	return a.mfa.ParseMFAState(ck.Value)
}

// LoginMFA checks the code (counted toward the sign-in throttle) and
// completes the sign-in.
func (a *Auth) LoginMFA(c echo.Context) error {
	var f codeForm
	bindForm(c, &f)
	f.Next = safeNext(f.Next)
	state, err := a.mfaState(c)
	if err != nil {
		c.SetCookie(a.mfa.mfaCookie("", -1))
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	id, _ := state.UserID()
	u, err := a.factors.SecondFactor(c.Request().Context(), id, state.Ver, f.Code, c.RealIP())
	if errors.Is(err, account.ErrBadCredentials) {
		c.SetCookie(a.mfa.mfaCookie("", -1))
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	if errors.Is(err, account.ErrBadCode) {
		f.fail("code", msgBadCode)
		return a.loginMFA(c, http.StatusUnauthorized, &f)
	}
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		return a.loginMFA(c, r.status, &f)
	}
	if err != nil {
		return err
	}
	c.SetCookie(a.mfa.mfaCookie("", -1))
	return a.start(c, u, f.Next, "")
}

// NewConfirm asks a signed-in user for their password (and code) again.
func (a *Auth) NewConfirm(c echo.Context) error {
	return a.confirm(c, http.StatusOK, &codeForm{Next: safeNext(c.QueryParam("next"))})
}

func (a *Auth) confirm(c echo.Context, status int, f *codeForm) error {
	return render(c, status, views.Confirm(page(c, "Confirm it is you"), viewForm(f), principalOf(c).User.HasMFA(), a.passkeys))
}

// Confirm re-authenticates the signed-in user and returns them to next
// with a fresh auth_time.
func (a *Auth) Confirm(c echo.Context) error {
	var f codeForm
	bindForm(c, &f)
	f.Next = safeNext(f.Next)
	p := principalOf(c)
	err := a.factors.Reauthenticate(c.Request().Context(), p.User, f.Password, f.Code, c.RealIP())
	if errors.Is(err, account.ErrBadCode) {
		f.fail("code", msgBadCode)
		return a.confirm(c, http.StatusUnauthorized, &f)
	}
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		if r.status == http.StatusUnauthorized {
			f.Message = "Incorrect password"
		}
		return a.confirm(c, r.status, &f)
	}
	if err != nil {
		return err
	}
	if err := a.mfa.Confirmed(c, p); err != nil {
		return err
	}
	setFlash(c, a.secure, "confirmed")
	return c.Redirect(http.StatusSeeOther, nextOr(f.Next, "/account"))
}
