package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
)

// unbroken is n characters with no place to break a line.
func unbroken(n int) string { return strings.Repeat("W", n) }

// TestBrowserLongTextFits fills every field a person can type into with
// unbroken text (180-character titles, locations, descriptions and search
// terms, 30-character tags, a 60-character name, a long email address) and
// opens every event and account page, signed in and not, the forms in
// their error state and the widget preview, at a desktop's and a phone's
// width: no page may be wider than its viewport.
func TestBrowserLongTextFits(t *testing.T) {
	app := newTestApp(t)
	email := strings.Repeat("a", 60) + "@" + strings.Repeat("b", 60) + ".example"
	u := app.createUser(email, goodPassword, models.RoleUser)
	if err := models.NewUsers(app.db).SetName(context.Background(), u.ID, unbroken(60)); err != nil {
		t.Fatal(err)
	}
	tags := make([]string, 10)
	for i := range tags {
		tags[i] = fmt.Sprintf("%d%s", i, strings.Repeat("t", 29))
	}
	at := func(d time.Duration) *time.Time { v := time.Now().Add(d); return &v }
	long := models.EventInput{Title: unbroken(180), Location: unbroken(180), Description: unbroken(600), Tags: tags,
		Image: "https://broken.invalid/" + unbroken(150) + ".png", Timezone: "America/Argentina/Buenos_Aires",
		StartsAt: at(48 * time.Hour), EndsAt: at(80 * time.Hour), Capacity: intp(3)}
	e := app.seedEvent(u.ID, long)
	past, undated := long, long
	past.StartsAt, past.EndsAt = at(-48*time.Hour), nil
	undated.StartsAt, undated.EndsAt = nil, nil
	app.seedEvent(u.ID, past)
	app.seedEvent(u.ID, undated)
	priv := long
	priv.Visibility = models.VisibilityPrivate
	pe := app.seedEvent(u.ID, priv)
	id, pid := fmt.Sprint(e.ID), fmt.Sprint(pe.ID)

	base := app.serve(t)
	hostSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Host</title><style>.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }</style></head>
<body><div class="columns"><div data-planner-events data-title="%s"></div><p>Other column</p></div>
<script src="%s/static/widget.js" async></script></body></html>`, unbroken(100), base)
	}))
	t.Cleanup(hostSrv.Close)
	host := strings.Replace(hostSrv.URL, "127.0.0.1", "localhost", 1)
	ctx := browser(t)
	q := url.QueryEscape(unbroken(180))
	anonymous := []string{"/", "/events", "/events?q=" + q, "/events/" + id, "/widget"}
	signedIn := []string{"/", "/events", "/events?q=" + q, "/events?tag=" + tags[0], "/events?q=" + q + "&tag=" + tags[1],
		"/events/mine", "/events/" + id, "/events/" + pid, "/events/" + id + "/edit", "/events/" + id + "/delete",
		"/events/" + id + "/attendees", "/events/new", "/account", "/account/signout-all", "/widget"}

	shots := 0
	fits := func(who, path string, w int) {
		t.Helper()
		if path == "/widget" || strings.HasPrefix(path, "another site") {
			readWidgets(t, ctx) // wait for the preview to fill
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
		if err != nil {
			t.Fatalf("%s %s: %v", who, path, err)
		}
		if got[0] > got[1] {
			t.Errorf("%s %s at %d px: the page is %d px wide", who, path, w, got[0])
		}
		shots++
		screenshot(t, ctx, fmt.Sprintf("long-%s-%d-%02d-%s.png", who, w, shots,
			strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_", " ", "_").Replace(path[:min(len(path), 30)])))
	}
	open := func(who, path string, w int) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		fits(who, path, w)
	}
	for _, size := range [][2]int{{1280, 900}, {390, 844}} {
		w := size[0]
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(size[0]), int64(size[1]))); err != nil {
			t.Fatal(err)
		}
		for _, p := range anonymous {
			open("anon", p, w)
		}
		// The widget on another site, in a column of the host's grid.
		if err := chromedp.Do(ctx, chromedp.Navigate(host)); err != nil {
			t.Fatal(err)
		}
		fits("anon", "another site's page with the widget", w)
		// The widget names the zone as the pages do, not by an alias.
		if got := readWidgets(t, ctx); len(got) != 1 || len(got[0].Shown) == 0 ||
			!strings.HasSuffix(got[0].Shown[0], " America/Argentina/Buenos_Aires (GMT-3)") {
			t.Errorf("widget times %+v", got)
		}
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/login"),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), goodPassword),
			chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-link"]`)),
		); err != nil {
			t.Fatal(err)
		}
		if w == 1280 { // an RSVP for the attendees page and "My events"
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/events/"+id),
				chromedp.Click(chromedp.CSS(`[data-testid="rsvp-button"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="rsvp-cancel"]`))); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range signedIn {
			open("user", p, w)
		}
		// The edit form in its error state, every other field still long.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/events/"+id+"/edit"),
			chromedp.WaitVisible(chromedp.ID("capacity")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('title').value = ''; document.getElementById('capacity').value = '-5'`),
			chromedp.Click(chromedp.CSS(`[data-testid="event-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`))); err != nil {
			t.Fatal(err)
		}
		fits("user", "/events/"+id+"/edit (errors)", w)
		// The account's name form in its error state.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/account"),
			chromedp.WaitVisible(chromedp.ID("name")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('name').value = '`+unbroken(61)+`'`),
			chromedp.Click(chromedp.CSS(`[data-testid="name-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-name"]`))); err != nil {
			t.Fatal(err)
		}
		fits("user", "/account (errors)", w)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-link"]`))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserBrokenImageLeavesNoGap: an event whose image cannot be loaded
// shows its page as if it had none: the image is taken out (display:
// none), and the RSVP box and the description sit as close as on an event
// without an image.
func TestBrowserBrokenImageLeavesNoGap(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	start := time.Now().Add(time.Hour)
	plain := app.seedEvent(u.ID, models.EventInput{Title: "No image", Description: "Words.", StartsAt: &start})
	broken := app.seedEvent(u.ID, models.EventInput{Title: "Dead image", Description: "Words.", StartsAt: &start,
		Image: "https://broken.invalid/missing.png"})
	base := app.serve(t)
	ctx := browser(t)
	// gap is the space between the RSVP box and the description, once the
	// image (if any) has failed.
	gap := func(e *models.Event) (float64, string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/events/"+idString(e.ID)), chromedp.WaitVisible(chromedp.CSS(".description"))); err != nil {
			t.Fatal(err)
		}
		v, err := chromedp.Run(ctx, chromedp.Poll[[]any](`(() => {
			const img = document.querySelector('.event-image');
			if (img && !(img.complete && img.naturalWidth === 0)) return null; // still loading
			const rsvp = document.querySelector('.rsvp').getBoundingClientRect();
			const desc = document.querySelector('.description').getBoundingClientRect();
			return [desc.top - rsvp.bottom, img ? getComputedStyle(img).display : ''];
		})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		return v[0].(float64), v[1].(string)
	}
	want, _ := gap(plain)
	got, display := gap(broken)
	screenshot(t, ctx, "event-broken-image.png")
	if display != "none" || got != want {
		t.Fatalf("broken image: display %q, gap %.1f px, want none and %.1f px (as with no image)", display, got, want)
	}
}
