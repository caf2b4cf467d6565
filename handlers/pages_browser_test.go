package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
	"github.com/pquerna/otp/totp"
)

// The page walk: every page of the site, as each kind of visitor sees it
// and with every form sent wrong once, loaded in one Chromium, one page
// after another. TestPagesAccessibleAndFit runs axe-core and a width check
// on each; TestPageScreenshots (make screenshots) photographs each. The
// list lives in pageWalk only, and TestPageWalkCoversEveryPage fails when
// the router has a page it lacks.

// Who a page is seen by: each has its own browser context (cookies).
const (
	asAnon  = "anon"
	asUser  = "user"  // ada, a member whose every field is long unbroken text
	asAdmin = "admin" // root, an admin with two-factor sign-in on
	asNew   = "new"   // zoe, who has not confirmed her long address yet
)

// pageCase is one page of the walk.
type pageCase struct {
	name   string                   // file name of its screenshot, and its name in failures
	as     string                   // asAnon, asUser, asAdmin or asNew
	route  string                   // the GET route of the router it covers ("" for error pages)
	path   string                   // the address; {public} and the like are the fixture's (walkFixture.replace)
	before func(*walkFixture) error // runs after the page loaded, before the forms are sent
	send   []formSend               // forms sent in turn, each from the page the last one led to
	status int                      // HTTP status of the page finally shown
	want   string                   // a CSS selector that must be on it: proves the state (signed in, errors shown)
}

// formSend fills fields (by element id) and submits the form that form
// selects, else the form of the first field, else the last form of the
// page's content.
type formSend struct {
	form   string
	fields [][2]string
}

// sendTo submits the form that the CSS selector form finds.
func sendTo(form string, fields ...string) formSend {
	f := send(fields...)
	f.form = form
	return f
}

// send is a formSend of id, value pairs.
func send(fields ...string) formSend {
	f := formSend{fields: [][2]string{}}
	for i := 0; i+1 < len(fields); i += 2 {
		f.fields = append(f.fields, [2]string{fields[i], fields[i+1]})
	}
	return f
}

// States that prove a page is what the walk wanted.
const (
	wantAnon     = `[data-testid="login-link"]`
	wantSignedIn = `[data-testid="account-link"]`
	wantInvalid  = `[aria-invalid="true"]`
	wantMessage  = `.form-error`
	wantError    = `[data-testid="error-page"]`
	// Swagger UI renders after the page loads, from the fetched spec.
	wantDocsReady = `#swagger-ui[data-state="ready"] .opblock`
)

// pageWalk is every page, in the order the walk loads them. A signed-in
// tab's state changes only late in its list (two-factor set-up).
var pageWalk = []pageCase{
	// Anyone.
	{name: "anon-home", as: asAnon, route: "/", path: "/", status: 200, want: wantAnon},
	{name: "anon-widget", as: asAnon, route: "/widget", path: "/widget", status: 200, want: wantAnon},
	{name: "anon-signup", as: asAnon, route: "/signup", path: "/signup", status: 200, want: "#email"},
	{name: "anon-signup-errors", as: asAnon, path: "/signup", send: []formSend{send("email", "not-an-address", "name", "{long60}", "password", "short")}, status: 422, want: wantInvalid},
	{name: "anon-login", as: asAnon, route: "/login", path: "/login", status: 200, want: "#password"},
	{name: "anon-login-error", as: asAnon, path: "/login", send: []formSend{send("email", "nobody@example.com", "password", "wrong-password")}, status: 401, want: wantMessage},
	{name: "anon-login-errors", as: asAnon, path: "/login", send: []formSend{send("email", "{long}", "password", "")}, status: 422, want: wantInvalid},
	{name: "anon-events", as: asAnon, route: "/events", path: "/events", status: 200, want: wantAnon},
	{name: "anon-events-search", as: asAnon, path: "/events?q={long}", status: 200, want: "#q"},
	{name: "anon-events-tag", as: asAnon, path: "/events?tag={tag}", status: 200, want: "#q"},
	{name: "anon-event", as: asAnon, route: "/events/:id", path: "/events/{public}", status: 200, want: `main a[href^="/login?next="]`},
	{name: "anon-event-shared", as: asAnon, path: "/events/{private}?key={key}", status: 200, want: "main h1"},
	{name: "anon-event-past", as: asAnon, path: "/events/{past}", status: 200, want: "main h1"},
	{name: "anon-verify-no-token", as: asAnon, route: "/account/verify", path: "/account/verify", status: 400, want: wantMessage},
	{name: "anon-verify", as: asAnon, path: "/account/verify?token=not-a-real-token", status: 200, want: `form[action="/account/verify"]`},
	{name: "anon-verify-error", as: asAnon, path: "/account/verify?token=not-a-real-token", send: []formSend{sendTo(`form[action="/account/verify"]`)}, status: 400, want: wantMessage},
	{name: "anon-forgot", as: asAnon, route: "/password/forgot", path: "/password/forgot", status: 200, want: "#email"},
	{name: "anon-forgot-errors", as: asAnon, path: "/password/forgot", send: []formSend{send("email", "{long}")}, status: 422, want: wantInvalid},
	{name: "anon-forgot-sent", as: asAnon, path: "/password/forgot", send: []formSend{send("email", "someone@example.com")}, status: 200, want: `[data-testid="forgot-sent"]`},
	{name: "anon-reset", as: asAnon, route: "/password/reset", path: "/password/reset?token={reset}", status: 200, want: "#new_password"},
	{name: "anon-reset-errors", as: asAnon, path: "/password/reset?token={reset}", send: []formSend{send("new_password", "short")}, status: 422, want: wantInvalid},
	{name: "anon-reset-no-token", as: asAnon, path: "/password/reset", status: 400, want: wantMessage},
	{name: "anon-reset-bad-token", as: asAnon, path: "/password/reset?token=not-a-real-token", send: []formSend{send("new_password", "a-long-enough-passphrase")}, status: 400, want: wantMessage},
	{name: "anon-api-docs", as: asAnon, route: "/api/docs", path: "/api/docs", status: 200, want: wantDocsReady},
	{name: "anon-404", as: asAnon, path: "/no-such-page", status: 404, want: wantError},
	{name: "anon-404-private", as: asAnon, path: "/events/{private}", status: 404, want: wantError},
	{name: "anon-405", as: asAnon, path: "/logout", status: 405, want: wantError},
	{name: "anon-login-mfa", as: asAnon, route: "/login/mfa", path: "/login", send: []formSend{send("email", "mia@example.com", "password", goodPassword)}, status: 200, want: "#code"},
	{name: "anon-login-mfa-error", as: asAnon, path: "/login", send: []formSend{send("email", "mia@example.com", "password", goodPassword), send("code", "000000")}, status: 401, want: wantMessage},

	// A member, ada.
	{name: "user-home", as: asUser, path: "/", status: 200, want: wantSignedIn},
	{name: "user-events", as: asUser, path: "/events", status: 200, want: wantSignedIn},
	{name: "user-events-search", as: asUser, path: "/events?q={long}", status: 200, want: "#q"},
	{name: "user-events-new", as: asUser, route: "/events/new", path: "/events/new", status: 200, want: "#title"},
	{name: "user-events-new-errors", as: asUser, path: "/events/new", send: []formSend{send("title", "", "tags", "{long}", "location", "{long}{long}", "starts_at", "2031-06-01T19:00", "ends_at", "2031-06-01T18:00", "image", "javascript:alert(1)", "capacity", "-3")}, status: 422, want: wantInvalid},
	{name: "user-events-mine", as: asUser, route: "/events/mine", path: "/events/mine", status: 200, want: wantSignedIn},
	{name: "user-event", as: asUser, path: "/events/{public}", status: 200, want: `main a[href$="/edit"]`},
	{name: "user-event-private", as: asUser, path: "/events/{private}", status: 200, want: `form[action$="/share"]`},
	{name: "user-event-past", as: asUser, path: "/events/{past}", status: 200, want: "main h1"},
	{name: "user-event-other", as: asUser, path: "/events/{bob}", status: 200, want: `form[action$="/rsvp"]`},
	{name: "user-event-rsvp-closed", as: asUser, path: "/events/{bob}", before: func(f *walkFixture) error { return f.closeRSVPs(f.bob) }, send: []formSend{sendTo(`form[action$="/rsvp"]`)}, status: 409, want: wantError},
	{name: "user-attendees", as: asUser, route: "/events/:id/attendees", path: "/events/{public}/attendees", status: 200, want: wantSignedIn},
	{name: "user-event-edit", as: asUser, route: "/events/:id/edit", path: "/events/{public}/edit", status: 200, want: "#title"},
	{name: "user-event-edit-errors", as: asUser, path: "/events/{public}/edit", send: []formSend{send("title", "", "timezone", "Mars/{long60}", "capacity", "{long60}")}, status: 422, want: wantInvalid},
	{name: "user-event-delete", as: asUser, route: "/events/:id/delete", path: "/events/{public}/delete", status: 200, want: wantSignedIn},
	{name: "user-403", as: asUser, path: "/events/{bob}/edit", status: 403, want: wantError},
	{name: "user-403-admin", as: asUser, path: "/admin", status: 403, want: wantError},
	{name: "user-404", as: asUser, path: "/events/999999", status: 404, want: wantError},
	{name: "user-account", as: asUser, route: "/account", path: "/account", status: 200, want: `form[action="/account/password"]`},
	{name: "user-account-name-error", as: asUser, path: "/account", send: []formSend{send("name", "")}, status: 422, want: wantInvalid},
	{name: "user-account-password-error", as: asUser, path: "/account", send: []formSend{send("current_password", "wrong-password", "new_password", "short")}, status: 422, want: wantInvalid},
	{name: "user-account-name-saved", as: asUser, path: "/account", send: []formSend{send("name", "{long60}")}, status: 200, want: `[data-testid="flash"]`},
	{name: "user-account-timezone-error", as: asUser, path: "/account", send: []formSend{send("timezone", "Mars/{long60}")}, status: 422, want: wantInvalid},
	{name: "user-signout-all", as: asUser, route: "/account/signout-all", path: "/account/signout-all", status: 200, want: `form[action="/account/signout-all"]`},
	{name: "user-sessions", as: asUser, route: "/account/sessions", path: "/account/sessions", status: 200, want: wantSignedIn},
	{name: "user-passkeys", as: asUser, route: "/account/passkeys", path: "/account/passkeys", status: 200, want: `[data-testid="passkey-name"]`},
	{name: "user-verify", as: asUser, path: "/account/verify?token=not-a-real-token", status: 200, want: wantSignedIn},
	{name: "user-confirm", as: asUser, route: "/login/confirm", path: "/login/confirm", status: 200, want: "#password"},
	{name: "user-confirm-error", as: asUser, path: "/login/confirm", send: []formSend{send("password", "wrong-password")}, status: 401, want: wantMessage},
	{name: "user-widget", as: asUser, path: "/widget", status: 200, want: wantSignedIn},
	{name: "user-api-docs", as: asUser, path: "/api/docs", status: 200, want: wantDocsReady},
	{name: "user-mfa", as: asUser, route: "/account/mfa", path: "/account/mfa", status: 200, want: `[data-testid="mfa-setup"]`},
	{name: "user-mfa-pending", as: asUser, path: "/account/mfa", send: []formSend{send()}, status: 200, want: `[data-testid="mfa-qr"]`},
	{name: "new-home", as: asNew, path: "/", status: 200, want: `[data-testid="unverified"]`},
	{name: "new-account", as: asNew, path: "/account", status: 200, want: `[data-testid="unverified"]`},
	{name: "user-mfa-confirm-error", as: asUser, path: "/account/mfa", send: []formSend{send(), send("code", "000000")}, status: 422, want: wantMessage},
	{name: "user-mfa-recovery-codes", as: asUser, path: "/account/mfa", send: []formSend{send(), send("code", "{totp}")}, status: 200, want: `[data-testid="recovery-code"]`},

	// An admin with two-factor sign-in, root.
	{name: "admin-dashboard", as: asAdmin, route: "/admin", path: "/admin", status: 200, want: wantSignedIn},
	{name: "admin-users", as: asAdmin, route: "/admin/users", path: "/admin/users", status: 200, want: wantSignedIn},
	{name: "admin-users-search", as: asAdmin, path: "/admin/users?q={long}", status: 200, want: wantSignedIn},
	{name: "admin-users-search-ada", as: asAdmin, path: "/admin/users?q=aaaa", status: 200, want: wantSignedIn},
	{name: "admin-user-delete", as: asAdmin, route: "/admin/users/:id/delete", path: "/admin/users/{ada}/delete", status: 200, want: wantSignedIn},
	{name: "admin-events", as: asAdmin, route: "/admin/events", path: "/admin/events", status: 200, want: wantSignedIn},
	{name: "admin-event-delete", as: asAdmin, route: "/admin/events/:id/delete", path: "/admin/events/{public}/delete", status: 200, want: `form[action$="/delete"]`},
	{name: "admin-audit", as: asAdmin, route: "/admin/audit", path: "/admin/audit", status: 200, want: wantSignedIn},
	{name: "admin-home", as: asAdmin, path: "/", status: 200, want: wantSignedIn},
	{name: "admin-event", as: asAdmin, path: "/events/{public}", status: 200, want: `main a[href$="/edit"]`},
	{name: "admin-attendees", as: asAdmin, path: "/events/{public}/attendees", status: 200, want: wantSignedIn},
	{name: "admin-mfa", as: asAdmin, path: "/account/mfa", status: 200, want: `[data-testid="mfa-disable"]`},
	{name: "admin-mfa-disable-error", as: asAdmin, path: "/account/mfa", send: []formSend{send("code", "000000")}, status: 422, want: wantMessage},
	{name: "admin-confirm", as: asAdmin, path: "/login/confirm", status: 200, want: "#code"},
}

// notPages are the GET routes that answer no HTML page: feeds, files,
// probes and the JSON API. A new route is a page unless it is named here.
var notPages = []string{
	"/healthz", "/readyz", "/static/*", "/calendar/:token", "/events/:id/attendees.csv",
	"/api/user/me", "/api/user/sessions", "/api/event", "/api/event/", "/api/event/:id",
	"/api/event/:id/attendees", "/api/openapi.json",
	// The catch-alls of the page groups answer the 404 page (anon-404).
	"/*", "/admin/*",
}

// TestPageWalkCoversEveryPage fails when the router has a GET page that
// pageWalk does not visit, so a new page cannot dodge the accessibility and
// layout checks.
func TestPageWalkCoversEveryPage(t *testing.T) {
	app := newTestApp(t)
	covered, names := map[string]bool{}, map[string]bool{}
	for _, c := range pageWalk {
		if names[c.name] {
			t.Errorf("two pages are named %s (screenshots would overwrite each other)", c.name)
		}
		names[c.name] = true
		if c.route != "" {
			covered[c.route] = true
		}
	}
	for _, r := range app.e.Routes() {
		if r.Method != http.MethodGet || slices.Contains(notPages, r.Path) || covered[r.Path] {
			continue
		}
		t.Errorf("GET %s is a page the walk does not visit: add it to pageWalk (or, if it is no HTML page, to notPages)", r.Path)
	}
	routes := map[string]bool{}
	for _, r := range app.e.Routes() {
		routes[r.Path] = true
	}
	for path := range covered {
		if !routes[path] {
			t.Errorf("pageWalk covers %s, which the router does not have", path)
		}
	}
}

// Widths the walk looks at every page in.
var viewports = []struct {
	name          string
	width, height int64
}{{"desktop", 1280, 900}, {"phone", 390, 844}}

// walkFixture is the app, its data and the values the page paths use.
type walkFixture struct {
	app  *testApp
	base string
	vals map[string]string
	bob  uint // bob's event: ada may see it, not edit it
	ada  *models.User
	root *models.User
	zoe  string // zoe's address
	// rootSecret is root's TOTP secret, and rootEnrolled the time it was
	// enrolled at (a later sign-in uses the next step's code).
	rootSecret   string
	rootEnrolled time.Time
}

// long is unbroken text of n characters, the worst case for layout.
func long(n int) string { return strings.Repeat("Unbreakable", n/11+1)[:n] }

// newWalkFixture makes users and events whose every field a person can
// fill holds long unbroken text, so the walk also shows every page at its
// widest.
func newWalkFixture(t *testing.T) *walkFixture {
	app := newTestApp(t)
	f := &walkFixture{app: app, base: app.serve(t)}
	ctx := context.Background()
	name := func(u *models.User, n string) {
		if err := app.db.Model(u).Update("name", n).Error; err != nil {
			t.Fatal(err)
		}
	}
	f.ada = app.createUser(strings.Repeat("a", 180)+"@example.com", goodPassword, models.RoleUser)
	name(f.ada, long(60))
	f.root = app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	name(f.root, "Root"+long(56))
	zoe := app.createUser(strings.Repeat("z", 180)+"@example.com", goodPassword, models.RoleUser)
	f.zoe = zoe.Email
	now := time.Now()
	for _, u := range []*models.User{f.ada, f.root} {
		if err := app.db.Model(u).Update("email_verified_at", &now).Error; err != nil {
			t.Fatal(err)
		}
	}
	bob := app.createUser("bob@example.com", goodPassword, models.RoleUser)
	mia := app.createUser("mia@example.com", goodPassword, models.RoleUser)

	// ada's events: upcoming public (capacity 1: root waits), private
	// with a share link, and past.
	start := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	end := start.Add(3 * time.Hour)
	pastStart, pastEnd := start.Add(-30*24*time.Hour), end.Add(-30*24*time.Hour)
	one := 1
	event := func(creator uint, title, visibility string, from, to *time.Time, capacity *int) *models.Event {
		in := models.EventInput{Title: title, Description: long(1200) + "\n\nSecond paragraph " + long(300),
			Location: long(195), Tags: []string{long(30), "b" + long(29), "c" + long(29)}, StartsAt: from, EndsAt: to,
			Visibility: visibility, Capacity: capacity, Image: "https://example.com/" + long(180) + ".png"}
		in.Normalize()
		e, err := models.NewEvents(app.db).Create(ctx, creator, in)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	public := event(f.ada.ID, long(195), models.VisibilityPublic, &start, &end, &one)
	private := event(f.ada.ID, "Private"+long(188), models.VisibilityPrivate, &start, &end, nil)
	past := event(f.ada.ID, "Past"+long(191), models.VisibilityPublic, &pastStart, &pastEnd, nil)
	bobs := event(bob.ID, "Picnic", models.VisibilityPublic, &start, &end, nil)
	f.bob = bobs.ID

	// RSVPs, the share link and sessions go through the app, as people
	// make them; a long user agent names ada's other session.
	adaC := app.client()
	adaC.headers.Set("User-Agent", "Mozilla/5.0 "+long(200))
	adaC.login(f.ada.Email, goodPassword)
	for _, r := range []struct {
		c    *client
		path string
		form url.Values
	}{
		{adaC, fmt.Sprintf("/events/%d/rsvp", public.ID), nil},
		{adaC, fmt.Sprintf("/events/%d/share", private.ID), url.Values{"action": {"on"}}},
	} {
		if rec := r.c.post(r.path, r.form); rec.Code != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", r.path, rec.Code, rec.Body.String())
		}
	}
	rootC := app.client()
	rootC.login(f.root.Email, goodPassword)
	if rec := rootC.post(fmt.Sprintf("/events/%d/rsvp", public.ID), nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("root RSVP: %d", rec.Code)
	}
	key := regexp.MustCompile(`key=([A-Za-z0-9_-]+)`).FindStringSubmatch(adaC.get(fmt.Sprintf("/events/%d", private.ID)).Body.String())
	if key == nil {
		t.Fatal("no share link on the private event's page")
	}
	if err := models.NewPasskeys(app.db).Create(ctx, &models.Passkey{UserID: f.ada.ID, Name: long(60), CredentialID: "walk-credential", Credential: "{}", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// A reset link for ada, read from the outbox.
	if rec := app.client().post("/password/forgot", url.Values{"email": {f.ada.Email}}); rec.Code != http.StatusOK {
		t.Fatalf("forgot: %d", rec.Code)
	}
	var mail models.OutboxMail
	if err := app.db.Where("kind = ?", models.MailPasswordReset).Last(&mail).Error; err != nil {
		t.Fatalf("reset mail: %v", err)
	}
	reset := regexp.MustCompile(`/password/reset\?token=([A-Za-z0-9_.-]+)`).FindStringSubmatch(mail.TextBody)
	if reset == nil {
		t.Fatalf("no reset link in %q", mail.TextBody)
	}

	// Two-factor sign-in for root (the admin) and mia (the sign-in's
	// second step), enrolled last: the sign-ins above needed none.
	f.rootEnrolled = time.Now()
	f.rootSecret, _ = enableTOTP(t, app.db, f.root, f.rootEnrolled)
	enableTOTP(t, app.db, mia, time.Now())

	f.vals = map[string]string{
		"{public}": idString(public.ID), "{private}": idString(private.ID), "{past}": idString(past.ID),
		"{bob}": idString(bobs.ID), "{ada}": idString(f.ada.ID), "{key}": key[1], "{reset}": reset[1],
		"{long}": long(190), "{long60}": long(60), "{tag}": long(30),
	}
	return f
}

// replace fills the fixture's values into s.
func (f *walkFixture) replace(s string) string {
	for k, v := range f.vals {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// closeRSVPs closes an event's RSVPs behind the back of a page showing
// its RSVP button.
func (f *walkFixture) closeRSVPs(id uint) error {
	return f.app.db.Model(&models.Event{}).Where("id = ?", id).Update("rsvp_open", false).Error
}

// walkTabs opens a browser context per visitor and signs ada and root in
// (root with the code of the step after the one its enrolment used).
func (f *walkFixture) walkTabs(t *testing.T) map[string]context.Context {
	bctx := startBrowser(t)
	tabs := map[string]context.Context{}
	for _, as := range []string{asAnon, asUser, asAdmin, asNew} {
		ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run opens the tab: no step deadline on it (see
		// startBrowser).
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatalf("open a tab: %v", err)
		}
		if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: watchProblems}); err != nil {
			t.Fatal(err)
		}
		tabs[as] = ctx
	}
	signIn := func(ctx context.Context, email string, code string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(f.base + "/login"),
			chromedp.SetValue(chromedp.ID("email"), email),
			chromedp.SetValue(chromedp.ID("password"), goodPassword),
			chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		}
		if code != "" {
			steps = append(steps, chromedp.WaitVisible(chromedp.ID("code")), chromedp.SetValue(chromedp.ID("code"), code),
				chromedp.Click(chromedp.CSS(`[data-testid="mfa-submit"]`)))
		}
		steps = append(steps, chromedp.WaitVisible(chromedp.CSS(wantSignedIn)))
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("sign in %s: %v", email, err)
		}
	}
	signIn(tabs[asUser], f.ada.Email, "")
	signIn(tabs[asNew], f.zoe, "")
	signIn(tabs[asAdmin], f.root.Email, totpAt(t, f.rootSecret, f.rootEnrolled, 1))
	return tabs
}

// walk loads every page of pageWalk and calls check at each width. A page
// that cannot be reached as the table says fails the test and the walk
// goes on.
//
// Each page is a subtest, so -run 'TestPagesAccessibleAndFit/anon-' picks
// some; a page whose forms need an earlier page's state sends them itself.
func walk(t *testing.T, check func(t *testing.T, ctx context.Context, c pageCase, viewport string)) {
	f := newWalkFixture(t)
	tabs := f.walkTabs(t)
	for _, c := range pageWalk {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(tabs[c.as], 60*time.Second)
			defer cancel()
			if err := f.load(ctx, c); err != nil {
				t.Fatal(err)
			}
			for _, vp := range viewports {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)); err != nil {
					t.Fatalf("viewport: %v", err)
				}
				check(t, ctx, c, vp.name)
			}
		})
	}
}

// load opens c's page, sends its forms, and checks the status and state.
func (f *walkFixture) load(ctx context.Context, c pageCase) error {
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(f.base+f.replace(c.path)))
	if err != nil {
		return fmt.Errorf("open %s: %w", c.path, err)
	}
	if c.before != nil {
		if err := c.before(f); err != nil {
			return err
		}
	}
	for _, s := range c.send {
		code, err := f.totp(ctx, s)
		if err != nil {
			return err
		}
		js := `(() => {
			const fields = ` + mustJSON(s.fields) + `;
			let form = ` + mustJSON(s.form) + ` ? document.querySelector(` + mustJSON(s.form) + `) : null;
			for (const [id, value] of fields) {
				const el = document.getElementById(id);
				if (!el) throw new Error('no field #' + id);
				el.value = value;
				form = form || el.form;
			}
			// A form without fields to fill: the page's last form of
			// its content (the RSVP button, verify, set-up).
			form = form || [...document.querySelectorAll('main form')].pop();
			if (!form) throw new Error('no form to send');
			form.requestSubmit();
		})()`
		js = strings.ReplaceAll(f.replace(js), "{totp}", code)
		resp, err = chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](js))
		if err != nil {
			return fmt.Errorf("send form: %w", err)
		}
	}
	if int(resp.Status) != c.status {
		return fmt.Errorf("%s answered %d, want %d", resp.URL, resp.Status, c.status)
	}
	// Polled: a script may still be drawing the page (the API docs). A
	// form's answer can arrive before Chromium has swapped in the new
	// document's execution context, which the poll then reports as a lost
	// context: that is the navigation still settling, so poll again.
	for try := 0; ; try++ {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(`+mustJSON(c.want)+`) !== null`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		if err == nil {
			break
		}
		if try < 3 && strings.Contains(err.Error(), "Cannot find context") {
			continue
		}
		return fmt.Errorf("%s lacks %s, which shows the state the walk wants (%v)", resp.URL, c.want, err)
	}
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__walkProblems || []`))
	if err != nil || len(problems) > 0 {
		return fmt.Errorf("%s: %s (%v)", resp.URL, strings.Join(problems, "; "), err)
	}
	return nil
}

// watchProblems is run by every tab before each page's own scripts: it
// records what the site's Content-Security-Policy refused and every script
// error, which load then reports.
const watchProblems = `window.__walkProblems = [];
document.addEventListener('securitypolicyviolation',
	e => window.__walkProblems.push('CSP refused ' + e.violatedDirective + ' ' + e.blockedURI), true);
window.addEventListener('error', e => {
	if (e instanceof ErrorEvent) window.__walkProblems.push('script error: ' + e.message + ' at ' + e.filename + ':' + e.lineno);
});
window.addEventListener('unhandledrejection', e => window.__walkProblems.push('unhandled rejection: ' + e.reason));`

// totp is the current code of the secret that the two-factor set-up page
// shows, when s fills in "{totp}", as the authenticator app would.
func (f *walkFixture) totp(ctx context.Context, s formSend) (string, error) {
	if !strings.Contains(mustJSON(s.fields), "{totp}") {
		return "", nil
	}
	secret, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="mfa-secret"]`)))
	if err != nil {
		return "", fmt.Errorf("read the two-factor secret: %w", err)
	}
	return totp.GenerateCode(strings.TrimSpace(secret), time.Now())
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// awaitPromise makes Evaluate wait for the promise the expression returns.
func awaitPromise(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }

// axeViolation is one failed axe-core rule on a page.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

// axeRun runs axe-core on the page with options (a JS object literal) and
// returns its violations; the page gets axe's source first if it lacks it.
// Runtime.evaluate is DevTools' own evaluation, which the page's
// Content-Security-Policy (script-src 'self', no inline) does not govern.
func axeRun(ctx context.Context, source, options string) ([]axeViolation, error) {
	// A colour change (dark mode, hover styles) may be a CSS transition:
	// axe must see where it ends, not a colour on the way.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getAnimations().forEach(a => a.finish())`)); err != nil {
		return nil, err
	}
	has, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		return nil, err
	}
	if !has {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](source)); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, `+options+`).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.length,
		// The first few elements, each with why it fails.
		targets: v.nodes.slice(0, 6).map(n => n.target.join(' ') + ': ' +
			(n.failureSummary || '').split('\n').slice(1).join(' ').trim().slice(0, 200)),
	})))`, awaitPromise))
}

// The rules the pages must pass: WCAG 2.1 A and AA, and axe's best
// practices. Dark mode changes colours only, so there contrast is checked.
const (
	axeAll  = `{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']}`
	axeDark = `{runOnly: {type: 'rule', values: ['color-contrast']}, resultTypes: ['violations']}`
)

// overflowJS reports a page wider than the window, and the element that
// reaches furthest right without a scrolling or clipping box around it
// that keeps it inside the window; null when the page fits.
const overflowJS = `(() => {
	const w = window.innerWidth, sw = document.documentElement.scrollWidth;
	if (sw <= w) return null;
	const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
		(el.dataset && el.dataset.testid ? '[data-testid="' + el.dataset.testid + '"]' : '') +
		(typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
	const contained = el => {
		for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX !== 'visible' && p.getBoundingClientRect().right <= w) return true;
		}
		return false;
	};
	// Elements, and text that runs out of its element (a long word in
	// a box of fixed width), named by the element that holds it.
	let widest = null, right = 0;
	const consider = (el, r) => {
		if (r > w && r >= right && !contained(el)) { widest = el; right = r; }
	};
	for (const el of document.body.querySelectorAll('*')) consider(el, el.getBoundingClientRect().right);
	const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	const range = document.createRange();
	for (let n = texts.nextNode(); n; n = texts.nextNode()) {
		if (!n.textContent.trim() || !n.parentElement) continue;
		range.selectNodeContents(n);
		consider(n.parentElement, range.getBoundingClientRect().right);
	}
	const path = [];
	for (let el = widest; el && el !== document.body && path.length < 4; el = el.parentElement) path.unshift(name(el));
	return {scrollWidth: sw, innerWidth: w, widest: path.join(' > '), right: Math.round(right),
		text: widest ? (widest.textContent || '').trim().slice(0, 60) : ''};
})()`

type overflow struct {
	ScrollWidth int    `json:"scrollWidth"`
	InnerWidth  int    `json:"innerWidth"`
	Widest      string `json:"widest"`
	Right       int    `json:"right"`
	Text        string `json:"text"`
}

// TestPagesAccessibleAndFit loads every page of pageWalk (anonymous,
// member, admin; every form sent wrong once; long unbroken text in every
// field) at desktop and phone width, and fails on any axe-core violation
// (WCAG 2.1 AA and best practices, light and dark colours) and on any page
// wider than the window. axe-core comes from PLANNER_AXE (the path of
// axe.min.js, which make tools installs and make test finds); without it
// the test skips, except in CI.
func TestPagesAccessibleAndFit(t *testing.T) {
	path := os.Getenv("PLANNER_AXE")
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("PLANNER_AXE is not set: CI must run the accessibility test (make tools installs axe-core)")
		}
		t.Skip("PLANNER_AXE not set (axe.min.js; `make tools` installs it, `make test` sets it): skipping the accessibility test")
	}
	source, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("PLANNER_AXE: %v", err)
	}
	dark := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
	light := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}
	media := func(ctx context.Context, features []*emulation.MediaFeature) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: features})
		return err
	}
	walk(t, func(t *testing.T, ctx context.Context, c pageCase, viewport string) {
		where := c.path + " at " + viewport
		if o, err := chromedp.Run(ctx, chromedp.Evaluate[*overflow](overflowJS)); err != nil {
			t.Errorf("%s: width check: %v", where, err)
		} else if o != nil {
			t.Errorf("%s: page is %d px wide in a %d px window; widest: %s reaches %d px (%q)",
				where, o.ScrollWidth, o.InnerWidth, o.Widest, o.Right, o.Text)
		}
		for _, scheme := range []struct {
			name     string
			features []*emulation.MediaFeature
			options  string
		}{{"light", light, axeAll}, {"dark", dark, axeDark}} {
			if err := media(ctx, scheme.features); err != nil {
				t.Fatalf("emulate %s: %v", scheme.name, err)
			}
			violations, err := axeRun(ctx, string(source), scheme.options)
			if err != nil {
				t.Errorf("%s, %s: axe-core: %v", where, scheme.name, err)
				continue
			}
			for _, v := range violations {
				t.Errorf("%s, %s: %s (%s): %s %s\n\ton %d elements:\n\t%s", where, scheme.name, v.ID, v.Impact, v.Help, v.HelpURL,
					v.Nodes, strings.Join(v.Targets, "\n\t"))
			}
		}
		if err := media(ctx, light); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPageScreenshots writes a PNG of every page of pageWalk at both
// widths into PLANNER_SCREENSHOTS (make screenshots), named after the
// case and the width, for people to look at.
func TestPageScreenshots(t *testing.T) {
	dir := os.Getenv("PLANNER_SCREENSHOTS")
	if dir == "" {
		t.Skip("PLANNER_SCREENSHOTS not set (make screenshots sets it)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	walk(t, func(t *testing.T, ctx context.Context, c pageCase, viewport string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Errorf("%s at %s: screenshot: %v", c.name, viewport, err)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, c.name+"-"+viewport+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	})
}
