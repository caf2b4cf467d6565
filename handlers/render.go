package handlers

import (
	"context"
	"net/http"
	"net/url"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/views"
)

// render writes component into a buffer first, so a failed render becomes
// a clean 500 from the error handler instead of half a page.
func render(c echo.Context, status int, component templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	// Rendering into memory needs no cancellation, and the error page is
	// rendered after the request's deadline has ended its context.
	if err := component.Render(context.WithoutCancel(c.Request().Context()), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// Flash codes: the flash cookie carries one of these keys, never free text,
// so nobody who can set a cookie can make Planner say something it didn't.
var flashMessages = map[string]string{
	"signed_out":         "You have been signed out.",
	"signed_out_all":     "Every session of your account has ended. Sign in again to continue.",
	"password_changed":   "Your password has been changed. Every other session has ended.",
	"name_saved":         "Your display name has been saved.",
	"welcome":            "Welcome to Planner! Your account is ready.",
	"user_promoted":      "The user is now an admin. Their sessions have ended.",
	"user_demoted":       "The user is no longer an admin. Their sessions have ended.",
	"user_disabled":      "The user is disabled. Their sessions have ended.",
	"user_enabled":       "The user is enabled again.",
	"sessions_revoked":   "Every session and token of the user has ended.",
	"user_unlocked":      "Sign-in throttling for the user has been cleared.",
	"user_deleted":       "The user and their events have been deleted.",
	"event_deleted":      "The event has been deleted.",
	"last_admin":         "The last enabled admin cannot be demoted, disabled or deleted.",
	"password_reset":     "Your password has been reset and every session has ended. Sign in with the new password.",
	"email_verified":     "Thank you: your email address is confirmed.",
	"verification_sent":  "We have sent the confirmation link again. It works for 48 hours.",
	"verification_limit": "We have sent several confirmation links in the last hour: please use one of those, or try again later.",
	"session_revoked":    "The session has ended.",
	"mfa_reset":          "The user's two-factor sign-in is off and their sessions have ended.",
	"mfa_disabled":       "Two-factor sign-in is off.",
	"mfa_setup":          "Scan the code, then type the code your app shows.",
	"admin_mfa_required": "Admins must turn on two-factor sign-in before using the admin pages.",
	"passkey_removed":    "The passkey has been removed.",
	"confirmed":          "Thank you. You can carry on.",
	"timezone_saved":     "Your time zone has been saved.",
	"calendar_rotated":   "Your calendar feed has a new address. The old one no longer works.",
	"rsvp_going":         "You're going. See you there!",
	"rsvp_waitlisted":    "The event is full: you're on the waitlist and will get a seat when one frees up.",
	"rsvp_cancelled":     "Your RSVP has been cancelled.",
	"share_on":           "The share link is on. Anyone with it can see the event.",
	"share_off":          "The share link is off. It no longer opens the event.",
	"event_created":      "The event has been created.",
	"event_updated":      "Your changes to the event have been saved.",
}

const flashCookie = "planner_flash"

// setFlash shows the message for key on the next page rendered; secure is
// Config.Secure.
func setFlash(c echo.Context, secure bool, key string) {
	c.SetCookie(&http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(key), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// takeFlash returns the pending flash message, if any, and clears it.
func takeFlash(c echo.Context) string {
	ck, err := c.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true})
	value, _ := url.QueryUnescape(ck.Value)
	if msg, ok := flashAboutMessage(c, value); ok {
		return msg
	}
	return flashMessages[value]
}

// assetsKey is the context key under which the assets version is kept.
const assetsKey = "planner.assets"

// page builds the layout's view model for the current request.
func page(c echo.Context, title string) views.Page {
	p := views.Page{Title: title, Flash: takeFlash(c)}
	if tok, ok := c.Get(csrfContextKey).(string); ok {
		p.CSRF = tok
	}
	if v, ok := c.Get(assetsKey).(string); ok {
		p.Assets = v
	}
	if pr := principalOf(c); pr != nil {
		p.User = &views.User{Name: pr.User.Name, Email: pr.User.Email, Admin: pr.User.IsAdmin(),
			Unverified: pr.User.EmailVerifiedAt == nil}
	}
	return p
}
