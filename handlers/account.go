package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// Account serves the signed-in user's profile page and its actions.
type Account struct {
	cfg      Config
	users    *models.Users
	signin   *SignIn
	sessions *Sessions
	policy   *models.PasswordPolicy
	hasher   *models.Hasher
	audit    *models.Audit
}

func (a *Account) view(c echo.Context, status int, nameForm, passwordForm views.Form) error {
	u := principalOf(c).User
	if nameForm.Values == nil {
		nameForm.Values = map[string]string{"name": u.Name}
	}
	v := views.AccountView{
		Email:       u.Email,
		Role:        u.Role,
		MemberSince: u.CreatedAt.In(a.cfg.Timezone).Format("2 January 2006"),
	}
	if u.LastSignInAt != nil {
		v.LastSignIn = u.LastSignInAt.In(a.cfg.Timezone).Format("2 January 2006, 15:04 MST")
	}
	return render(c, status, views.Account(page(c, "Your account"), v, nameForm, passwordForm))
}

// Show renders the account page.
func (a *Account) Show(c echo.Context) error {
	return a.view(c, http.StatusOK, views.Form{}, views.Form{})
}

// UpdateName changes the display name.
func (a *Account) UpdateName(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	if msg := models.CheckName(name, false); msg != "" {
		f := views.Form{Values: map[string]string{"name": name}, Errors: map[string]string{"name": msg}}
		return a.view(c, http.StatusUnprocessableEntity, f, views.Form{})
	}
	if err := a.users.SetName(c.Request().Context(), principalOf(c).User.ID, name); err != nil {
		return err
	}
	a.sessions.setFlash(c, "name_saved")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// ChangePassword checks the current password (counted like a sign-in),
// stores the new one, ends every other session and re-issues this one.
func (a *Account) ChangePassword(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	current, next := c.FormValue("current_password"), c.FormValue("new_password")
	f := views.Form{Errors: map[string]string{}}
	if current == "" {
		f.Errors["current_password"] = "Enter your current password"
	}
	if msg := a.policy.Check(p.User.Email, next); msg != "" {
		f.Errors["new_password"] = msg
	}
	if len(f.Errors) > 0 {
		return a.view(c, http.StatusUnprocessableEntity, views.Form{}, f)
	}
	err := a.signin.Confirm(ctx, p.User, current, c.RealIP())
	if status, msg, ok := signinFailure(c, err); ok {
		if status == http.StatusUnauthorized {
			status, f.Errors["current_password"] = http.StatusUnprocessableEntity, "Current password is incorrect"
		} else {
			f.Message = msg
		}
		return a.view(c, status, views.Form{}, f)
	}
	if err != nil {
		return err
	}
	ticket, err := a.hasher.Enter()
	if err != nil {
		return err
	}
	defer ticket.Leave()
	hash, err := ticket.Hash(ctx, next)
	if err != nil {
		return err
	}
	ver, err := a.users.SetPasswordHash(ctx, p.User.ID, hash, true)
	if err != nil {
		return err
	}
	if err := a.sessions.Reissue(c, p, ver); err != nil {
		return err
	}
	_ = a.audit.Record(ctx, auditEntry(p.User, models.ActionPasswordChanged, p.User.Email, c.RealIP()))
	a.sessions.setFlash(c, "password_changed")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// SignOutAll ends every session and token of the user, this one included.
func (a *Account) SignOutAll(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	if _, err := a.users.BumpTokenVersion(ctx, p.User.ID); err != nil {
		return err
	}
	if err := a.sessions.End(c); err != nil {
		return err
	}
	rotateCSRF(c, a.cfg.Secure())
	_ = a.audit.Record(ctx, auditEntry(p.User, models.ActionSignoutAll, p.User.Email, c.RealIP()))
	a.sessions.setFlash(c, "signed_out_all")
	return c.Redirect(http.StatusSeeOther, "/login")
}
