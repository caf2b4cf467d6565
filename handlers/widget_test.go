package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/static"
)

// TestWidgetAssets: the widget's script and stylesheet may be loaded by any
// site, and are cached; other assets do not get the cross-origin headers.
func TestWidgetAssets(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	for _, tc := range []struct {
		path, contentType string
		shared            bool
	}{
		{"/static/widget.js", "javascript", true},
		{"/static/widget.css", "text/css", true},
		{"/static/widget.js?v=" + static.Version(), "javascript", true},
		{"/static/style.css", "text/css", false},
		{"/static/favicon.svg", "image/svg+xml", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := c.get(tc.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			h := rec.Header()
			if ct := h.Get(echo.HeaderContentType); !strings.Contains(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", h.Get("X-Content-Type-Options"))
			}
			if cc := h.Get("Cache-Control"); !strings.Contains(cc, "public, max-age=") {
				t.Errorf("Cache-Control %q", cc)
			}
			acao, corp := h.Get("Access-Control-Allow-Origin"), h.Get("Cross-Origin-Resource-Policy")
			if tc.shared && (acao != "*" || corp != "cross-origin") {
				t.Errorf("widget asset: Access-Control-Allow-Origin %q, Cross-Origin-Resource-Policy %q", acao, corp)
			}
			if !tc.shared && (acao != "" || corp != "") {
				t.Errorf("other asset: Access-Control-Allow-Origin %q, Cross-Origin-Resource-Policy %q", acao, corp)
			}
		})
	}
	// The version tag makes the script immutable for a year; the plain URL
	// that host pages use is kept briefly so a release reaches them soon.
	if cc := c.get("/static/widget.js?v=" + static.Version()).Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned widget.js: Cache-Control %q", cc)
	}
	if cc := c.get("/static/widget.js").Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("widget.js: Cache-Control %q", cc)
	}
}

// TestWidgetScriptNeverWritesHTML guards the widget's main rule in its
// source: API text goes through textContent, never through an HTML parser,
// and no style is set inline (Planner's CSP would block it).
func TestWidgetScriptNeverWritesHTML(t *testing.T) {
	src, err := static.Files.ReadFile("widget.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
		"DOMParser", "setHTML", "eval(", "new Function", ".style.", "<style", "adoptedStyleSheets", "credentials: \"include\""} {
		if strings.Contains(string(src), banned) {
			t.Errorf("widget.js contains %q", banned)
		}
	}
	for _, needed := range []string{"textContent", `credentials: "omit"`, "attachShadow", "document.currentScript"} {
		if !strings.Contains(string(src), needed) {
			t.Errorf("widget.js lacks %q", needed)
		}
	}
}

// TestWidgetPage: /widget explains the widget with a snippet for the
// configured origin (never the Host header), embeds the live preview with
// no inline script or style, and carries the page headers.
func TestWidgetPage(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	req := httptest.NewRequest(http.MethodGet, "/widget", nil)
	req.Host = "evil.example"
	rec := c.do(req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	h := rec.Header()
	for name, want := range map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	body := rec.Body.String()
	if strings.Contains(body, "evil.example") {
		t.Error("the page uses the Host header")
	}
	want := "<div data-planner-events data-limit=\"5\"></div>\n" +
		"<script src=\"http://planner.test/static/widget.js\" async></script>"
	if got := testid(t, rec, "widget-snippet"); got != want {
		t.Errorf("snippet:\n%s\nwant:\n%s", got, want)
	}
	if got := testid(t, rec, "widget-csp"); !strings.Contains(got, "connect-src http://planner.test") {
		t.Errorf("CSP advice %q", got)
	}

	d := doc(t, rec)
	if d.Find("pre code").Length() != 1 {
		t.Error("the snippet is not in a <pre><code> block")
	}
	// The preview is the real widget: a target element and the script.
	if d.Find(`[data-testid="widget-preview"][data-planner-events][data-limit="5"]`).Length() != 1 {
		t.Error("no preview element")
	}
	scripts := d.Find("script")
	if scripts.Length() != 1 {
		t.Fatalf("%d scripts, want the widget only", scripts.Length())
	}
	src, _ := scripts.Attr("src")
	if !strings.HasPrefix(src, "/static/widget.js") || scripts.AttrOr("async", "no") == "no" || strings.TrimSpace(scripts.Text()) != "" {
		t.Errorf("script src=%q async=%v body=%q", src, scripts.AttrOr("async", "no") != "no", scripts.Text())
	}
	// No inline style or script anywhere.
	if d.Find("style").Length() > 0 || d.Find("[style]").Length() > 0 {
		t.Error("inline style on the page")
	}
	d.Find("*").Each(func(_ int, s *goqueryS) {
		for _, a := range s.Nodes[0].Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") {
				t.Errorf("inline handler %s on <%s>", a.Key, s.Nodes[0].Data)
			}
		}
	})
	// The footer of every page links here.
	if href, _ := doc(t, c.get("/")).Find(`footer [data-testid="widget-link"]`).Attr("href"); href != "/widget" {
		t.Errorf("footer link to the widget page: %q", href)
	}
}

// seedEvent stores an event as it is given (past times included).
func (a *testApp) seedEvent(creator uint, in models.EventInput) *models.Event {
	a.t.Helper()
	in.Normalize()
	e, err := models.NewEvents(a.db).Create(context.Background(), creator, in)
	if err != nil {
		a.t.Fatal(err)
	}
	return e
}

// hostPageHTML is another site's page with two widgets and some hostile
// CSS that must not reach inside them. Its own script counts dialogs, so a
// title that ran as HTML (onerror=alert(1)) would show.
const hostPageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meetups near you</title>
<script>
  window.__dialogs = 0;
  window.alert = window.confirm = window.prompt = function () { window.__dialogs++; };
</script>
<style>
  body { font-family: Georgia, serif; color: #222; background: #fdfaf3; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  .columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
  a, li, ul, .event, .event-title { display: none !important; }
</style>
</head>
<body>
<h1>Meetups near you</h1>
<p>Our friends at Planner keep the calendar.</p>
<div class="columns">
<div data-planner-events data-limit="5" data-tag="python" data-title="Python events"></div>
<div data-planner-events data-tag="go"></div>
</div>
<script src="{{PLANNER}}/static/widget.js" async></script>
</body>
</html>`

// hostPage serves hostPageHTML, embedding the widget from planner, from a
// second loopback origin: another port, and "localhost" where Planner is on
// 127.0.0.1, so it is another site as well.
func hostPage(t *testing.T, planner string) string {
	t.Helper()
	html := strings.ReplaceAll(hostPageHTML, "{{PLANNER}}", planner)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// widgetView is what a test reads from one widget's shadow root.
type widgetView struct {
	State   string   `json:"state"`
	Text    string   `json:"text"`
	Titles  []string `json:"titles"`
	Links   []string `json:"links"`
	Dates   []string `json:"dates"`
	Shown   []string `json:"shown"`
	Images  int      `json:"images"`
	Visible bool     `json:"visible"`
}

// readWidgets waits until every widget on the page is done loading and
// returns what each shows.
func readWidgets(t *testing.T, ctx context.Context) []widgetView {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Poll[[]widgetView](`(() => {
		const hosts = [...document.querySelectorAll('[data-planner-events]')];
		const boxes = hosts.map(h => h.shadowRoot && h.shadowRoot.querySelector('[data-state]'));
		if (hosts.length === 0 || boxes.some(b => !b || b.dataset.state === 'loading')) return null;
		return hosts.map((h, i) => {
			const r = h.shadowRoot, all = sel => [...r.querySelectorAll(sel)];
			const first = r.querySelector('.event-title');
			return {
				state: boxes[i].dataset.state,
				text: r.textContent,
				titles: all('.event-title').map(a => a.textContent),
				links: all('a.event-title').map(a => a.href),
				dates: all('time').map(t => t.dateTime),
				shown: all('time').map(t => t.textContent),
				images: all('img').length,
				visible: !!first && first.getClientRects().length > 0,
			};
		});
	})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("widgets did not render: %v", err)
	}
	return got
}

// screenshot saves the page as PNG in $PLANNER_SCREENSHOTS, when set, for a
// person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PLANNER_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserWidgetOnAnotherSite: a page on another origin embeds two
// widgets with different tags from Planner; each shows only the upcoming
// public events of its tag, dates in the visitor's zone, a hostile title
// as text, and the host page's CSS does not reach inside.
func TestBrowserWidgetOnAnotherSite(t *testing.T) {
	app := newTestApp(t)
	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	soon := func(h int) *time.Time { v := time.Now().Add(time.Duration(h) * time.Hour); return &v }
	pycon := app.seedEvent(ada.ID, models.EventInput{Title: "PyCon meetup", Tags: []string{"python"}, Location: "Room 1",
		StartsAt: at("2031-03-01T18:00:00Z"), EndsAt: at("2031-03-01T20:00:00Z"), Capacity: intp(3)})
	django := app.seedEvent(ada.ID, models.EventInput{Title: "Django night", Tags: []string{"Python", "web"}, StartsAt: soon(24)})
	gophers := app.seedEvent(ada.ID, models.EventInput{Title: "Gophers lunch", Tags: []string{"go"}, StartsAt: soon(30)})
	app.seedEvent(ada.ID, models.EventInput{Title: "Go generics talk", Tags: []string{"go"}, StartsAt: soon(50)})
	const xss = `<img src=x onerror=alert(1)>`
	app.seedEvent(ada.ID, models.EventInput{Title: xss, Tags: []string{"python", "go"}, StartsAt: soon(40)})
	app.seedEvent(ada.ID, models.EventInput{Title: "Secret sprint", Tags: []string{"python", "go"}, Visibility: "private", StartsAt: soon(20)})
	app.seedEvent(ada.ID, models.EventInput{Title: "Last year's meetup", Tags: []string{"python", "go"}, StartsAt: soon(-24 * 365)})
	app.seedEvent(ada.ID, models.EventInput{Title: "Board games", StartsAt: soon(10)})

	planner := app.serve(t)
	host := hostPage(t, planner)
	ctx := browser(t)
	// A visitor in Tokyo with an American browser: 18:00 UTC on 1 March is
	// 03:00 on 2 March for them.
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "en_US"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(host+"/")); err != nil {
		t.Fatal(err)
	}
	widgets := readWidgets(t, ctx)
	screenshot(t, ctx, "widget-host-page.png")
	if len(widgets) != 2 {
		t.Fatalf("%d widgets, want 2", len(widgets))
	}
	python, golang := widgets[0], widgets[1]

	eventURL := func(e *models.Event) string { return planner + "/events/" + strconv.Itoa(int(e.ID)) }
	check := func(name string, w widgetView, titles []string, links []string) {
		t.Helper()
		if w.State != "ready" {
			t.Errorf("%s widget: state %q (%q)", name, w.State, w.Text)
		}
		if strings.Join(w.Titles, "|") != strings.Join(titles, "|") {
			t.Errorf("%s widget shows %q, want %q", name, w.Titles, titles)
		}
		for _, l := range links {
			found := false
			for _, got := range w.Links {
				found = found || got == l
			}
			if !found {
				t.Errorf("%s widget: no link to %s in %q", name, l, w.Links)
			}
		}
		for _, hidden := range []string{"Secret sprint", "Last year's meetup", "Board games"} {
			if strings.Contains(w.Text, hidden) {
				t.Errorf("%s widget shows %q", name, hidden)
			}
		}
		// The hostile title is text: the literal string, and no element.
		if !strings.Contains(w.Text, xss) || w.Images != 0 {
			t.Errorf("%s widget: title as text %v, img elements %d", name, strings.Contains(w.Text, xss), w.Images)
		}
		if !w.Visible {
			t.Errorf("%s widget: the host page's CSS hid the events", name)
		}
	}
	// Soonest first, the private and the past events left out.
	check("python", python, []string{"Django night", xss, "PyCon meetup"}, []string{eventURL(django), eventURL(pycon)})
	check("go", golang, []string{"Gophers lunch", xss, "Go generics talk"}, []string{eventURL(gophers)})
	if !strings.HasPrefix(python.Text, "Python events") || !strings.HasPrefix(golang.Text, "Upcoming events") {
		t.Errorf("headings: %q / %q", python.Text, golang.Text)
	}
	if !strings.Contains(python.Text, "Room 1") {
		t.Errorf("location missing: %q", python.Text)
	}
	// As on the event's page: in the event's zone (the default, UTC here),
	// named, and in the visitor's zone too.
	// The pages' shape and 24-hour clock, whatever the visitor's locale (an
	// American browser here).
	if last := len(python.Dates) - 1; last < 0 || python.Dates[last] != "2031-03-01T18:00:00Z" ||
		python.Shown[last] != "Sat 1 Mar 2031, 18:00 – 20:00 UTC" {
		t.Errorf("PyCon date: datetime %q shown %q, want Sat 1 Mar 2031, 18:00 – 20:00 UTC (the event's zone)", python.Dates, python.Shown)
	}
	for _, w := range []widgetView{python, golang} {
		if strings.Contains(w.Text, " AM") || strings.Contains(w.Text, " PM") {
			t.Errorf("a 12-hour time in the widget: %q", w.Text)
		}
	}
	// Seats left for an event with a capacity, and a link to RSVP on its page.
	if !strings.Contains(python.Text, "3 of 3 seats left") || !strings.Contains(python.Text, "RSVP on Planner") ||
		strings.Contains(golang.Text, "seats left") {
		t.Errorf("seats: python %q, go %q", python.Text, golang.Text)
	}
	if !strings.Contains(python.Text, "Your time: Sun 2 Mar 2031, 03:00 – 05:00 Asia/Tokyo (GMT+9)") {
		t.Errorf("PyCon in the visitor's zone missing (want Sun 2 Mar 2031, 03:00 – 05:00 in Tokyo): %q", python.Text)
	}

	dialogs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__dialogs`))
	if err != nil || dialogs != 0 {
		t.Errorf("%d dialogs opened (%v)", dialogs, err)
	}
}

// TestBrowserWidgetRefusedByCORS: when Planner's API does not allow the
// host page's origin, the widget says so instead of showing nothing.
func TestBrowserWidgetRefusedByCORS(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.CORSOrigins = []string{"https://only.example"} })
	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	app.createEvent(ada.ID, "Python meetup", "public", "python", "go")
	host := hostPage(t, app.serve(t))
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(host+"/")); err != nil {
		t.Fatal(err)
	}
	widgets := readWidgets(t, ctx)
	if len(widgets) != 2 {
		t.Fatalf("%d widgets, want 2", len(widgets))
	}
	for i, w := range widgets {
		if w.State != "error" || !strings.Contains(w.Text, "Events could not be loaded.") || len(w.Titles) != 0 {
			t.Errorf("widget %d: state %q, text %q", i, w.State, w.Text)
		}
	}
}

// TestBrowserWidgetPage: the live preview on Planner's own /widget page
// renders under Planner's strict CSP, styled by widget.css, without a
// single CSP violation; with no events it shows the empty state.
func TestBrowserWidgetPage(t *testing.T) {
	app := newTestApp(t)
	base := app.serve(t)
	ctx := browser(t)
	// Record CSP violations from the start of every document.
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI), true);`,
	}); err != nil {
		t.Fatal(err)
	}

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/widget"))
	if err != nil {
		t.Fatal(err)
	}
	if csp, _ := resp.Headers["Content-Security-Policy"].(string); csp != contentSecurityPolicy {
		t.Fatalf("page CSP %q", csp)
	}
	if w := readWidgets(t, ctx); len(w) != 1 || w[0].State != "empty" || !strings.Contains(w[0].Text, "No upcoming events.") {
		t.Fatalf("empty preview: %+v", w)
	}

	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	for i := 1; i <= 6; i++ {
		app.seedEvent(ada.ID, models.EventInput{Title: "Public event " + strconv.Itoa(i), Location: "Hall " + strconv.Itoa(i),
			StartsAt: new(time.Now().Add(time.Duration(i) * 24 * time.Hour))})
	}
	app.seedEvent(ada.ID, models.EventInput{Title: "Private event", Visibility: "private", StartsAt: new(time.Now().Add(time.Hour))})
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/widget")); err != nil {
		t.Fatal(err)
	}
	w := readWidgets(t, ctx)
	if len(w) != 1 || w[0].State != "ready" {
		t.Fatalf("preview: %+v", w)
	}
	want := []string{"Public event 1", "Public event 2", "Public event 3", "Public event 4", "Public event 5"}
	if strings.Join(w[0].Titles, "|") != strings.Join(want, "|") || strings.Contains(w[0].Text, "Private event") {
		t.Errorf("preview shows %q, want %q", w[0].Titles, want)
	}

	// widget.css applied inside the shadow root: the list has no bullets
	// and each event has its accent bar (browser defaults: disc, 0px).
	styled, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const r = document.querySelector('[data-planner-events]').shadowRoot;
		const list = getComputedStyle(r.querySelector('.events'));
		const item = getComputedStyle(r.querySelector('.event'));
		return list.listStyleType === 'none' && list.paddingLeft === '0px' && item.borderLeftWidth === '3px';
	})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !styled {
		t.Fatalf("widget.css not applied in the shadow root (%v)", err)
	}
	screenshot(t, ctx, "widget-page.png")
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
	if err != nil || len(violations) != 0 {
		t.Errorf("CSP violations: %q (%v)", violations, err)
	}
}
