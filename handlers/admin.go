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

// userAdmin is what the admin asks of the accounts service
// (account.Service): each change comes with its audit entry.
type userAdmin interface {
	ByID(ctx context.Context, id uint) (*models.User, error)
	SetRole(ctx context.Context, u *models.User, role string, by account.Actor) error
	SetDisabled(ctx context.Context, u *models.User, disabled bool, by account.Actor) error
	RevokeSessions(ctx context.Context, u *models.User, by account.Actor) error
	Unlock(ctx context.Context, email string, by account.Actor) (int64, error)
	ResetMFA(ctx context.Context, u *models.User, by account.Actor) error
	Delete(ctx context.Context, u *models.User, by account.Actor) error
	SessionsOf(ctx context.Context, ids []uint) ([]models.Session, error)
	LockedUntil(ctx context.Context, emails []string) (map[string]time.Time, error)
}

// siteReader is what the admin reads about the site as a whole
// (models.Site).
type siteReader interface {
	Stats(ctx context.Context, now time.Time, days int) (models.Stats, error)
	Users(ctx context.Context, q models.UserQuery) (models.UserPage, error)
	Audit(ctx context.Context, f models.AuditFilter) ([]models.AuditEntry, error)
}

// Admin serves the admin dashboard under /admin. Every route is behind
// the admin chain (see routes.go) and every form behind CSRF.
type Admin struct {
	accounts userAdmin
	site     siteReader
	events   eventStore
	secure   bool
	timezone *time.Location
	clock    models.Clock
}

// NewAdmin returns the admin dashboard.
func NewAdmin(cfg Config, accounts userAdmin, site siteReader, events eventStore) *Admin {
	return &Admin{accounts: accounts, site: site, events: events, secure: cfg.Secure(), timezone: cfg.Timezone, clock: cfg.Clock}
}

// adminPageSize is how many rows an admin list shows.
const adminPageSize = 50

// chartDays is how many days the dashboard chart covers.
const chartDays = 30

// Dashboard shows counts and the 30-day chart.
func (h *Admin) Dashboard(c echo.Context) error {
	st, err := h.site.Stats(c.Request().Context(), h.clock.Now(), chartDays)
	if err != nil {
		return err
	}
	counts := views.AdminCounts{Users: st.Users, Admins: st.Admins, Events: st.Events,
		SignIns: st.SignIns24h, FailedSignIns: st.FailedSignIns24h, Throttled: st.ThrottledPairs}
	chart := views.NewChart("Sign-ups and new events per day (UTC), last 30 days", st.Days, 260,
		views.ChartSeries{Name: "sign-ups", Class: "series-a", Values: st.SignupsPerDay},
		views.ChartSeries{Name: "new events", Class: "series-b", Values: st.EventsPerDay})
	return render(c, http.StatusOK, views.AdminDashboard(page(c, "Admin"), counts, chart))
}

// Users lists users, searchable by email, a page at a time.
func (h *Admin) Users(c echo.Context) error {
	q := models.UserQuery{Q: boundedParam(c.QueryParam("q"), 254), Limit: adminPageSize}
	q.After, q.Before = parseID(c.QueryParam("after")), parseID(c.QueryParam("before"))
	page, err := h.site.Users(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := views.AdminUsersView{Q: q.Q, Back: c.Request().URL.RequestURI()}
	ids := make([]uint, 0, len(page.Users))
	emails := make([]string, 0, len(page.Users))
	for _, u := range page.Users {
		ids = append(ids, u.ID)
		emails = append(emails, u.Email)
	}
	live, err := h.accounts.SessionsOf(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	locked, err := h.accounts.LockedUntil(c.Request().Context(), emails)
	if err != nil {
		return err
	}
	byUser := map[uint][]models.Session{}
	for _, s := range live {
		byUser[s.UserID] = append(byUser[s.UserID], s)
	}
	for _, u := range page.Users {
		r := h.userRow(&u)
		// The admin's own current session is not marked: "this device"
		// means the caller's, and these are someone else's rows.
		r.Sessions = sessionViews(byUser[u.ID], "", h.timezone)
		if until, ok := locked[u.Email]; ok {
			r.LockedUntil = until.In(h.timezone).Format("15:04 MST")
		}
		v.Users = append(v.Users, r)
	}
	var next, prev string
	if page.NextAfter > 0 {
		next = idString(page.NextAfter)
	}
	if page.PrevBefore > 0 {
		prev = idString(page.PrevBefore)
	}
	v.NextURL, v.PrevURL = pageURLs("/admin/users", map[string]string{"q": q.Q}, next, prev)
	return render(c, http.StatusOK, views.AdminUsers(pageOf(c, "Users"), v))
}

// pageOf is page for admin views (kept separate so the admin title reads well).
func pageOf(c echo.Context, title string) views.Page { return page(c, title+" · Admin") }

func parseID(s string) uint {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint(n)
}

func (h *Admin) userRow(u *models.User) views.AdminUserRow {
	r := views.AdminUserRow{ID: idString(u.ID), Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.In(h.timezone).Format("2006-01-02"), LastSignIn: "never", Verified: u.EmailVerifiedAt != nil, MFA: u.HasMFA()}
	if u.LastSignInAt != nil {
		r.LastSignIn = u.LastSignInAt.In(h.timezone).Format("2006-01-02 15:04")
	}
	return r
}

// target loads the user named in the path.
func (h *Admin) target(c echo.Context) (*models.User, error) {
	id := parseID(c.Param("id"))
	if id == 0 {
		return nil, echo.ErrNotFound
	}
	return h.accounts.ByID(c.Request().Context(), id)
}

// userAction runs one action on the user in the path (the accounts service
// audits it), and goes back to the list with a notice naming the user. The
// last-admin rule answers with a notice too, and changes nothing.
func (h *Admin) userAction(c echo.Context, flash string, do func(ctx context.Context, u *models.User, by account.Actor) error) error {
	u, err := h.target(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	back := postField(c, "back")
	if safeNext(back) == "" || !strings.HasPrefix(back, "/admin/users") {
		back = "/admin/users"
	}
	if err := do(ctx, u, account.By(principalOf(c).User, c.RealIP())); errors.Is(err, models.ErrLastAdmin) {
		setFlash(c, h.secure, "last_admin")
		return c.Redirect(http.StatusSeeOther, back)
	} else if err != nil {
		return err
	}
	setFlashAbout(c, h.secure, flash, u.Email)
	return c.Redirect(http.StatusSeeOther, back)
}

// Promote makes the user an admin; their sessions end so the role applies.
func (h *Admin) Promote(c echo.Context) error {
	return h.userAction(c, "user_promoted", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.SetRole(ctx, u, models.RoleAdmin, by)
	})
}

// Demote makes the user a plain user and ends their sessions.
func (h *Admin) Demote(c echo.Context) error {
	return h.userAction(c, "user_demoted", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.SetRole(ctx, u, models.RoleUser, by)
	})
}

// Disable stops the user signing in and ends their sessions.
func (h *Admin) Disable(c echo.Context) error {
	return h.userAction(c, "user_disabled", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.SetDisabled(ctx, u, true, by)
	})
}

// Enable lets a disabled user sign in again.
func (h *Admin) Enable(c echo.Context) error {
	return h.userAction(c, "user_enabled", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.SetDisabled(ctx, u, false, by)
	})
}

// Revoke ends every session and API token of the user.
func (h *Admin) Revoke(c echo.Context) error {
	return h.userAction(c, "sessions_revoked", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.RevokeSessions(ctx, u, by)
	})
}

// Unlock clears the user's sign-in throttles.
func (h *Admin) Unlock(c echo.Context) error {
	return h.userAction(c, "user_unlocked", func(ctx context.Context, u *models.User, by account.Actor) error {
		_, err := h.accounts.Unlock(ctx, u.Email, by)
		return err
	})
}

// ResetMFA turns the user's second factor off (for a user who lost their
// phone and their recovery codes) and ends their sessions.
func (h *Admin) ResetMFA(c echo.Context) error {
	return h.userAction(c, "mfa_reset", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.ResetMFA(ctx, u, by)
	})
}

// ConfirmDeleteUser says how many events go with the user.
func (h *Admin) ConfirmDeleteUser(c echo.Context) error {
	u, err := h.target(c)
	if err != nil {
		return err
	}
	n, err := h.events.CountByCreator(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AdminUserDelete(pageOf(c, "Delete user"), h.userRow(u), n))
}

// DeleteUser deletes the user and their events.
func (h *Admin) DeleteUser(c echo.Context) error {
	return h.userAction(c, "user_deleted", func(ctx context.Context, u *models.User, by account.Actor) error {
		return h.accounts.Delete(ctx, u, by)
	})
}

// Events lists every event, private ones included, newest first.
func (h *Admin) Events(c echo.Context) error {
	q := models.EventQuery{Viewer: principalOf(c).User, AllPrivate: true, Order: models.OrderNewest, Limit: adminPageSize,
		Q: boundedParam(c.QueryParam("q"), 200), After: c.QueryParam("after"), Before: c.QueryParam("before"), Now: h.clock.Now()}
	page, err := h.events.List(c.Request().Context(), q)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, "That page link is not valid.")
	}
	if err != nil {
		return err
	}
	v := views.AdminEventsView{Q: q.Q}
	for _, e := range page.Events {
		v.Events = append(v.Events, h.eventRow(&e))
	}
	v.NextURL, v.PrevURL = pageURLs("/admin/events", map[string]string{"q": q.Q}, page.Next, page.Prev)
	return render(c, http.StatusOK, views.AdminEvents(pageOf(c, "Events"), v))
}

// targetEvent loads the event named in the path, private ones included.
func (h *Admin) targetEvent(c echo.Context) (*models.Event, error) {
	id := parseID(c.Param("id"))
	if id == 0 {
		return nil, echo.ErrNotFound
	}
	return h.events.Get(c.Request().Context(), id)
}

// ConfirmDeleteEvent asks before deleting: the list's Delete is a link
// here, so one stray click deletes nothing.
func (h *Admin) ConfirmDeleteEvent(c echo.Context) error {
	e, err := h.targetEvent(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AdminEventDelete(pageOf(c, "Delete event"), h.eventRow(e)))
}

// DeleteEvent deletes any event and audits it.
func (h *Admin) DeleteEvent(c echo.Context) error {
	e, err := h.targetEvent(c)
	if err != nil {
		return err
	}
	if err := deleteEvent(c, h.events, e); err != nil {
		return err
	}
	setFlashAbout(c, h.secure, "event_deleted", e.Title)
	return c.Redirect(http.StatusSeeOther, "/admin/events")
}

func (h *Admin) eventRow(e *models.Event) views.AdminEventRow {
	row := views.AdminEventRow{ID: idString(e.ID), Title: e.Title, Creator: e.Creator.Email,
		Private: e.Visibility == models.VisibilityPrivate, CreatedAt: e.CreatedAt.In(h.timezone).Format("2006-01-02")}
	if e.StartsAt != nil {
		row.When = e.StartsAt.In(eventZone(e, h.timezone)).Format("2006-01-02 15:04 MST") // the event's own zone
	}
	return row
}

// auditActions are the actions the audit filter offers.
var auditActions = []string{
	models.ActionSignup, models.ActionSignin, models.ActionSigninFailed, models.ActionSigninThrottled,
	models.ActionSignout, models.ActionSignoutAll, models.ActionPasswordChanged, models.ActionUserPromoted,
	models.ActionUserDemoted, models.ActionUserDisabled, models.ActionUserEnabled, models.ActionSessionsRevoked,
	models.ActionUserUnlocked, models.ActionUserDeleted, models.ActionEventDeletedAdmin, models.ActionPasswordResetReq,
	models.ActionPasswordReset, models.ActionEmailVerified, models.ActionSessionRevoked,
	models.ActionMFAEnabled, models.ActionMFADisabled, models.ActionMFAFailed, models.ActionRecoveryCodeUsed,
	models.ActionPasskeyAdded, models.ActionPasskeyRemoved,
}

// Audit shows the audit log newest first, filtered by action and user.
func (h *Admin) Audit(c echo.Context) error {
	f := models.AuditFilter{
		Action: boundedParam(c.QueryParam("action"), 40),
		Actor:  boundedParam(c.QueryParam("user"), 254),
		Before: parseID(c.QueryParam("before")),
		Limit:  adminPageSize + 1,
	}
	entries, err := h.site.Audit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	v := views.AdminAuditView{Action: f.Action, User: f.Actor, Actions: auditActions}
	if len(entries) > adminPageSize {
		entries = entries[:adminPageSize]
		vals := url.Values{"before": {idString(entries[len(entries)-1].ID)}}
		if f.Action != "" {
			vals.Set("action", f.Action)
		}
		if f.Actor != "" {
			vals.Set("user", f.Actor)
		}
		v.NextURL = "/admin/audit?" + vals.Encode()
	}
	for _, e := range entries {
		actor := e.ActorEmail
		if actor == "" {
			actor = "(unknown)"
		}
		v.Entries = append(v.Entries, views.AuditRow{At: e.At.UTC().Format("2006-01-02 15:04:05"), Actor: actor,
			Action: e.Action, Target: e.Target, IP: e.IP, Outcome: e.Outcome})
	}
	return render(c, http.StatusOK, views.AdminAudit(pageOf(c, "Audit log"), v))
}
