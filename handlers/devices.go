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
	"github.com/planner/planner/views"
)

// deviceService is what the devices routes ask of the accounts service
// (account.Service).
type deviceService interface {
	Sessions(ctx context.Context, u *models.User) ([]models.Session, error)
	RevokeSession(ctx context.Context, u *models.User, id uint, ip string) error
}

// msgSessionNotFound is the API's answer for a session id the caller has
// not got (another user's included).
const msgSessionNotFound = "Session not found"

// Devices serves the caller's list of sessions and API tokens, and ending
// one of them, on pages and in the API.
type Devices struct {
	accounts deviceService
	sessions sessionIssuer
	secure   bool
	timezone *time.Location
}

// NewDevices returns the devices routes; cfg gives the time zone and
// whether cookies are Secure.
func NewDevices(cfg Config, accounts deviceService, sessions sessionIssuer) *Devices {
	return &Devices{accounts: accounts, sessions: sessions, secure: cfg.Secure(), timezone: cfg.Timezone}
}

// sessionViews turns session records into what the pages show; current is
// the caller's own sid ("" for none), compared here and never shown.
func sessionViews(list []models.Session, current string, tz *time.Location) []views.SessionView {
	out := make([]views.SessionView, 0, len(list))
	for _, s := range list {
		kind := "Browser"
		if s.Kind == models.SessionAPI {
			kind = "API token"
		}
		out = append(out, views.SessionView{ID: strconv.FormatUint(uint64(s.ID), 10), Kind: kind, Browser: Browser(s.UserAgent),
			IP: s.IP, Created: s.CreatedAt.In(tz).Format("2 Jan 2006, 15:04 MST"),
			LastSeen: s.LastSeenAt.In(tz).Format("2 Jan 2006, 15:04 MST"), Current: current != "" && s.SID == current})
	}
	return out
}

// Index is the devices page.
func (d *Devices) Index(c echo.Context) error {
	p := principalOf(c)
	list, err := d.accounts.Sessions(c.Request().Context(), p.User)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Sessions(page(c, "Sessions and devices"), sessionViews(list, p.Claims.SID, d.timezone)))
}

// sessionID reads the :id of a session route; anything but a positive
// number is no session.
func sessionID(c echo.Context) (uint, bool) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 32)
	return uint(id), err == nil && id > 0
}

// Revoke ends one of the caller's sessions and goes back to the list (to
// sign-in, when it was this one).
func (d *Devices) Revoke(c echo.Context) error {
	p := principalOf(c)
	id, ok := sessionID(c)
	if !ok {
		return echo.ErrNotFound
	}
	current, err := d.isCurrent(c, p, id)
	if err != nil {
		return err
	}
	if err := d.accounts.RevokeSession(c.Request().Context(), p.User, id, c.RealIP()); err != nil {
		return err
	}
	setFlash(c, d.secure, "session_revoked")
	if current {
		d.sessions.Clear(c)
		rotateCSRF(c, d.secure)
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return c.Redirect(http.StatusSeeOther, "/account/sessions")
}

// isCurrent reports whether the caller's session id is the one of record id.
func (d *Devices) isCurrent(c echo.Context, p *Principal, id uint) (bool, error) {
	list, err := d.accounts.Sessions(c.Request().Context(), p.User)
	if err != nil {
		return false, err
	}
	for _, s := range list {
		if s.ID == id {
			return s.SID == p.Claims.SID, nil
		}
	}
	return false, nil
}

// sessionJSON is one session in the API.
type sessionJSON struct {
	ID         uint   `json:"id"`
	Type       string `json:"type"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	ExpiresAt  string `json:"expires_at"`
	IP         string `json:"ip"`
	Browser    string `json:"browser"`
	UserAgent  string `json:"user_agent"`
	Current    bool   `json:"current"`
}

// APIList is GET /api/user/sessions: the caller's live sessions and tokens.
func (d *Devices) APIList(c echo.Context) error {
	p := principalOf(c)
	list, err := d.accounts.Sessions(c.Request().Context(), p.User)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		out = append(out, sessionJSON{ID: s.ID, Type: s.Kind, CreatedAt: apiTime(s.CreatedAt), LastSeenAt: apiTime(s.LastSeenAt),
			ExpiresAt: apiTime(s.ExpiresAt), IP: s.IP, Browser: Browser(s.UserAgent), UserAgent: s.UserAgent,
			Current: s.SID == p.Claims.SID})
	}
	return c.JSON(http.StatusOK, out)
}

// APIDelete is DELETE /api/user/sessions/{id}: ends one of the caller's
// sessions (the calling token itself too, if that is the one named).
func (d *Devices) APIDelete(c echo.Context) error {
	p := principalOf(c)
	id, ok := sessionID(c)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, msgSessionNotFound)
	}
	err := d.accounts.RevokeSession(c.Request().Context(), p.User, id, c.RealIP())
	if errors.Is(err, models.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, msgSessionNotFound)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": "Session revoked"})
}

// Browser names the browser and system of a User-Agent in a few words
// ("Firefox on Linux"), for people to recognise their devices; anything
// unknown is shown as "Unknown".
func Browser(ua string) string {
	if ua == "" {
		return "Unknown"
	}
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
		{"Go-http-client/", "Go HTTP client"}, {"python-requests/", "Python requests"}, {"Wget/", "Wget"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	return "Unknown"
}
