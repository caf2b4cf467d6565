package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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
	APIToken(c echo.Context, u *models.User) (token string, ttl time.Duration, err error)
}

// Auth serves sign-up, sign-in and sign-out pages.
type Auth struct {
	accounts accounts
	factors  twoFactor
	sessions sessionIssuer
	mfa      *Sessions // the two-factor state and step-up re-issue
	passkeys bool      // offer "Sign in with a passkey"
	secure   bool
}

// NewAuth returns the sign-in pages; secure is Config.Secure.
func NewAuth(accounts accounts, factors twoFactor, sessions *Sessions, passkeys, secure bool) *Auth {
	return &Auth{accounts: accounts, factors: factors, sessions: sessions, mfa: sessions, passkeys: passkeys, secure: secure}
}

// signupForm is the sign-up page's form.
type signupForm struct {
	Email    string `form:"email"`
	Name     string `form:"name"`
	Password string `form:"password,secret"`
	Next     string `form:"next"`
	formState
}

// loginForm is the sign-in page's form.
type loginForm struct {
	Email    string `form:"email"`
	Password string `form:"password,secret"`
	Next     string `form:"next"`
	formState
}

// NewSignup shows the sign-up form.
func (a *Auth) NewSignup(c echo.Context) error {
	return anonymousOnly(c, func(next string) error { return a.signup(c, http.StatusOK, &signupForm{Next: next}) })
}

// anonymousOnly shows a form that carries a safe next from the query, or
// sends a caller who is signed in already straight on to next.
func anonymousOnly(c echo.Context, show func(next string) error) error {
	next := safeNext(c.QueryParam("next"))
	if principalOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
	}
	return show(next)
}

func (a *Auth) signup(c echo.Context, status int, f *signupForm) error {
	return render(c, status, views.Signup(page(c, "Sign up"), viewForm(f)))
}

// Signup creates an account, signs it in and sends it to next, when safe,
// or /events.
func (a *Auth) Signup(c echo.Context) error {
	var f signupForm
	bindForm(c, &f)
	f.Email, f.Name, f.Next = models.NormalizeEmail(f.Email), strings.TrimSpace(f.Name), safeNext(f.Next)
	in := account.SignUp{Email: f.Email, Name: f.Name, Password: f.Password}
	u, err := a.accounts.SignUp(c.Request().Context(), in, account.Actor{IP: c.RealIP()})
	var fe account.FieldErrors
	switch {
	case errors.As(err, &fe):
		f.Errors = fe
		return a.signup(c, http.StatusUnprocessableEntity, &f)
	case errors.Is(err, models.ErrDuplicate):
		f.fail("email", msgEmailTaken)
		return a.signup(c, http.StatusUnprocessableEntity, &f)
	}
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		return a.signup(c, r.status, &f)
	}
	if err != nil {
		return err
	}
	return a.start(c, u, f.Next, "welcome")
}

// NewLogin shows the sign-in form, carrying a safe next.
func (a *Auth) NewLogin(c echo.Context) error {
	return anonymousOnly(c, func(next string) error { return a.login(c, http.StatusOK, &loginForm{Next: next}) })
}

func (a *Auth) login(c echo.Context, status int, f *loginForm) error {
	return render(c, status, views.Login(page(c, "Sign in"), viewForm(f), a.passkeys))
}

// Login signs in and sends the user to next, when safe, or /events.
func (a *Auth) Login(c echo.Context) error {
	var f loginForm
	bindForm(c, &f)
	f.Email, f.Next = models.NormalizeEmail(f.Email), safeNext(f.Next)
	if f.Email == "" {
		f.fail("email", "Enter your email address")
	}
	if f.Password == "" {
		f.fail("password", "Enter your password")
	}
	if !f.valid() {
		return a.login(c, http.StatusUnprocessableEntity, &f)
	}
	u, err := a.accounts.SignIn(c.Request().Context(), f.Email, f.Password, c.RealIP())
	if errors.Is(err, account.ErrMFARequired) {
		state, err := a.mfa.MFAState(u)
		if err != nil {
			return err
		}
		c.SetCookie(a.mfa.mfaCookie(state, int(MFAStateTTL.Seconds())))
		return c.Redirect(http.StatusSeeOther, withQuery("/login/mfa", "next", f.Next))
	}
	if r, ok := refuse(c, err); ok {
		f.Message, f.Hint = r.message, r.hint
		return a.login(c, r.status, &f)
	}
	if err != nil {
		return err
	}
	return a.start(c, u, f.Next, "")
}

// start signs u in on this browser, with a fresh CSRF token and the flash
// message (if any), and sends them to next, when safe, or /events.
func (a *Auth) start(c echo.Context, u *models.User, next, flash string) error {
	if err := a.sessions.Start(c, u); err != nil {
		return err
	}
	rotateCSRF(c, a.secure)
	if flash != "" {
		setFlash(c, a.secure, flash)
	}
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

// withQuery is path with key=value, or path alone when value is empty.
func withQuery(path, key, value string) string {
	if value == "" {
		return path
	}
	return path + "?" + url.Values{key: {value}}.Encode()
}

func idString(id uint) string { return strconv.FormatUint(uint64(id), 10) }
