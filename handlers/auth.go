package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// Auth serves sign-up, sign-in and sign-out pages.
type Auth struct {
	cfg      Config
	users    *models.Users
	signin   *SignIn
	sessions *Sessions
	policy   *models.PasswordPolicy
	hasher   *models.Hasher
	audit    *models.Audit
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
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	f := views.Form{
		Values: map[string]string{"email": email, "name": name, "next": next},
		Errors: map[string]string{},
	}
	if msg := models.CheckEmail(email); msg != "" {
		f.Errors["email"] = msg
	}
	if msg := models.CheckName(name, true); msg != "" {
		f.Errors["name"] = msg
	}
	if msg := a.policy.Check(email, password); msg != "" {
		f.Errors["password"] = msg
	}
	if len(f.Errors) == 0 {
		if _, err := a.users.ByEmail(c.Request().Context(), email); err == nil {
			f.Errors["email"] = msgEmailTaken
		} else if !errors.Is(err, models.ErrNotFound) {
			return err
		}
	}
	if len(f.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.Signup(page(c, "Sign up"), f))
	}

	u, err := a.createUser(c, email, name, password)
	if status, msg, ok := signinFailure(c, err); ok {
		f.Message = msg
		return render(c, status, views.Signup(page(c, "Sign up"), f))
	}
	if errors.Is(err, models.ErrDuplicate) { // lost a race with another sign-up
		f.Errors["email"] = msgEmailTaken
		return render(c, http.StatusUnprocessableEntity, views.Signup(page(c, "Sign up"), f))
	}
	if err != nil {
		return err
	}
	if err := a.sessions.Start(c, u); err != nil {
		return err
	}
	rotateCSRF(c, a.cfg.Secure())
	a.sessions.setFlash(c, "welcome")
	return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
}

const msgEmailTaken = "An account with this email already exists"

// createUser hashes password (bounded, like every hash) and stores the new
// account, with its audit entry.
func (a *Auth) createUser(c echo.Context, email, name, password string) (*models.User, error) {
	ctx := c.Request().Context()
	ticket, err := a.hasher.Enter()
	if err != nil {
		return nil, err
	}
	defer ticket.Leave()
	hash, err := ticket.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	u, err := a.users.Create(ctx, email, name, hash, models.RoleUser)
	if err != nil {
		return nil, err
	}
	_ = a.audit.Record(ctx, auditEntry(u, models.ActionSignup, u.Email, c.RealIP()))
	return u, nil
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
	u, err := a.signin.Attempt(c.Request().Context(), email, password, c.RealIP())
	if status, msg, ok := signinFailure(c, err); ok {
		f.Message = msg
		return render(c, status, views.Login(page(c, "Sign in"), f))
	}
	if err != nil {
		return err
	}
	if err := a.sessions.Start(c, u); err != nil {
		return err
	}
	rotateCSRF(c, a.cfg.Secure())
	return c.Redirect(http.StatusSeeOther, nextOr(next, "/events"))
}

// Logout ends the session if there is one, always clears the cookie, and
// goes home.
func (a *Auth) Logout(c echo.Context) error {
	p := principalOf(c)
	if err := a.sessions.End(c); err != nil {
		return err
	}
	rotateCSRF(c, a.cfg.Secure())
	if p != nil {
		_ = a.audit.Record(c.Request().Context(), auditEntry(p.User, models.ActionSignout, p.User.Email, c.RealIP()))
		a.sessions.setFlash(c, "signed_out")
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

func idString(id uint) string { return strconv.FormatUint(uint64(id), 10) }
