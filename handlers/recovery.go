package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/views"
)

// recoveryService is what the password reset and verification routes ask
// of the accounts service (account.Service).
type recoveryService interface {
	RequestPasswordReset(ctx context.Context, email, ip string) error
	ResetPassword(ctx context.Context, token, password, ip string) (*models.User, error)
	VerifyEmail(ctx context.Context, token, ip string) (*models.User, error)
	ResendVerification(ctx context.Context, u *models.User) error
}

// Messages of the reset and verification routes.
const (
	msgBadResetLink   = "This password reset link is invalid or has expired. Ask for a new one."
	msgBadVerifyLink  = "This confirmation link is invalid or has expired. Sign in and send a new one from the notice at the top."
	msgResetQueued    = "If an account uses that address, a link to reset its password has been sent."
	msgPasswordReset  = "Your password has been reset. Every session has ended."
	msgVerifyFirst    = "Please confirm your email address first: follow the link we mailed you, or send it again from the notice at the top of the page."
	msgVerifyFirstAPI = "Email address not verified: follow the link in the verification mail first"
)

// Recovery serves the forgot-password, reset and email-verification pages
// and their API routes.
type Recovery struct {
	accounts recoveryService
	sessions sessionIssuer
	secure   bool
}

// NewRecovery returns the recovery routes; secure is Config.Secure.
func NewRecovery(accounts recoveryService, sessions sessionIssuer, secure bool) *Recovery {
	return &Recovery{accounts: accounts, sessions: sessions, secure: secure}
}

// forgotForm is the forgot-password form.
type forgotForm struct {
	Email string `form:"email"`
	formState
}

// resetForm is the form a reset link opens.
type resetForm struct {
	Token string `form:"token,secret"`
	New   string `form:"new_password,secret"`
	formState
}

// NewForgot shows the forgot-password form.
func (r *Recovery) NewForgot(c echo.Context) error {
	return render(c, http.StatusOK, views.Forgot(page(c, "Reset your password"), viewForm(&forgotForm{}), false))
}

// Forgot queues a reset mail when the address is an account's, and answers
// the same page with the same status either way.
func (r *Recovery) Forgot(c echo.Context) error {
	var f forgotForm
	bindForm(c, &f)
	f.Email = models.NormalizeEmail(f.Email)
	if msg := models.CheckEmail(f.Email); msg != "" {
		f.fail("email", msg)
		return render(c, http.StatusUnprocessableEntity, views.Forgot(page(c, "Reset your password"), viewForm(&f), false))
	}
	if err := r.accounts.RequestPasswordReset(c.Request().Context(), f.Email, c.RealIP()); err != nil {
		if rf, ok := refuse(c, err); ok {
			f.Message = rf.message
			return render(c, rf.status, views.Forgot(page(c, "Reset your password"), viewForm(&f), false))
		}
		return err
	}
	return render(c, http.StatusOK, views.Forgot(page(c, "Reset your password"), viewForm(&forgotForm{}), true))
}

// NewReset shows the new-password form of a reset link; the token is
// checked when the form is sent.
func (r *Recovery) NewReset(c echo.Context) error {
	noStore(c) // the page carries the token
	tok := c.QueryParam("token")
	f := &resetForm{}
	status := http.StatusOK
	if tok == "" {
		f.Message, status = msgBadResetLink, http.StatusBadRequest
	}
	return render(c, status, views.Reset(page(c, "Choose a new password"), viewForm(f), tok))
}

// Reset sets the new password through the token, ends every session of
// the account (this browser's too) and sends the user to sign in.
func (r *Recovery) Reset(c echo.Context) error {
	var f resetForm
	bindForm(c, &f)
	_, err := r.accounts.ResetPassword(c.Request().Context(), f.Token, f.New, c.RealIP())
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		f.Errors = fe
		return render(c, http.StatusUnprocessableEntity, views.Reset(page(c, "Choose a new password"), viewForm(&f), f.Token))
	case errors.Is(err, account.ErrBadLink):
		f.Message = msgBadResetLink
		return render(c, http.StatusBadRequest, views.Reset(page(c, "Choose a new password"), viewForm(&f), ""))
	}
	if rf, ok := refuse(c, err); ok {
		f.Message = rf.message
		return render(c, rf.status, views.Reset(page(c, "Choose a new password"), viewForm(&f), f.Token))
	}
	if err != nil {
		return err
	}
	r.sessions.Clear(c)
	rotateCSRF(c, r.secure)
	setFlash(c, r.secure, "password_reset")
	return c.Redirect(http.StatusSeeOther, "/login")
}

// verifyForm is the confirmation button of a verification link.
type verifyForm struct {
	Token string `form:"token,secret"`
	formState
}

// NewVerify shows the button that confirms the address of a verification
// link (a GET never changes anything).
func (r *Recovery) NewVerify(c echo.Context) error {
	noStore(c)
	tok := c.QueryParam("token")
	f := &verifyForm{}
	status := http.StatusOK
	if tok == "" {
		f.Message, status = msgBadVerifyLink, http.StatusBadRequest
	}
	return render(c, status, views.Verify(page(c, "Confirm your email address"), viewForm(f), tok))
}

// Verify confirms the address and goes to the account page (or sign-in).
func (r *Recovery) Verify(c echo.Context) error {
	var f verifyForm
	bindForm(c, &f)
	_, err := r.accounts.VerifyEmail(c.Request().Context(), f.Token, c.RealIP())
	if errors.Is(err, account.ErrBadLink) {
		f.Message = msgBadVerifyLink
		return render(c, http.StatusBadRequest, views.Verify(page(c, "Confirm your email address"), viewForm(&f), ""))
	}
	if err != nil {
		return err
	}
	setFlash(c, r.secure, "email_verified")
	if principalOf(c) == nil {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}

// Resend mails the verification link again, within the per-address cap.
func (r *Recovery) Resend(c echo.Context) error {
	err := r.accounts.ResendVerification(c.Request().Context(), principalOf(c).User)
	var te *account.ThrottledError
	switch {
	case errors.As(err, &te):
		setFlash(c, r.secure, "verification_limit")
	case err != nil:
		return err
	default:
		setFlash(c, r.secure, "verification_sent")
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}

// forgotBody is what POST /api/user/password/forgot reads.
type forgotBody struct {
	Email *string `json:"email"`
}

// APIForgot is the API's forgot-password: 202 whether or not the address
// is an account's.
func (r *Recovery) APIForgot(c echo.Context) error {
	var b forgotBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Email == nil {
		return invalid(missing("body", "email"))
	}
	email := models.NormalizeEmail(*b.Email)
	if msg := models.CheckEmail(email); msg != "" {
		return invalidFields("body", map[string]string{"email": msg})
	}
	if err := r.accounts.RequestPasswordReset(c.Request().Context(), email, c.RealIP()); err != nil {
		return refuseAPI(c, err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"message": msgResetQueued})
}

// resetBody is what POST /api/user/password/reset reads.
type resetBody struct {
	Token       *string `json:"token"`
	NewPassword *string `json:"new_password"`
}

// APIReset sets the password through a reset token and ends every session.
func (r *Recovery) APIReset(c echo.Context) error {
	var b resetBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	var items []fieldError
	if b.Token == nil {
		items = append(items, missing("body", "token"))
	}
	if b.NewPassword == nil {
		items = append(items, missing("body", "new_password"))
	}
	if len(items) > 0 {
		return invalid(items...)
	}
	_, err := r.accounts.ResetPassword(c.Request().Context(), *b.Token, *b.NewPassword, c.RealIP())
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		return invalidFields("body", fe)
	case errors.Is(err, account.ErrBadLink):
		return echo.NewHTTPError(http.StatusBadRequest, "Invalid or expired reset token")
	case err != nil:
		return refuseAPI(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"message": msgPasswordReset})
}

// noStore keeps a page that carries a link's token out of every cache
// (Referrer-Policy same-origin already keeps its address from other sites).
func noStore(c echo.Context) {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
}

// requireVerified refuses, with PLANNER_REQUIRE_VERIFIED, what needs a
// verified address (creating events) to a caller whose address is not:
// the 403 page with the reason, or 403 JSON under /api.
func requireVerified(on bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if !on {
			return next
		}
		return func(c echo.Context) error {
			p := principalOf(c)
			if p == nil || p.User.EmailVerifiedAt != nil {
				return next(c)
			}
			if isAPI(c.Request().URL.Path) {
				return echo.NewHTTPError(http.StatusForbidden, msgVerifyFirstAPI)
			}
			return render(c, http.StatusForbidden, views.ErrorPage(page(c, "Not allowed"), http.StatusForbidden, msgVerifyFirst))
		}
	}
}
