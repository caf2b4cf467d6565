package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"gorm.io/gorm"
)

// The four kinds of caller the authorization matrix tries on every route.
// "user" owns the fixtures' events; "other" is another plain user.
const (
	roleAnon  = "anon"
	roleUser  = "user"
	roleOther = "other"
	roleAdmin = "admin"
)

var authzRoles = []string{roleAnon, roleUser, roleOther, roleAdmin}

// toLogin stands for the sign-in redirect of the very path requested:
// 303 to /login?next=<that path>.
const toLogin = "\x00login"

// outcome is what one caller must get from one request.
type outcome struct {
	status   int
	location string // prefix of Location (or toLogin); "" = not checked
}

// Outcome shorthands: 200, 303 to a prefix, any status, the sign-in redirect.
func o200() outcome              { return outcome{status: http.StatusOK} }
func o303(prefix string) outcome { return outcome{status: http.StatusSeeOther, location: prefix} }
func oStatus(code int) outcome   { return outcome{status: code} }
func oLogin() outcome            { return outcome{status: http.StatusSeeOther, location: toLogin} }
func allRoles(o outcome) map[string]outcome {
	return map[string]outcome{roleAnon: o, roleUser: o, roleOther: o, roleAdmin: o}
}

// perRole gives the outcome per role, in the order anon, user, other, admin.
func perRole(anon, user, other, admin outcome) map[string]outcome {
	return map[string]outcome{roleAnon: anon, roleUser: user, roleOther: other, roleAdmin: admin}
}

// signedIn is anon for anonymous callers and in for everyone signed in.
func signedIn(anon, in outcome) map[string]outcome { return perRole(anon, in, in, in) }

// adminOnly is the admin area's rule: anonymous to the sign-in page, users
// (the events' owner included) 403, admins get admin.
func adminOnly(admin outcome) map[string]outcome {
	return perRole(oLogin(), oStatus(http.StatusForbidden), oStatus(http.StatusForbidden), admin)
}

// authzWorld is the fixtures of one cell of the matrix: fresh accounts (so a
// cell that signs out, changes a password or deletes someone spoils nothing
// for the next) and the owner's public and private events.
type authzWorld struct {
	app                                      *testApp
	n                                        int
	owner, other, admin, target, targetAdmin *models.User
	public, private                          *models.Event
	device                                   *models.Session // a session of the owner, for the devices rows
}

func newAuthzWorld(t *testing.T, app *testApp, n int, hash string, withTargets bool) *authzWorld {
	t.Helper()
	w := &authzWorld{app: app, n: n}
	users := models.NewUsers(app.db)
	mk := func(kind, role string) *models.User {
		u, err := users.Create(context.Background(), fmt.Sprintf("%s-%d@example.com", kind, n), "", hash, role)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	w.owner, w.other, w.admin = mk("owner", models.RoleUser), mk("other", models.RoleUser), mk("admin", models.RoleAdmin)
	if withTargets {
		w.target, w.targetAdmin = mk("target", models.RoleUser), mk("second-admin", models.RoleAdmin)
	}
	w.public = app.createEvent(w.owner.ID, fmt.Sprintf("Public picnic [%d]", n), "public", "food")
	w.private = app.createEvent(w.owner.ID, fmt.Sprintf("Secret surprise [%d]", n), "private", "secret")
	now := time.Now()
	sessions := models.NewSessions(app.db)
	sid := fmt.Sprintf("authz-device-%d", n)
	if err := sessions.Record(context.Background(), models.Session{SID: sid, UserID: w.owner.ID, Kind: models.SessionBrowser,
		TokenVersion: w.owner.TokenVersion, IP: "198.51.100.9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	list, err := sessions.Live(context.Background(), w.owner.ID, now)
	if err != nil || len(list) != 1 {
		t.Fatalf("the owner's device: %v, %v", list, err)
	}
	w.device = &list[0]
	return w
}

func (w *authzWorld) user(role string) *models.User {
	switch role {
	case roleUser:
		return w.owner
	case roleOther:
		return w.other
	case roleAdmin:
		return w.admin
	}
	return nil
}

// cell is one request of the matrix and what came back.
type cell struct {
	w      *authzWorld
	role   string
	path   string
	caller *models.User // nil for anonymous
	token  string       // the caller's bearer token on API routes
	c      *client
	rec    *httptest.ResponseRecorder
}

// authzCase is one target of a route (say, a public and a private event)
// with the outcome each caller must get.
type authzCase struct {
	name  string
	path  func(w *authzWorld) string
	body  func(w *authzWorld, role string) any // a form for pages, JSON for the API
	setup func(t *testing.T, w *authzWorld)
	want  map[string]outcome
	// check, when set, looks at the result of a request that was let
	// through (2xx or a redirect other than the sign-in one).
	check func(t *testing.T, x *cell)
}

// authzRow is a route as routes.go registers it, and its cases.
type authzRow struct {
	method, route string
	cases         []authzCase
}

func pathOf(p string) func(*authzWorld) string { return func(*authzWorld) string { return p } }

func eventPath(format string, private bool) func(*authzWorld) string {
	return func(w *authzWorld) string {
		e := w.public
		if private {
			e = w.private
		}
		return fmt.Sprintf(format, e.ID)
	}
}

func userPath(format string, admin bool) func(*authzWorld) string {
	return func(w *authzWorld) string {
		u := w.target
		if admin {
			u = w.targetAdmin
		}
		return fmt.Sprintf(format, u.ID)
	}
}

// eventCases are the cases of a route on one event: the public event (other
// users get forbidden), the private one (other users get 404: it is
// invisible to them) and a missing one.
func eventCases(format string, anon, allowed, forbidden outcome, body func(*authzWorld, string) any, check func(*testing.T, *cell)) []authzCase {
	return []authzCase{
		{name: "public", path: eventPath(format, false), body: body, check: check,
			want: perRole(anon, allowed, forbidden, allowed)},
		{name: "private", path: eventPath(format, true), body: body, check: check,
			want: perRole(anon, allowed, oStatus(http.StatusNotFound), allowed)},
		{name: "missing", path: pathOf(fmt.Sprintf(format, 999999)), body: body,
			want: perRole(anon, oStatus(http.StatusNotFound), oStatus(http.StatusNotFound), oStatus(http.StatusNotFound))},
	}
}

func devicePath(format string) func(*authzWorld) string {
	return func(w *authzWorld) string { return fmt.Sprintf(format, w.device.ID) }
}

// deviceEnded checks that the owner's device is no longer listed and that
// its sid is revoked.
func deviceEnded(t *testing.T, x *cell) {
	t.Helper()
	list, err := models.NewSessions(x.w.app.db).Live(context.Background(), x.w.owner.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == x.w.device.ID {
			t.Fatal("the device is still listed after it was ended")
		}
	}
	if _, held, err := models.NewSessions(x.w.app.db).Holder(context.Background(), x.w.owner.ID, x.w.device.SID); err != nil || !held.Revoked {
		t.Fatalf("the device's session is not revoked: %+v, %v", held, err)
	}
}

// wantQueued checks that a mail of kind for to is in the outbox.
func wantQueued(t *testing.T, x *cell, to, kind string) {
	t.Helper()
	var n int64
	if err := x.w.app.db.Model(&models.OutboxMail{}).Where("to_addr = ? AND kind = ?", to, kind).Count(&n).Error; err != nil || n == 0 {
		t.Fatalf("no %s mail queued for %s (%v)", kind, to, err)
	}
}

// passwordReset checks that the other user's password was reset (and
// their sessions ended).
func passwordReset(t *testing.T, x *cell) {
	t.Helper()
	if u := userState(t, x, x.w.other); u.PasswordHash == x.w.other.PasswordHash || u.TokenVersion == x.w.other.TokenVersion {
		t.Fatalf("after the reset: %+v", u)
	}
}

func editForm(_ *authzWorld, role string) any { return eventForm("Edited by " + role) }

func eventJSONBody(_ *authzWorld, role string) any {
	return map[string]any{"title": "Edited by " + role, "tags": []string{"x"}}
}

// shareOn turns the private event's share link on.
func shareOn(t *testing.T, w *authzWorld) {
	t.Helper()
	gen, err := models.NewEvents(w.app.db).SetShareGen(context.Background(), w.private.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	w.private.ShareGen = gen
}

// sharedPath is the private event's page (or, with suffix ".ics", its
// calendar file) through its share link.
func sharedPath(suffix string) func(*authzWorld) string {
	return func(w *authzWorld) string {
		key := (derivedSecrets{keys: w.app.cfg.SecretKeys}).ShareKey(w.private.ID, max(1, w.private.ShareGen))
		return fmt.Sprintf("/events/%d%s?key=%s", w.private.ID, suffix, key)
	}
}

// rsvpCases are the cases of an RSVP route: anyone signed in who may see
// the event may answer (or cancel); another user cannot see the private
// one. going says whether the allowed request leaves the caller going.
func rsvpCases(format string, anon, allowed outcome, going bool) []authzCase {
	check := func(t *testing.T, x *cell) {
		t.Helper()
		status, err := models.NewEvents(x.w.app.db).MyRSVP(context.Background(), pathID(x), x.caller.ID)
		if err != nil || (status == models.RSVPGoing) != going {
			t.Fatalf("after an allowed request by %s the RSVP is %q (%v)", x.role, status, err)
		}
	}
	missing := oStatus(http.StatusNotFound)
	return []authzCase{
		{name: "public", path: eventPath(format, false), check: check, want: perRole(anon, allowed, allowed, allowed)},
		{name: "private", path: eventPath(format, true), check: check, want: perRole(anon, allowed, missing, allowed)},
		{name: "missing", path: pathOf(fmt.Sprintf(format, 999999)), want: perRole(anon, missing, missing, missing)},
	}
}

// storedEvent reads the event of the cell's path back, or nil if it is gone.
func storedEvent(t *testing.T, x *cell, id uint) *models.Event {
	t.Helper()
	e, err := models.NewEvents(x.w.app.db).Get(context.Background(), id)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pathID is the first number in the cell's path: the event or user id.
func pathID(x *cell) uint {
	var id uint
	if i := strings.IndexAny(x.path, "0123456789"); i >= 0 {
		fmt.Sscanf(x.path[i:], "%d", &id)
	}
	return id
}

func eventEdited(t *testing.T, x *cell) {
	t.Helper()
	if e := storedEvent(t, x, pathID(x)); e == nil || e.Title != "Edited by "+x.role || e.CreatorID != x.w.owner.ID {
		t.Fatalf("after an allowed edit by %s the event is %+v", x.role, e)
	}
}

func eventGone(t *testing.T, x *cell) {
	t.Helper()
	if e := storedEvent(t, x, pathID(x)); e != nil {
		t.Fatalf("event %d still there after an allowed delete by %s", e.ID, x.role)
	}
}

// leakCheck fails when an anonymous visitor or another user is shown the
// owner's private event.
func leakCheck(t *testing.T, x *cell) {
	t.Helper()
	leaked := strings.Contains(x.rec.Body.String(), x.w.private.Title)
	if leaked && (x.role == roleAnon || x.role == roleOther) {
		t.Fatalf("%s sees the private event", x.role)
	}
}

func userState(t *testing.T, x *cell, u *models.User) *models.User {
	t.Helper()
	got, err := models.NewUsers(x.w.app.db).ByID(context.Background(), u.ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// authzTable is every route of routes.go. A route registered there without
// a row here fails TestAuthorizationMatrix.
func authzTable() []authzRow {
	unique := func(prefix string) func(*authzWorld, string) any {
		return func(w *authzWorld, role string) any {
			return fmt.Sprintf("%s-%d-%s@example.com", prefix, w.n, role)
		}
	}
	signupForm := func(w *authzWorld, role string) any {
		return url.Values{"email": {unique("page")(w, role).(string)}, "password": {goodPassword}}
	}
	signupJSON := func(w *authzWorld, role string) any {
		return map[string]any{"email": unique("api")(w, role), "password": goodPassword}
	}
	accountExists := func(prefix string) func(*testing.T, *cell) {
		return func(t *testing.T, x *cell) {
			email := unique(prefix)(x.w, x.role).(string)
			if _, err := models.NewUsers(x.w.app.db).ByEmail(context.Background(), email); err != nil {
				t.Fatalf("sign-up did not create %s: %v", email, err)
			}
		}
	}
	return []authzRow{
		// Probes and assets.
		{"GET", "/healthz", []authzCase{{path: pathOf("/healthz"), want: allRoles(o200())}}},
		{"GET", "/readyz", []authzCase{{path: pathOf("/readyz"), want: allRoles(o200())}}},
		{"GET", "/static/*", []authzCase{{path: pathOf("/static/style.css"), want: allRoles(o200())},
			{name: "missing", path: pathOf("/static/nope.css"), want: allRoles(oStatus(http.StatusNotFound))}}},

		// Public pages.
		{"GET", "/", []authzCase{{path: pathOf("/"), want: allRoles(o200()), check: leakCheck}}},
		{"GET", "/widget", []authzCase{{path: pathOf("/widget"), want: allRoles(o200())}}},
		{"GET", "/signup", []authzCase{{path: pathOf("/signup"), want: signedIn(o200(), o303("/events"))}}},
		{"POST", "/signup", []authzCase{{path: pathOf("/signup"), body: signupForm, want: allRoles(o303("/events")),
			check: accountExists("page")}}},
		{"GET", "/login", []authzCase{{path: pathOf("/login"), want: signedIn(o200(), o303("/events"))}}},
		{"POST", "/login", []authzCase{{path: pathOf("/login"), want: allRoles(o303("/events")),
			body: func(w *authzWorld, _ string) any {
				return url.Values{"email": {w.other.Email}, "password": {goodPassword}}
			}}}},
		{"POST", "/logout", []authzCase{{path: pathOf("/logout"), want: allRoles(o303("/")),
			check: func(t *testing.T, x *cell) {
				if x.c.session() != "" {
					t.Fatal("sign-out left a session cookie")
				}
			}}}},

		// Events in the browser.
		{"GET", "/events", []authzCase{{path: pathOf("/events"), want: allRoles(o200()), check: leakCheck}}},
		{"GET", "/events/new", []authzCase{{path: pathOf("/events/new"), want: signedIn(oLogin(), o200())}}},
		{"POST", "/events", []authzCase{{path: pathOf("/events"), want: signedIn(oLogin(), o303("/events/")),
			body: func(_ *authzWorld, role string) any { return eventForm("Created by " + role) },
			check: func(t *testing.T, x *cell) {
				var id uint
				fmt.Sscanf(x.rec.Header().Get("Location"), "/events/%d", &id)
				if e := storedEvent(t, x, id); e == nil || e.CreatorID != x.caller.ID {
					t.Fatalf("created event %+v, want creator %d", e, x.caller.ID)
				}
			}}}},
		{"GET", "/events/:id", []authzCase{
			{name: "public", path: eventPath("/events/%d", false), want: allRoles(o200())},
			{name: "private", path: eventPath("/events/%d", true), check: leakCheck,
				want: perRole(oStatus(http.StatusNotFound), o200(), oStatus(http.StatusNotFound), o200())},
			{name: "missing", path: pathOf("/events/999999"), want: allRoles(oStatus(http.StatusNotFound))},
			{name: "bad id", path: pathOf("/events/x1"), want: allRoles(oStatus(http.StatusNotFound))},
			{name: "public ics", path: eventPath("/events/%d.ics", false), want: allRoles(o200())},
			{name: "private ics", path: eventPath("/events/%d.ics", true), check: leakCheck,
				want: perRole(oStatus(http.StatusNotFound), o200(), oStatus(http.StatusNotFound), o200())},
			{name: "private with its share key", setup: shareOn, path: sharedPath(""), want: allRoles(o200())},
			{name: "private ics with its share key", setup: shareOn, path: sharedPath(".ics"), want: allRoles(o200())},
			{name: "private with a wrong key", setup: shareOn, path: eventPath("/events/%d?key=AAAAAAAAAAAAAAAAAAAAAA", true),
				check: leakCheck, want: perRole(oStatus(http.StatusNotFound), o200(), oStatus(http.StatusNotFound), o200())},
			{name: "private with a key of a link turned off", path: sharedPath(""), check: leakCheck,
				setup: func(t *testing.T, w *authzWorld) {
					shareOn(t, w)
					if _, err := models.NewEvents(w.app.db).SetShareGen(context.Background(), w.private.ID, false); err != nil {
						t.Fatal(err)
					}
				},
				want: perRole(oStatus(http.StatusNotFound), o200(), oStatus(http.StatusNotFound), o200())},
		}},
		{"GET", "/events/mine", []authzCase{{path: pathOf("/events/mine"), want: signedIn(oLogin(), o200()), check: leakCheck}}},
		{"POST", "/events/:id/rsvp", rsvpCases("/events/%d/rsvp", oLogin(), o303("/events"), true)},
		{"POST", "/events/:id/rsvp/cancel", rsvpCases("/events/%d/rsvp/cancel", oLogin(), o303("/events"), false)},
		{"GET", "/events/:id/attendees", eventCases("/events/%d/attendees", oLogin(), o200(), oStatus(http.StatusForbidden), nil, nil)},
		{"GET", "/events/:id/attendees.csv", eventCases("/events/%d/attendees.csv", oLogin(), o200(), oStatus(http.StatusForbidden), nil, nil)},
		{"POST", "/events/:id/share", []authzCase{
			{name: "public", path: eventPath("/events/%d/share", false),
				want: perRole(oLogin(), oStatus(http.StatusBadRequest), oStatus(http.StatusForbidden), oStatus(http.StatusBadRequest))},
			{name: "private", path: eventPath("/events/%d/share", true), body: func(*authzWorld, string) any { return url.Values{"action": {"on"}} },
				want: perRole(oLogin(), o303("/events/"), oStatus(http.StatusNotFound), o303("/events/")),
				check: func(t *testing.T, x *cell) {
					if e := storedEvent(t, x, x.w.private.ID); e.ShareGen <= 0 {
						t.Fatalf("share link still off: %d", e.ShareGen)
					}
				}},
			{name: "missing", path: pathOf("/events/999999/share"),
				want: perRole(oLogin(), oStatus(http.StatusNotFound), oStatus(http.StatusNotFound), oStatus(http.StatusNotFound))},
		}},
		{"GET", "/calendar/:token", []authzCase{
			{name: "owner's feed", path: func(w *authzWorld) string {
				return "/calendar/" + (derivedSecrets{keys: w.app.cfg.SecretKeys}).FeedToken(w.owner.ID, w.owner.CalendarGen) + ".ics"
			}, want: allRoles(o200())},
			{name: "wrong token", path: func(w *authzWorld) string { return fmt.Sprintf("/calendar/%d-AAAAAAAAAAAAAAAAAAAAAA.ics", w.owner.ID) },
				want: allRoles(oStatus(http.StatusNotFound))},
			{name: "no suffix", path: func(w *authzWorld) string {
				return "/calendar/" + (derivedSecrets{keys: w.app.cfg.SecretKeys}).FeedToken(w.owner.ID, w.owner.CalendarGen)
			}, want: allRoles(oStatus(http.StatusNotFound))},
		}},
		{"GET", "/events/:id/edit", eventCases("/events/%d/edit", oLogin(), o200(), oStatus(http.StatusForbidden), nil, nil)},
		{"POST", "/events/:id/edit", eventCases("/events/%d/edit", oLogin(), o303("/events/"), oStatus(http.StatusForbidden),
			editForm, eventEdited)},
		{"GET", "/events/:id/delete", eventCases("/events/%d/delete", oLogin(), o200(), oStatus(http.StatusForbidden), nil, nil)},
		{"POST", "/events/:id/delete", eventCases("/events/%d/delete", oLogin(), o303("/events"), oStatus(http.StatusForbidden),
			nil, eventGone)},

		// The account.
		{"GET", "/account", []authzCase{{path: pathOf("/account"), want: signedIn(oLogin(), o200()),
			check: func(t *testing.T, x *cell) {
				if got := testid(t, x.rec, "account-email"); got != x.caller.Email {
					t.Fatalf("account page of %q shows %q", x.caller.Email, got)
				}
			}}}},
		{"POST", "/account", []authzCase{{path: pathOf("/account"), want: signedIn(oLogin(), o303("/account")),
			body: func(_ *authzWorld, role string) any { return url.Values{"name": {"Renamed " + role}} },
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.caller); u.Name != "Renamed "+x.role {
					t.Fatalf("name %q", u.Name)
				}
			}}}},
		{"POST", "/account/password", []authzCase{{path: pathOf("/account/password"), want: signedIn(oLogin(), o303("/account")),
			body: func(*authzWorld, string) any {
				return url.Values{"current_password": {goodPassword}, "new_password": {"a-new-long-passphrase"}}
			},
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.caller); u.PasswordHash == x.caller.PasswordHash {
					t.Fatal("password unchanged")
				}
			}}}},
		{"POST", "/account/timezone", []authzCase{{path: pathOf("/account/timezone"), want: signedIn(oLogin(), o303("/account")),
			body: func(*authzWorld, string) any { return url.Values{"timezone": {"Asia/Tokyo"}} },
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.caller); u.Timezone != "Asia/Tokyo" {
					t.Fatalf("time zone %q", u.Timezone)
				}
			}}}},
		{"POST", "/account/calendar", []authzCase{{path: pathOf("/account/calendar"), want: signedIn(oLogin(), o303("/account")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.caller); u.CalendarGen == x.caller.CalendarGen {
					t.Fatal("feed token not rotated")
				}
			}}}},
		{"GET", "/account/signout-all", []authzCase{{path: pathOf("/account/signout-all"), want: signedIn(oLogin(), o200()),
			check: func(t *testing.T, x *cell) {
				if testid(t, x.rec, "confirm-signout-all") == "" {
					t.Fatal("no confirmation button")
				}
			}}}},
		{"POST", "/account/signout-all", []authzCase{{path: pathOf("/account/signout-all"), want: signedIn(oLogin(), o303("/login")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.caller); u.TokenVersion == x.caller.TokenVersion {
					t.Fatal("token version not bumped")
				}
			}}}},

		// Two factors and step-up.
		{"GET", "/login/mfa", []authzCase{{path: pathOf("/login/mfa"), want: allRoles(o303("/login"))}}},
		{"POST", "/login/mfa", []authzCase{{path: pathOf("/login/mfa"), want: allRoles(o303("/login")),
			body: func(*authzWorld, string) any { return url.Values{"code": {"123456"}} }}}},
		{"GET", "/login/confirm", []authzCase{{path: pathOf("/login/confirm?next=/account/mfa"), want: signedIn(oLogin(), o200())}}},
		{"POST", "/login/confirm", []authzCase{{path: pathOf("/login/confirm"), want: signedIn(oLogin(), o303("/account/mfa")),
			body: func(*authzWorld, string) any { return url.Values{"password": {goodPassword}, "next": {"/account/mfa"}} }}}},
		{"GET", "/account/mfa", []authzCase{{path: pathOf("/account/mfa"), want: signedIn(oLogin(), o200())}}},
		{"POST", "/account/mfa/setup", []authzCase{{path: pathOf("/account/mfa/setup"), want: signedIn(oLogin(), o303("/account/mfa")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.caller); u.TOTPSecret == "" || u.TOTPEnabledAt != nil {
					t.Fatalf("after set-up: secret %q, enabled %v", u.TOTPSecret, u.TOTPEnabledAt)
				}
			}}}},
		{"POST", "/account/mfa/confirm", []authzCase{{path: pathOf("/account/mfa/confirm"), want: signedIn(oLogin(), o303("/account/mfa")),
			body: func(*authzWorld, string) any { return url.Values{"code": {"123456"}} }}}},
		{"POST", "/account/mfa/disable", []authzCase{{path: pathOf("/account/mfa/disable"), want: signedIn(oLogin(), o303("/account/mfa")),
			body: func(*authzWorld, string) any { return url.Values{"password": {goodPassword}} }}}},

		// Passkeys: the ceremonies refuse answers without their signed state.
		{"POST", "/login/passkey/options", []authzCase{{path: pathOf("/login/passkey/options"), want: allRoles(o200())}}},
		{"POST", "/login/passkey", []authzCase{{path: pathOf("/login/passkey"), want: allRoles(oStatus(http.StatusBadRequest))}}},
		{"GET", "/account/passkeys", []authzCase{{path: pathOf("/account/passkeys"), want: signedIn(oLogin(), o200())}}},
		{"POST", "/account/passkeys/options", []authzCase{{path: pathOf("/account/passkeys/options"), want: signedIn(oLogin(), o200())}}},
		{"POST", "/account/passkeys", []authzCase{{path: pathOf("/account/passkeys"), want: signedIn(oLogin(), oStatus(http.StatusBadRequest))}}},
		{"POST", "/account/passkeys/:id/delete", []authzCase{{
			setup: func(t *testing.T, w *authzWorld) {
				if err := models.NewPasskeys(w.app.db).Create(context.Background(), &models.Passkey{UserID: w.owner.ID, Name: "Owner's key",
					CredentialID: fmt.Sprintf("authz-credential-%d", w.n), Credential: "{}", CreatedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			},
			path: func(w *authzWorld) string {
				var p models.Passkey
				if err := w.app.db.Where("user_id = ?", w.owner.ID).First(&p).Error; err != nil {
					return "/account/passkeys/999999/delete"
				}
				return fmt.Sprintf("/account/passkeys/%d/delete", p.ID)
			},
			want: perRole(oLogin(), o303("/account/passkeys"), oStatus(http.StatusNotFound), oStatus(http.StatusNotFound)),
			check: func(t *testing.T, x *cell) {
				var n int64
				if err := x.w.app.db.Model(&models.Passkey{}).Where("user_id = ?", x.w.owner.ID).Count(&n).Error; err != nil || n != 0 {
					t.Fatalf("the owner's passkey is still there: %d %v", n, err)
				}
			}}}},

		// Sessions and devices: only one's own; another user's id is 404.
		{"GET", "/account/sessions", []authzCase{{path: pathOf("/account/sessions"), want: signedIn(oLogin(), o200()),
			check: func(t *testing.T, x *cell) {
				d := doc(t, x.rec)
				if d.Find(`[data-testid="this-device"]`).Length() != 1 {
					t.Fatalf("devices page of %s without exactly one \"this device\": %.600s", x.role, x.rec.Body.String())
				}
				owns := d.Find(fmt.Sprintf(`[data-testid="session-%d"]`, x.w.device.ID)).Length() == 1
				if owns != (x.caller.ID == x.w.owner.ID) {
					t.Fatalf("devices page of %s lists the owner's device: %v", x.role, owns)
				}
			}}}},
		{"POST", "/account/sessions/:id/revoke", []authzCase{{path: devicePath("/account/sessions/%d/revoke"),
			want:  perRole(oLogin(), o303("/account/sessions"), oStatus(http.StatusNotFound), oStatus(http.StatusNotFound)),
			check: deviceEnded}}},
		{"GET", "/account/verify", []authzCase{{path: pathOf("/account/verify?token=abc"), want: allRoles(o200())}}},
		{"POST", "/account/verify", []authzCase{{path: pathOf("/account/verify"), want: allRoles(o303("/")),
			body: func(w *authzWorld, _ string) any {
				return url.Values{"token": {account.VerifyToken(account.LinkKeys([][]byte{testKey}), w.other, time.Now())}}
			},
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.other); u.EmailVerifiedAt == nil {
					t.Fatal("address not verified")
				}
			}}}},
		{"POST", "/account/verify/resend", []authzCase{{path: pathOf("/account/verify/resend"), want: signedIn(oLogin(), o303("/account")),
			check: func(t *testing.T, x *cell) { wantQueued(t, x, x.caller.Email, models.MailVerifyEmail) }}}},
		{"GET", "/password/forgot", []authzCase{{path: pathOf("/password/forgot"), want: allRoles(o200())}}},
		{"POST", "/password/forgot", []authzCase{{path: pathOf("/password/forgot"), want: allRoles(o200()),
			body:  func(w *authzWorld, _ string) any { return url.Values{"email": {w.other.Email}} },
			check: func(t *testing.T, x *cell) { wantQueued(t, x, x.w.other.Email, models.MailPasswordReset) }}}},
		{"GET", "/password/reset", []authzCase{{path: pathOf("/password/reset?token=abc"), want: allRoles(o200())}}},
		{"POST", "/password/reset", []authzCase{{path: pathOf("/password/reset"), want: allRoles(o303("/login")),
			body: func(w *authzWorld, _ string) any {
				return url.Values{"token": {account.ResetToken(account.LinkKeys([][]byte{testKey}), w.other, time.Now())},
					"new_password": {"a-new-long-passphrase"}}
			},
			check: passwordReset}}},

		// The JSON API: bearer tokens; 401 instead of redirects.
		{"POST", "/api/user/signup", []authzCase{{path: pathOf("/api/user/signup"), body: signupJSON, want: allRoles(o200()),
			check: accountExists("api")}}},
		{"POST", "/api/user/signin", []authzCase{{path: pathOf("/api/user/signin"), want: allRoles(o200()),
			body: func(w *authzWorld, _ string) any {
				return url.Values{"username": {w.other.Email}, "password": {goodPassword}}
			}}}},
		{"POST", "/api/user/signout", []authzCase{{path: pathOf("/api/user/signout"), want: signedIn(oStatus(http.StatusUnauthorized), o200()),
			check: func(t *testing.T, x *cell) {
				if rec := x.c.api("GET", "/api/user/me", x.token, nil); rec.Code != http.StatusUnauthorized {
					t.Fatalf("token still works after sign-out: %d", rec.Code)
				}
			}}}},
		{"GET", "/api/user/me", []authzCase{{path: pathOf("/api/user/me"), want: signedIn(oStatus(http.StatusUnauthorized), o200()),
			check: func(t *testing.T, x *cell) {
				if !strings.Contains(x.rec.Body.String(), `"email":"`+x.caller.Email+`"`) {
					t.Fatalf("me of %s: %s", x.caller.Email, x.rec.Body.String())
				}
			}}}},
		{"POST", "/api/user/password/forgot", []authzCase{{path: pathOf("/api/user/password/forgot"), want: allRoles(oStatus(http.StatusAccepted)),
			body:  func(w *authzWorld, _ string) any { return map[string]any{"email": w.other.Email} },
			check: func(t *testing.T, x *cell) { wantQueued(t, x, x.w.other.Email, models.MailPasswordReset) }}}},
		{"POST", "/api/user/password/reset", []authzCase{{path: pathOf("/api/user/password/reset"), want: allRoles(o200()),
			body: func(w *authzWorld, _ string) any {
				return map[string]any{"token": account.ResetToken(account.LinkKeys([][]byte{testKey}), w.other, time.Now()),
					"new_password": "a-new-long-passphrase"}
			},
			check: passwordReset}}},
		{"GET", "/api/user/sessions", []authzCase{{path: pathOf("/api/user/sessions"), want: signedIn(oStatus(http.StatusUnauthorized), o200()),
			check: func(t *testing.T, x *cell) {
				body := x.rec.Body.String()
				if strings.Count(body, `"current":true`) != 1 {
					t.Fatalf("sessions of %s without exactly one current: %s", x.role, body)
				}
				if owns := strings.Contains(body, fmt.Sprintf(`"id":%d,`, x.w.device.ID)); owns != (x.caller.ID == x.w.owner.ID) {
					t.Fatalf("sessions of %s list the owner's device: %v: %s", x.role, owns, body)
				}
			}}}},
		{"DELETE", "/api/user/sessions/:id", []authzCase{{path: devicePath("/api/user/sessions/%d"),
			want:  perRole(oStatus(http.StatusUnauthorized), o200(), oStatus(http.StatusNotFound), oStatus(http.StatusNotFound)),
			check: deviceEnded}}},
		{"GET", "/api/event/", []authzCase{{path: pathOf("/api/event/"), want: allRoles(o200()), check: leakCheck}}},
		{"GET", "/api/event", []authzCase{{path: pathOf("/api/event"), want: allRoles(o200()), check: leakCheck}}},
		{"GET", "/api/event/:id", []authzCase{
			{name: "public", path: eventPath("/api/event/%d", false), want: allRoles(o200())},
			{name: "private", path: eventPath("/api/event/%d", true), check: leakCheck,
				want: perRole(oStatus(http.StatusNotFound), o200(), oStatus(http.StatusNotFound), o200())},
			{name: "missing", path: pathOf("/api/event/999999"), want: allRoles(oStatus(http.StatusNotFound))},
			{name: "new", path: pathOf("/api/event/new"), want: allRoles(oStatus(http.StatusNotFound))},
		}},
		{"POST", "/api/event/new", []authzCase{{path: pathOf("/api/event/new"), want: signedIn(oStatus(http.StatusUnauthorized), o200()),
			body: func(_ *authzWorld, role string) any { return map[string]any{"title": "Created by " + role} },
			check: func(t *testing.T, x *cell) {
				var id uint
				fmt.Sscanf(x.rec.Header().Get("Location"), "/api/event/%d", &id)
				if e := storedEvent(t, x, id); e == nil || e.CreatorID != x.caller.ID {
					t.Fatalf("created event %+v, want creator %d", e, x.caller.ID)
				}
			}}}},
		{"PUT", "/api/event/:id", eventCases("/api/event/%d", oStatus(http.StatusUnauthorized), o200(), oStatus(http.StatusForbidden),
			eventJSONBody, eventEdited)},
		{"DELETE", "/api/event/:id", eventCases("/api/event/%d", oStatus(http.StatusUnauthorized), o200(), oStatus(http.StatusForbidden),
			nil, eventGone)},
		{"POST", "/api/event/:id/rsvp", rsvpCases("/api/event/%d/rsvp", oStatus(http.StatusUnauthorized), o200(), true)},
		{"DELETE", "/api/event/:id/rsvp", rsvpCases("/api/event/%d/rsvp", oStatus(http.StatusUnauthorized), o200(), false)},
		{"GET", "/api/event/:id/attendees", eventCases("/api/event/%d/attendees", oStatus(http.StatusUnauthorized), o200(),
			oStatus(http.StatusForbidden), nil, nil)},
		{"GET", "/api/openapi.json", []authzCase{{path: pathOf("/api/openapi.json"), want: allRoles(o200())}}},
		{"GET", "/api/docs", []authzCase{{path: pathOf("/api/docs"), want: allRoles(o200())}}},

		// The admin area.
		{"GET", "/admin", []authzCase{{path: pathOf("/admin"), want: adminOnly(o200())}}},
		{"GET", "/admin/users", []authzCase{{path: pathOf("/admin/users"), want: adminOnly(o200())}}},
		{"POST", "/admin/users/:id/promote", []authzCase{{path: userPath("/admin/users/%d/promote", false), want: adminOnly(o303("/admin/users")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.target); u.Role != models.RoleAdmin || u.TokenVersion == x.w.target.TokenVersion {
					t.Fatalf("after promote: %+v", u)
				}
			}}}},
		{"POST", "/admin/users/:id/demote", []authzCase{{path: userPath("/admin/users/%d/demote", true), want: adminOnly(o303("/admin/users")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.targetAdmin); u.Role != models.RoleUser || u.TokenVersion == x.w.targetAdmin.TokenVersion {
					t.Fatalf("after demote: %+v", u)
				}
			}}}},
		{"POST", "/admin/users/:id/disable", []authzCase{{path: userPath("/admin/users/%d/disable", false), want: adminOnly(o303("/admin/users")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.target); !u.Disabled || u.TokenVersion == x.w.target.TokenVersion {
					t.Fatalf("after disable: %+v", u)
				}
			}}}},
		{"POST", "/admin/users/:id/enable", []authzCase{{path: userPath("/admin/users/%d/enable", false), want: adminOnly(o303("/admin/users")),
			setup: func(t *testing.T, w *authzWorld) {
				if err := models.NewUsers(w.app.db).SetDisabled(context.Background(), w.target.ID, true); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.target); u.Disabled {
					t.Fatalf("after enable: %+v", u)
				}
			}}}},
		{"POST", "/admin/users/:id/revoke", []authzCase{{path: userPath("/admin/users/%d/revoke", false), want: adminOnly(o303("/admin/users")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.target); u.TokenVersion == x.w.target.TokenVersion {
					t.Fatalf("after revoke: %+v", u)
				}
			}}}},
		{"POST", "/admin/users/:id/mfa/reset", []authzCase{{path: userPath("/admin/users/%d/mfa/reset", false), want: adminOnly(o303("/admin/users")),
			setup: func(t *testing.T, w *authzWorld) { enableTOTP(t, w.app.db, w.target, time.Now()) },
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.target); u.HasMFA() || u.TokenVersion == x.w.target.TokenVersion {
					t.Fatalf("after the reset: mfa %v, version %d", u.HasMFA(), u.TokenVersion)
				}
			}}}},
		{"POST", "/admin/users/:id/unlock", []authzCase{{path: userPath("/admin/users/%d/unlock", false), want: adminOnly(o303("/admin/users")),
			setup: func(t *testing.T, w *authzWorld) {
				if _, err := models.NewThrottles(w.app.db, models.ThrottleKey(testKey)).Reserve(context.Background(), w.target.Email, "198.51.100.7", 1, account.LockDuration, time.Now()); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, x *cell) {
				res, err := models.NewThrottles(x.w.app.db, models.ThrottleKey(testKey)).Reserve(context.Background(), x.w.target.Email, "198.51.100.7", 1, account.LockDuration, time.Now())
				if err != nil || !res.Allowed {
					t.Fatalf("still throttled after unlock: %+v %v", res, err)
				}
			}}}},
		{"GET", "/admin/users/:id/delete", []authzCase{{path: userPath("/admin/users/%d/delete", false), want: adminOnly(o200())}}},
		{"POST", "/admin/users/:id/delete", []authzCase{{path: userPath("/admin/users/%d/delete", false), want: adminOnly(o303("/admin/users")),
			check: func(t *testing.T, x *cell) {
				if u := userState(t, x, x.w.target); u != nil {
					t.Fatalf("user still there after delete: %+v", u)
				}
			}}}},
		{"GET", "/admin/events", []authzCase{{path: pathOf("/admin/events"), want: adminOnly(o200())}}},
		{"GET", "/admin/events/:id/delete", []authzCase{{path: eventPath("/admin/events/%d/delete", true), want: adminOnly(o200()),
			check: func(t *testing.T, x *cell) {
				if storedEvent(t, x, x.w.private.ID) == nil {
					t.Fatal("the confirmation page deleted the event")
				}
			}}}},
		{"POST", "/admin/events/:id/delete", []authzCase{{path: eventPath("/admin/events/%d/delete", true), want: adminOnly(o303("/admin/events")),
			check: func(t *testing.T, x *cell) {
				if storedEvent(t, x, x.w.private.ID) != nil {
					t.Fatal("event still there after the admin deleted it")
				}
			}}}},
		{"GET", "/admin/audit", []authzCase{{path: pathOf("/admin/audit"), want: adminOnly(o200())}}},
	}
}

// registeredRoutes lists "METHOD path" of every route the app registered,
// without Echo's own not-found and any-method catch-alls.
func registeredRoutes(e *echo.Echo) map[string]bool {
	out := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || r.Method == "echo_route_any" || strings.HasSuffix(r.Name, "NotFoundHandler") {
			continue
		}
		if strings.Contains(r.Path, "*") && r.Path != "/static/*" {
			continue
		}
		out[r.Method+" "+r.Path] = true
	}
	return out
}

// TestAuthorizationMatrix walks every route registered in routes.go as an
// anonymous visitor, the owner of the fixtures' events, another user and an
// admin, and checks each status and redirect. A refused request, and every
// GET, must leave the store exactly as it was; an allowed write must have
// done what it says. A route missing from authzTable fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	app := newTestApp(t)
	registered := registeredRoutes(app.e)
	table := authzTable()

	covered := map[string]bool{}
	var pending []string
	for _, row := range table {
		key := row.method + " " + row.route
		if covered[key] {
			t.Fatalf("route %s has two rows", key)
		}
		covered[key] = true
		if !registered[key] {
			pending = append(pending, key)
		}
	}
	var missing []string
	for key := range registered {
		if !covered[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes registered in routes.go without a row in authzTable (add one saying who may do what): %s",
			strings.Join(missing, ", "))
	}
	if len(pending) > 0 {
		// Rows written ahead of their routes: nothing to try yet.
		t.Logf("rows for routes not registered (yet): %s", strings.Join(pending, ", "))
	}

	hash := hashOf(t, goodPassword)
	n := 0
	for _, row := range table {
		key := row.method + " " + row.route
		if !registered[key] {
			continue
		}
		targets := strings.HasPrefix(row.route, "/admin/users/")
		for _, tc := range row.cases {
			name := key
			if tc.name != "" {
				name += " (" + tc.name + ")"
			}
			t.Run(name, func(t *testing.T) {
				// A world serves cell after cell until a request that was
				// let through may have changed it; refusals and GETs are
				// checked to leave it as it was.
				var w *authzWorld
				for _, role := range authzRoles {
					if w == nil {
						n++
						w = newAuthzWorld(t, app, n, hash, targets)
						if tc.setup != nil {
							tc.setup(t, w)
						}
					}
					if changed := runCell(t, w, row.method, tc, role); changed {
						w = nil
					}
				}
			})
		}
	}
}

// hashOf hashes password once for all the matrix's accounts.
func hashOf(t testing.TB, password string) string {
	t.Helper()
	h, err := models.NewHasher(4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(context.Background(), password)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// runCell sends one request as role and checks the outcome. It reports
// whether the request may have changed the world (an allowed write).
func runCell(t *testing.T, w *authzWorld, method string, tc authzCase, role string) (changed bool) {
	t.Helper()
	path := tc.path(w)
	api := isAPI(path)
	x := &cell{w: w, role: role, path: path, caller: w.user(role), c: w.app.client()}
	if x.caller != nil {
		// Sessions are issued as the sign-in would (same key, audience,
		// session id and version); the sign-in itself is tested elsewhere.
		aud := AudienceWeb
		if api {
			aud = AudienceAPI
		}
		now := time.Now()
		tok, err := mustTokens(t).Issue(aud, x.caller.ID, x.caller.TokenVersion, NewID(), now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if api {
			x.token = tok
		} else {
			x.c.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: tok}
		}
	}
	var body any
	if tc.body != nil {
		body = tc.body(w, role)
	}
	before := w.snapshot(t)
	switch {
	case api:
		x.rec = x.c.api(method, path, x.token, body)
	case method == http.MethodGet:
		x.rec = x.c.get(path)
	case method == http.MethodPost:
		form, _ := body.(url.Values)
		x.rec = x.c.post(path, form)
	default:
		t.Fatalf("no way to send %s %s", method, path)
	}

	want := tc.want[role]
	if x.rec.Code != want.status {
		t.Fatalf("%s %s as %s: status %d, want %d (Location %q)\n%.400s", method, path, role, x.rec.Code, want.status,
			x.rec.Header().Get("Location"), x.rec.Body.String())
	}
	loc := x.rec.Header().Get("Location")
	switch want.location {
	case "":
	case toLogin:
		if wantLoc := "/login?next=" + url.QueryEscape(path); loc != wantLoc {
			t.Fatalf("%s %s as %s: Location %q, want %q", method, path, role, loc, wantLoc)
		}
	default:
		if !strings.HasPrefix(loc, want.location) {
			t.Fatalf("%s %s as %s: Location %q, want %q…", method, path, role, loc, want.location)
		}
	}
	refused := want.status >= 400 || want.location == toLogin
	if refused {
		wantRefusalBody(t, x, api)
	}
	if refused || method == http.MethodGet {
		if after := w.snapshot(t); after != before {
			t.Fatalf("%s %s as %s (status %d) changed the store:\nbefore %s\nafter  %s", method, path, role, x.rec.Code, before, after)
		}
	}
	if !refused && tc.check != nil {
		tc.check(t, x)
	}
	return !refused && method != http.MethodGet
}

// wantRefusalBody checks that a refusal says why in the surface's own way:
// JSON detail under /api, the error page elsewhere (or nothing but the
// redirect for the sign-in redirect).
func wantRefusalBody(t *testing.T, x *cell, api bool) {
	t.Helper()
	switch {
	case x.rec.Code == http.StatusSeeOther:
	case api:
		if !strings.Contains(x.rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(x.rec.Body.String(), `"detail"`) {
			t.Fatalf("API refusal without a JSON detail: %q %s", x.rec.Header().Get("Content-Type"), x.rec.Body.String())
		}
	default:
		if testid(t, x.rec, "error-page") == "" && x.rec.Code != http.StatusNotFound {
			t.Fatalf("refusal without the error page: %.300s", x.rec.Body.String())
		}
	}
}

// snapshot renders what a request could change: the world's accounts (but
// not last sign-in times), events and tags in full, and the size of every
// table, so a change anywhere else shows too.
func (w *authzWorld) snapshot(t testing.TB) string {
	t.Helper()
	db := w.app.db
	var b strings.Builder
	var users []models.User
	var events []models.Event
	var tags []models.EventTag
	for _, err := range []error{
		db.Where("id >= ?", w.owner.ID).Order("id").Find(&users).Error,
		db.Where("id >= ?", w.public.ID).Order("id").Find(&events).Error,
		db.Where("event_id >= ?", w.public.ID).Order("event_id, tag").Find(&tags).Error,
	} {
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	for _, u := range users {
		fmt.Fprintf(&b, "u%d:%s:%s:%s:%t:%d:%s:%s;", u.ID, u.Email, u.Name, u.Role, u.Disabled, u.TokenVersion, u.PasswordHash,
			fmtTime(u.EmailVerifiedAt))
	}
	for _, e := range events {
		fmt.Fprintf(&b, "e%d:%d:%q:%q:%q:%q:%q:%v:%v:%s:%s;", e.ID, e.CreatorID, e.Title, e.Image, e.Description, e.Tags,
			e.Location, fmtTime(e.StartsAt), fmtTime(e.EndsAt), e.Visibility, e.UpdatedAt.UTC().Format(time.RFC3339Nano))
	}
	for _, tg := range tags {
		fmt.Fprintf(&b, "t%d:%q;", tg.EventID, tg.Tag)
	}
	b.WriteString(tableCounts(t, db))
	return b.String()
}

// tableCounts is the number of rows of every table, and the throttle
// counters in full (there are few).
func tableCounts(t testing.TB, db *gorm.DB) string {
	t.Helper()
	var b strings.Builder
	for _, m := range []any{&models.User{}, &models.Event{}, &models.EventTag{}, &models.RevokedSession{}, &models.AuditEntry{}, &models.OutboxMail{}} {
		var n int64
		if err := db.Model(m).Count(&n).Error; err != nil {
			t.Fatalf("count: %v", err)
		}
		fmt.Fprintf(&b, "%T=%d;", m, n)
	}
	var throttles []models.SigninThrottle
	if err := db.Order("id").Find(&throttles).Error; err != nil {
		t.Fatalf("throttles: %v", err)
	}
	for _, th := range throttles {
		fmt.Fprintf(&b, "th%s:%s:%d:%v;", th.EmailHash[:8], th.Client, th.Failures, fmtTime(th.LockedUntil))
	}
	return b.String()
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
