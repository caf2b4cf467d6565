package handlers

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium for one test and returns a context for
// its steps, bounded so a missing element fails the test instead of hanging.
// Without Chromium the test is skipped, except in CI, where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(startBrowser(t), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startBrowser starts the headless Chromium of browser and returns the
// context of its first tab, with no deadline: a test that runs long, or
// opens more tabs from it, bounds each step itself.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed (CI must run the browser tests)")
		}
		t.Skip("Chromium not installed; skipping browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run starts the browser; its context must not carry the
	// step timeout, or the timeout would bound the whole browser.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

// serve runs the app on a loopback port for the browser.
func (a *testApp) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(a.e)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBrowserHomePage(t *testing.T) {
	app := newTestApp(t)
	base := app.serve(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="brand"]`))); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "Planner · Planner" {
		t.Fatalf("title %q, %v", title, err)
	}
	// The stylesheet applied: the header's computed background is not the
	// browser default (transparent), and the body font is not Times.
	styled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const h = getComputedStyle(document.querySelector('.site-header'));
		const b = getComputedStyle(document.body);
		return document.styleSheets.length > 0 &&
			h.backgroundColor !== 'rgba(0, 0, 0, 0)' && !b.fontFamily.startsWith('"Times');
	})()`))
	if err != nil || !styled {
		t.Fatalf("stylesheet not applied (%v)", err)
	}
}

// TestBrowserAccountFlow: sign up, sign out, sign in, reach a protected
// page, sign out, and be sent to sign-in when coming back.
func TestBrowserAccountFlow(t *testing.T) {
	app := newTestApp(t)
	base := app.serve(t)
	ctx := browser(t)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	location := func() string {
		t.Helper()
		u, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, base)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("sign up",
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys(chromedp.ID("email"), "grace@example.com"),
		chromedp.SendKeys(chromedp.ID("name"), "Grace"),
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="signup-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-link"]`)),
	)
	if got := text(`[data-testid="account-link"]`); got != "Grace" {
		t.Fatalf("menu shows %q after sign-up", got)
	}
	step("sign out",
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-link"]`)),
	)
	if got := text(`[data-testid="flash"]`); !strings.Contains(got, "signed out") {
		t.Fatalf("flash after sign-out: %q", got)
	}

	step("open a protected page",
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-submit"]`)),
	)
	if loc := location(); loc != "/login?next=%2Faccount" {
		t.Fatalf("protected page sent us to %q", loc)
	}
	step("wrong password",
		chromedp.SendKeys(chromedp.ID("email"), "grace@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="form-error"]`)),
	)
	if got := text(`[data-testid="form-error"]`); got != msgBadCredentials {
		t.Fatalf("failed sign-in says %q", got)
	}
	step("sign in",
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-email"]`)),
	)
	if loc := location(); loc != "/account" {
		t.Fatalf("after sign-in at %q, want /account", loc)
	}
	if got := text(`[data-testid="account-email"]`); got != "grace@example.com" {
		t.Fatalf("account page shows %q", got)
	}
	// The session cookie is invisible to scripts.
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || strings.Contains(cookies, SessionCookie) || strings.Contains(cookies, csrfCookie) {
		t.Fatalf("document.cookie = %q (%v)", cookies, err)
	}
	step("sign out again",
		chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-link"]`)),
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-submit"]`)),
	)
	if loc := location(); loc != "/login?next=%2Faccount" {
		t.Fatalf("after sign-out the protected page sent us to %q", loc)
	}
}

// TestBrowserEventFlow: sign in, create an event, see it listed, edit it,
// delete it.
func TestBrowserEventFlow(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	base := app.serve(t)
	ctx := browser(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	step("sign in",
		chromedp.Navigate(base+"/login?next=/events/new"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-submit"]`)),
	)
	step("create",
		chromedp.SendKeys(chromedp.ID("title"), "Rooftop dinner"),
		chromedp.SetValue(chromedp.ID("starts_at"), "2031-06-01T19:00"),
		chromedp.SetValue(chromedp.ID("ends_at"), "2031-06-01T22:00"),
		chromedp.SendKeys(chromedp.ID("location"), "Top floor"),
		chromedp.SendKeys(chromedp.ID("description"), "Dinner with a view."),
		chromedp.SendKeys(chromedp.ID("tags"), "Food, Friends"),
		chromedp.Click(chromedp.CSS(`[data-testid="event-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-title"]`)),
	)
	if got := text(`[data-testid="event-title"]`); got != "Rooftop dinner" {
		t.Fatalf("event page shows %q", got)
	}
	if got := text(`[data-testid="event-when"]`); !strings.Contains(got, "Sun 1 Jun 2031, 19:00 – 22:00") {
		t.Fatalf("event time shown as %q", got)
	}
	step("see it listed",
		chromedp.Navigate(base+"/events"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-link"]`)),
	)
	if got := text(`[data-testid="event-link"]`); got != "Rooftop dinner" {
		t.Fatalf("list shows %q", got)
	}
	step("edit",
		chromedp.Click(chromedp.CSS(`[data-testid="event-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="edit-event"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="edit-event"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-submit"]`)),
		chromedp.SetValue(chromedp.ID("title"), "Rooftop dinner (moved indoors)"),
		chromedp.Click(chromedp.CSS(`[data-testid="event-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="delete-event"]`)),
	)
	if got := text(`[data-testid="event-title"]`); got != "Rooftop dinner (moved indoors)" {
		t.Fatalf("after edit the page shows %q", got)
	}
	step("delete",
		chromedp.Click(chromedp.CSS(`[data-testid="delete-event"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-delete"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="no-events"]`)),
	)
}

// TestBrowserPagesFitAPhone opens the pages an admin can see at a phone's
// width (390 px): none may be wider than the screen. (Tables scroll inside
// their own box; nothing may escape it.)
func TestBrowserPagesFitAPhone(t *testing.T) {
	app := newTestApp(t)
	root := app.createUser("root@example.com", goodPassword, "admin")
	app.createEvent(root.ID, "Launch party", "public", "go")
	base := app.serve(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "root@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-link"]`)),
	); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/events", "/events/new", "/account", "/account/sessions", "/account/mfa", "/account/passkeys", "/login/confirm", "/widget",
		"/admin", "/admin/users", "/admin/events", "/admin/audit", "/api/docs"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p)); err != nil {
			t.Fatal(err)
		}
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil || width > 390 {
			t.Errorf("%s is %d px wide on a 390 px phone (%v)", p, width, err)
		}
	}
}
