package handlers

import (
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
)

// TestBrowserPasswordReset: in Chromium, "Forgot your password?" sends a
// mail (received by a real SMTP server) whose link, opened as it is, sets
// a new password once; the same link opened again fails.
func TestBrowserPasswordReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	app := newTestApp(t, func(c *Config) { c.BaseURL, _ = url.Parse(base) })
	srv := httptest.NewUnstartedServer(app.e)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	mails := withMail(t, app)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)

	ctx := browser(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("ask for a link",
		chromedp.Navigate(base+"/login"),
		chromedp.Click(chromedp.CSS(`[data-testid="forgot-link"]`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.Click(chromedp.CSS(`[data-testid="forgot-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="forgot-sent"]`)),
	)
	m := mails.Wait(t, 1, 15*time.Second)[0]
	var link string
	for _, l := range m.Links() {
		if strings.HasPrefix(l, base+"/password/reset?token=") {
			link = l
		}
	}
	if link == "" {
		t.Fatalf("no reset link in %q", m.Text)
	}
	setPassword := func(password string) {
		t.Helper()
		step("open the link and set "+password,
			chromedp.Navigate(link),
			chromedp.WaitVisible(chromedp.ID("new_password")),
			chromedp.SendKeys(chromedp.ID("new_password"), password),
			chromedp.Click(chromedp.CSS(`[data-testid="reset-submit"]`)),
		)
	}
	setPassword(newPassword)
	step("back at sign-in", chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)))
	if flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`))); err != nil || !strings.Contains(flash, "reset") {
		t.Fatalf("flash %q (%v)", flash, err)
	}
	step("sign in with the new password",
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), newPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-link"]`)),
	)
	step("sign out", chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-link"]`)))
	setPassword("a-third-passphrase-here")
	step("the link is dead", chromedp.WaitVisible(chromedp.CSS(`[data-testid="form-error"]`)))
	if msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="form-error"]`))); err != nil || !strings.Contains(msg, "invalid or has expired") {
		t.Fatalf("second use: %q (%v)", msg, err)
	}
	app.client().login("ada@example.com", newPassword)
}
