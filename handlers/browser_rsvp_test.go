package handlers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
)

// TestBrowserRSVPFlow: in Chromium, one guest takes the only seat, a second
// joins the waitlist, the first cancels and the second is promoted; then
// the second downloads the event's .ics, which parses. The event page and
// "My events" are checked for overflow at phone width, and screenshots
// taken at desktop and phone width when PLANNER_SCREENSHOTS is set.
func TestBrowserRSVPFlow(t *testing.T) {
	app := newTestApp(t)
	owner := app.createUser("owner@example.com", goodPassword, models.RoleUser)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	app.createUser("grace@example.com", goodPassword, models.RoleUser)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	end := start.Add(2 * time.Hour)
	in := models.EventInput{Title: "Rooftop supper club with a long enough title to wrap on a phone", Location: "The roof, Kreuzberg",
		Description: "Bring a dish.", StartsAt: &start, EndsAt: &end, Capacity: intp(1), Timezone: "Europe/Berlin",
		Tags: []string{"food", "berlin"}}
	in.Normalize()
	e, err := models.NewEvents(app.db).Create(t.Context(), owner.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	base := app.serve(t)
	ctx := browser(t)
	eventURL := fmt.Sprintf("%s/events/%d", base, e.ID)
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
	signIn := func(email string) {
		t.Helper()
		step("sign in as "+email,
			chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), goodPassword),
			chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="logout"]`)))
	}
	signOut := func() {
		t.Helper()
		step("sign out", chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-link"]`)))
	}
	click := func(testid string) {
		t.Helper()
		step("click "+testid, chromedp.Click(chromedp.CSS(`[data-testid="`+testid+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)))
	}

	signIn("ada@example.com")
	step("open the event", chromedp.Navigate(eventURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rsvp-button"]`)))
	if got := text(`[data-testid="event-seats"]`); got != "1 of 1 seats left" {
		t.Errorf("seats %q", got)
	}
	click("rsvp-button")
	if got := text(`[data-testid="rsvp-state"]`); got != "You're going" {
		t.Fatalf("ada: %q", got)
	}
	screenshot(t, ctx, "event-going-desktop.png")
	signOut()

	signIn("grace@example.com")
	step("open the full event", chromedp.Navigate(eventURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rsvp-button"]`)))
	if got := text(`[data-testid="rsvp-button"]`); got != "Join the waitlist" {
		t.Errorf("button on a full event %q", got)
	}
	click("rsvp-button")
	if got := text(`[data-testid="rsvp-state"]`); got != "You're on the waitlist" {
		t.Fatalf("grace: %q", got)
	}
	signOut()

	signIn("ada@example.com")
	step("open the event again", chromedp.Navigate(eventURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rsvp-cancel"]`)))
	click("rsvp-cancel")
	signOut()

	signIn("grace@example.com")
	step("open the event as the promoted guest", chromedp.Navigate(eventURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="rsvp-state"]`)))
	if got := text(`[data-testid="rsvp-state"]`); got != "You're going" {
		t.Fatalf("grace after the cancellation: %q", got)
	}

	// Download the .ics through its link.
	dir := t.TempDir()
	if _, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	step("download the .ics", chromedp.Click(chromedp.CSS(`[data-testid="add-to-calendar"]`)))
	var body []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("event-%d.ics", e.ID))); err == nil && len(b) > 0 {
			body = b
			break
		}
	}
	if body == nil {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("no .ics downloaded (dir has %v)", entries)
	}
	cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
	if err != nil || len(cal.Events()) != 1 {
		t.Fatalf("downloaded .ics: %v\n%s", err, body)
	}
	if got, err := cal.Events()[0].GetStartAt(); err != nil || !got.Equal(start) {
		t.Errorf("DTSTART %v %v, want %v", got, err, start)
	}

	// Phone width: nothing wider than the screen.
	for _, page := range []struct{ name, url string }{
		{"event", eventURL}, {"mine", base + "/events/mine"}, {"home", base + "/"},
	} {
		step("desktop "+page.name, chromedp.Navigate(page.url), chromedp.WaitVisible(chromedp.CSS("main")))
		screenshot(t, ctx, page.name+"-desktop.png")
	}
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []struct{ name, url string }{
		{"event", eventURL}, {"mine", base + "/events/mine"}, {"home", base + "/"},
	} {
		step("phone "+page.name, chromedp.Navigate(page.url), chromedp.WaitVisible(chromedp.CSS("main")))
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const w = document.documentElement.clientWidth;
			const over = [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > w + 1);
			return over.slice(0, 5).map(el => el.tagName + '.' + el.className).join(', ');
		})()`))
		if err != nil || wide != "" {
			t.Errorf("phone %s: wider than the screen: %q (%v)", page.name, wide, err)
		}
		screenshot(t, ctx, page.name+"-phone.png")
	}

	// The owner's pages at phone width: the attendees list, the event form
	// and the account page with the feed address.
	step("owner signs in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="logout"]`)))
	signOut()
	signIn("owner@example.com")
	for _, page := range []struct{ name, url string }{
		{"attendees", eventURL + "/attendees"}, {"event-owner", eventURL}, {"event-form", eventURL + "/edit"}, {"account", base + "/account"},
	} {
		step("phone "+page.name, chromedp.Navigate(page.url), chromedp.WaitVisible(chromedp.CSS("main")))
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const w = document.documentElement.clientWidth;
			const over = [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > w + 1);
			return over.slice(0, 5).map(el => el.tagName + '.' + el.className).join(', ');
		})()`))
		if err != nil || wide != "" {
			t.Errorf("phone %s: wider than the screen: %q (%v)", page.name, wide, err)
		}
		screenshot(t, ctx, page.name+"-phone.png")
		if page.name == "attendees" {
			if got := text(`[data-testid="going"] [data-testid="attendee"]`); !strings.Contains(got, "grace@example.com") {
				t.Errorf("attendees page: %q", got)
			}
		}
	}
}
