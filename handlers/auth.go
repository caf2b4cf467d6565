package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/views"
)

// accounts is what the sign-in pages, the account page and the API ask of
// the accounts service (account.Service).
type accounts interface {
	SignUp(ctx context.Context, in account.SignUp, by account.Actor) (*models.User, error)
	SignIn(ctx context.Context, email, password, ip string) (*models.User, error)
	ChangePassword(ctx context.Context, u *models.User, in account.PasswordChange, ip string) (int, error)
	SignOut(ctx context.Context, u *models.User, sess account.Session, ip string) error
	SignOutAll(ctx context.Context, u *models.User, sess account.Session, ip string) error
}

// sessionIssuer is what they ask of the sessions: the browser cookie and
// API tokens (*Sessions).
type sessionIssuer interface {
	Start(c echo.Context, u *models.User) error
	Reissue(c echo.Context, p *Principal, ver int) error
	Clear(c echo.Context)
	APIToken(u *models.User) (token string, ttl time.Duration, err error)
}

// Auth serves sign-up, sign-in and sign-out pages.
type Auth struct {
	accounts accounts
	sessions sessionIssuer
	secure   bool
}

// NewAuth returns the sign-in pages; secure is Config.Secure.
func NewAuth(accounts accounts, sessions sessionIssuer, secure bool) *Auth {
	return &Auth{accounts: accounts, sessions: sessions, secure: secure}
}

// NewSignup shows the sign-up form.
func (a *Auth) NewSignup(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if principalOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
	}
	f := views.Form{Values: map[string]string{"next": next}}
	return render(c, http.StatusOK, views.Signup(page(c, "Sign up"), f))
}

// Signup creates an account, signs it in and sends it to next, when safe,
// or /events.
func (a *Auth) Signup(c echo.Context) error {
	email := models.NormalizeEmail(c.FormValue("email"))
	name := strings.TrimSpace(c.FormValue("name"))
	next := safeNext(c.FormValue("next"))
	f := views.Form{
		Values: map[string]string{"email": email, "name": name, "next": next},
		Errors: map[string]string{},
	}
	in := account.SignUp{Email: email, Name: name, Password: c.FormValue("password")}
	u, err := a.accounts.SignUp(c.Request().Context(), in, account.Actor{IP: c.RealIP()})
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		f.Errors = fe
		return render(c, http.StatusUnprocessableEntity, views.Signup(page(c, "Sign up"), f))
	case errors.Is(err, models.ErrDuplicate):
		f.Errors["email"] = msgEmailTaken
		return render(c, http.StatusUnprocessableEntity, views.Signup(page(c, "Sign up"), f))
	}
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		return render(c, r.status, views.Signup(page(c, "Sign up"), f))
	}
	if err != nil {
		return err
	}
	if err := a.sessions.Start(c, u); err != nil {
		return err
	}
	rotateCSRF(c, a.secure)
	setFlash(c, a.secure, "welcome")
	return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
}

// NewLogin shows the sign-in form, carrying a safe next.
func (a *Auth) NewLogin(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if principalOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
	}
	f := views.Form{Values: map[string]string{"next": next}}
	return render(c, http.StatusOK, views.Login(page(c, "Sign in"), f))
}

// Login signs in and sends the user to next, when safe, or /events.
func (a *Auth) Login(c echo.Context) error {
	email := models.NormalizeEmail(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	f := views.Form{
		Values: map[string]string{"email": email, "next": next},
		Errors: map[string]string{},
	}
	if email == "" {
		f.Errors["email"] = "Enter your email address"
	}
	if password == "" {
		f.Errors["password"] = "Enter your password"
	}
	if len(f.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.Login(page(c, "Sign in"), f))
	}
	u, err := a.accounts.SignIn(c.Request().Context(), email, password, c.RealIP())
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		return render(c, r.status, views.Login(page(c, "Sign in"), f))
	}
	if err != nil {
		return err
	}
	if err := a.sessions.Start(c, u); err != nil {
		return err
	}
	rotateCSRF(c, a.secure)
	return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
}

// Logout ends the session if there is one, always clears the cookie, and
// goes home.
func (a *Auth) Logout(c echo.Context) error {
	a.sessions.Clear(c)
	p := principalOf(c)
	if p != nil {
		if err := a.accounts.SignOut(c.Request().Context(), p.User, p.session(), c.RealIP()); err != nil {
			return err
		}
	}
	rotateCSRF(c, a.secure)
	if p != nil {
		setFlash(c, a.secure, "signed_out")
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

func idString(id uint) string { return strconv.FormatUint(uint64(id), 10) }
