package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/views"
)

// nameSetter changes display names, time zones and feed tokens
// (*models.Users).
type nameSetter interface {
	SetName(ctx context.Context, id uint, name string) error
	SetTimezone(ctx context.Context, id uint, zone string) error
	RotateCalendar(ctx context.Context, id uint) error
}

// Account serves the signed-in user's profile page and its actions.
type Account struct {
	accounts accounts
	names    nameSetter
	sessions sessionIssuer
	secure   bool
	passkeys bool
	timezone *time.Location
	feedURL  func(u *models.User) string
}

// NewAccount returns the account page; cfg gives the time zone dates are
// shown in and whether cookies are Secure.
func NewAccount(cfg Config, accounts accounts, names nameSetter, sessions sessionIssuer, feedURL func(*models.User) string, passkeys bool) *Account {
	return &Account{accounts: accounts, names: names, sessions: sessions, secure: cfg.Secure(), timezone: cfg.Timezone,
		feedURL: feedURL, passkeys: passkeys}
}

// zoneForm is the time zone form.
type zoneForm struct {
	Timezone string `form:"timezone"`
	formState
}

// nameForm is the display name form.
type nameForm struct {
	Name string `form:"name"`
	formState
}

// passwordForm is the password change form.
type passwordForm struct {
	Current string `form:"current_password,secret"`
	New     string `form:"new_password,secret"`
	formState
}

func (a *Account) view(c echo.Context, status int, name *nameForm, password *passwordForm, zone ...*zoneForm) error {
	u := principalOf(c).User
	if name == nil {
		name = &nameForm{Name: u.Name}
	}
	zf := &zoneForm{Timezone: viewerZone(u, a.timezone).String()}
	if len(zone) > 0 {
		zf = zone[0]
	}
	if password == nil {
		password = &passwordForm{}
	}
	mine := viewerZone(u, a.timezone)
	v := views.AccountView{
		Email:       u.Email,
		Role:        u.Role,
		Passkeys:    a.passkeys,
		MemberSince: u.CreatedAt.In(mine).Format("2 January 2006"),
		FeedURL:     a.feedURL(u),
		Zones:       commonZones,
		ZoneForm:    viewForm(zf),
	}
	if u.LastSignInAt != nil {
		v.LastSignIn = u.LastSignInAt.In(mine).Format("2 January 2006, 15:04 MST")
	}
	return render(c, status, views.Account(page(c, "Your account"), v, viewForm(name), viewForm(password)))
}

// Show renders the account page.
func (a *Account) Show(c echo.Context) error {
	return a.view(c, http.StatusOK, nil, nil)
}

// UpdateName changes the display name.
func (a *Account) UpdateName(c echo.Context) error {
	var f nameForm
	bindForm(c, &f)
	f.Name = strings.TrimSpace(f.Name)
	if msg := models.CheckName(f.Name, false); msg != "" {
		f.fail("name", msg)
		return a.view(c, http.StatusUnprocessableEntity, &f, nil)
	}
	if err := a.names.SetName(c.Request().Context(), principalOf(c).User.ID, f.Name); err != nil {
		return err
	}
	setFlash(c, a.secure, "name_saved")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// UpdateTimezone changes the zone the user reads times in.
func (a *Account) UpdateTimezone(c echo.Context) error {
	var f zoneForm
	bindForm(c, &f)
	f.Timezone = strings.TrimSpace(f.Timezone)
	if f.Timezone != "" && !models.ValidTimezone(f.Timezone) {
		f.fail("timezone", "Time zone must be an IANA name such as Europe/Berlin")
		return a.view(c, http.StatusUnprocessableEntity, nil, nil, &f)
	}
	if err := a.names.SetTimezone(c.Request().Context(), principalOf(c).User.ID, f.Timezone); err != nil {
		return err
	}
	setFlash(c, a.secure, "timezone_saved")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// RotateCalendar gives the user a new calendar feed address; the old one
// stops working at once.
func (a *Account) RotateCalendar(c echo.Context) error {
	if err := a.names.RotateCalendar(c.Request().Context(), principalOf(c).User.ID); err != nil {
		return err
	}
	setFlash(c, a.secure, "calendar_rotated")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// ChangePassword checks the current password (counted like a sign-in),
// stores the new one, ends every other session and re-issues this one.
func (a *Account) ChangePassword(c echo.Context) error {
	p := principalOf(c)
	var f passwordForm
	bindForm(c, &f)
	ver, err := a.accounts.ChangePassword(c.Request().Context(), p.User, account.PasswordChange{Current: f.Current, New: f.New}, c.RealIP())
	var fe account.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return a.view(c, http.StatusUnprocessableEntity, nil, &f)
	}
	if r, ok := refuse(c, err); ok {
		f.Message = r.message
		return a.view(c, r.status, nil, &f)
	}
	if err != nil {
		return err
	}
	if err := a.sessions.Reissue(c, p, ver); err != nil {
		return err
	}
	setFlash(c, a.secure, "password_changed")
	return c.Redirect(http.StatusSeeOther, "/account")
}

// ConfirmSignOutAll asks before ending every session: the account page
// links here, and only the form on this page does it.
func (a *Account) ConfirmSignOutAll(c echo.Context) error {
	return render(c, http.StatusOK, views.SignOutAllConfirm(page(c, "Sign out everywhere")))
}

// SignOutAll ends every session and token of the user, this one included.
func (a *Account) SignOutAll(c echo.Context) error {
	p := principalOf(c)
	if err := a.accounts.SignOutAll(c.Request().Context(), p.User, p.session(), c.RealIP()); err != nil {
		return err
	}
	a.sessions.Clear(c)
	rotateCSRF(c, a.secure)
	setFlash(c, a.secure, "signed_out_all")
	return c.Redirect(http.StatusSeeOther, "/login")
}
