package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
)

// TestTimesOutsideYears1To9999 sends instants whose UTC year leaves 1–9999
// (a local time that is still 9999 or 0001 on its own clock) through every
// surface that takes a time: each is a 422 naming the field, and nothing is
// stored or changed.
func TestTimesOutsideYears1To9999(t *testing.T) {
	pagoPago, err := time.LoadLocation("Pacific/Pago_Pago") // UTC−11
	if err != nil {
		t.Fatal(err)
	}
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati") // UTC+14
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t)
	app.createUser("owner@example.com", "correct-horse-battery", models.RoleUser)
	c := app.client()
	tok := c.token("owner@example.com", "correct-horse-battery")

	rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Kept", "starts_at": "2031-03-01T18:00:00Z"})
	if rec.Code != http.StatusOK {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	id := decode[struct {
		ID uint `json:"id"`
	}](t, rec).ID

	for _, bad := range []string{"9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z"} {
		for _, field := range []string{"starts_at", "ends_at"} {
			rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Out of range", field: bad})
			want422(t, rec, "body", field)
			rec = c.api("PUT", "/api/event/"+strconv.FormatUint(uint64(id), 10), tok, map[string]any{field: bad})
			want422(t, rec, "body", field)
		}
	}
	// The edges themselves are fine, and read back as written.
	rec = c.api("PUT", "/api/event/"+strconv.FormatUint(uint64(id), 10), tok, map[string]any{"starts_at": "0001-01-01T00:00:00Z", "ends_at": "9999-12-31T23:59:59Z"})
	if rec.Code != http.StatusOK {
		t.Fatalf("edges: %d %s", rec.Code, rec.Body.String())
	}
	got := decode[map[string]any](t, c.api("GET", "/api/event/"+strconv.FormatUint(uint64(id), 10), tok, nil))
	if got["starts_at"] != "0001-01-01T00:00:00Z" || got["ends_at"] != "9999-12-31T23:59:59Z" {
		t.Errorf("edges read back as %v / %v", got["starts_at"], got["ends_at"])
	}
	var n int64
	app.db.Model(&models.Event{}).Count(&n)
	if n != 1 {
		t.Errorf("%d events stored, want only the valid one", n)
	}

	// Pages read datetime-local in PLANNER_TIMEZONE: 9999-12-31 23:59 in
	// UTC−11 is in the year 10000 in UTC. (Pages take no year before 1900
	// at all, so 0001-01-01 00:30 in UTC+14 is refused as a bad date.)
	for _, tc := range []struct {
		loc   *time.Location
		value string
		msg   string
	}{{pagoPago, "9999-12-31T23:59", "between the years 1 and 9999"}, {kiritimati, "0001-01-01T00:30", "Enter a date and time"}} {
		app := newTestApp(t, func(c *Config) { c.Timezone = tc.loc })
		app.createUser("page@example.com", "correct-horse-battery", models.RoleUser)
		pc := app.client()
		pc.login("page@example.com", "correct-horse-battery")
		rec := pc.post("/events", url.Values{"title": {"Out of range"}, "starts_at": {tc.value}, "visibility": {"public"}})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("page create with %s in %s: %d, want 422 with the message", tc.value, tc.loc, rec.Code)
		}
		var n int64
		app.db.Model(&models.Event{}).Count(&n)
		if n != 0 {
			t.Errorf("page create stored %d events", n)
		}
	}
}

// TestCSRFPlantedCookie is the same-site attack without a browser: a page
// on another port of this host (or a sibling subdomain) can set the _csrf
// cookie, and sends the same value in the form. The token of a signed-in
// session is bound to its session id, so the pair is refused, on every
// kind of page POST.
func TestCSRFPlantedCookie(t *testing.T) {
	app := newTestApp(t)
	victim := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	target := app.createUser("bob@example.com", goodPassword, models.RoleUser)
	admin := app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	const planted = "plantedByAnotherPort_123"
	plant := func(c *client) { c.jar[csrfCookie] = &http.Cookie{Name: csrfCookie, Value: planted} }

	c := app.client()
	c.login("ada@example.com", goodPassword)
	plant(c)
	for _, path := range []string{"/account", "/account/password", "/account/signout-all", "/events", "/logout"} {
		rec := c.postRaw(path, url.Values{"_csrf": {planted}, "name": {"Pwned"}, "title": {"Pwned"}})
		if rec.Code != http.StatusForbidden || testid(t, rec, "error-page") == "" {
			t.Errorf("POST %s with a planted cookie and token: %d, want the 403 page", path, rec.Code)
		}
	}
	if u, _ := models.NewUsers(app.db).ByID(context.Background(), victim.ID); u.Name == "Pwned" {
		t.Error("the victim's name changed")
	}
	if rec := c.get("/account"); rec.Code != http.StatusOK {
		t.Error("the refused sign-out ended the session")
	}

	// An admin's promote, likewise.
	a := app.client()
	a.login("root@example.com", goodPassword)
	plant(a)
	rec := a.postRaw("/admin/users/"+strconv.FormatUint(uint64(target.ID), 10)+"/promote", url.Values{"_csrf": {planted}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("admin promote with a planted token: %d", rec.Code)
	}
	if u, _ := models.NewUsers(app.db).ByID(context.Background(), target.ID); u.IsAdmin() {
		t.Error("promoted through a planted token")
	}
	_ = admin

	// The token a page gives is accepted, and is the same with or without
	// the (plantable) cookie: it depends on the session only.
	tok := c.csrfToken()
	plant(c)
	if rec := c.postRaw("/account", url.Values{"_csrf": {tok}, "name": {"Ada L"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("the page's own token with a planted cookie: %d, want 303", rec.Code)
	}
	delete(c.jar, csrfCookie)
	if rec := c.postRaw("/account", url.Values{"_csrf": {tok}, "name": {"Ada M"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("the page's own token without the cookie: %d, want 303", rec.Code)
	}
}

// TestCSRFSecFetchSite: same-site and cross-site are refused even with a
// good token; same-origin and none pass without one.
func TestCSRFSecFetchSite(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login("ada@example.com", goodPassword)
	for _, site := range []string{"same-site", "cross-site"} {
		tok := c.csrfToken()
		c.headers.Set("Sec-Fetch-Site", site)
		rec := c.postRaw("/account", url.Values{"_csrf": {tok}, "name": {"Mallory"}})
		c.headers.Del("Sec-Fetch-Site")
		if rec.Code != http.StatusForbidden || testid(t, rec, "error-page") == "" {
			t.Errorf("Sec-Fetch-Site %s with a good token: %d, want the 403 page", site, rec.Code)
		}
	}
	if got, _ := models.NewUsers(app.db).ByID(context.Background(), u.ID); got.Name == "Mallory" {
		t.Fatal("name changed by a same-site or cross-site request")
	}
	for i, site := range []string{"same-origin", "none"} {
		c.headers.Set("Sec-Fetch-Site", site)
		rec := c.postRaw("/account", url.Values{"name": {"Ada " + strconv.Itoa(i)}})
		c.headers.Del("Sec-Fetch-Site")
		if rec.Code != http.StatusSeeOther {
			t.Errorf("Sec-Fetch-Site %s without a token: %d, want 303", site, rec.Code)
		}
	}
}

// TestCSRFTokenNotFromQuery: the token in the query string, with an empty
// body, is no token.
func TestCSRFTokenNotFromQuery(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login("ada@example.com", goodPassword)
	tok := c.csrfToken()
	rec := c.postRaw("/account?_csrf="+url.QueryEscape(tok)+"&name=Mallory", url.Values{})
	if rec.Code != http.StatusForbidden {
		t.Errorf("token in the query: %d, want 403", rec.Code)
	}
}

// TestCSRFFormOpenedDaysIntoASession: a session lives up to 7 days; a form
// opened on day 2, after the CSRF cookie of old would have expired, still
// submits.
func TestCSRFFormOpenedDaysIntoASession(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	app := newTestApp(t, func(c *Config) { c.Clock = clock; c.SessionTTL = 48 * time.Hour })
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login("ada@example.com", goodPassword)
	if ck := c.jar[csrfCookie]; ck == nil || ck.MaxAge < int(MaxSessionAge/time.Second) {
		t.Errorf("CSRF cookie %+v: want it to live as long as a session may", ck)
	}
	for range 2 {
		advance(20 * time.Hour)
		c.get("/account") // the session renews
	}
	delete(c.jar, csrfCookie) // as if it had expired
	tok := c.csrfToken()
	if rec := c.postRaw("/account", url.Values{"_csrf": {tok}, "name": {"Day Two"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("a form opened 40 hours into the session: %d, want 303", rec.Code)
	}
}

// TestBrowserSameSiteCSRF is the attack as it was found, in Chromium over
// plain HTTP: the victim is signed in to Planner on 127.0.0.1; a page on
// another port of the same host plants a _csrf cookie (cookies ignore
// ports) and auto-submits a form to /account with the same value. The
// browser calls that request same-site: it gets the 403 page, and the name
// stays.
func TestBrowserSameSiteCSRF(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	base := app.serve(t) // http://127.0.0.1:<port>
	const planted = "plantedByAnotherPort_123"
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: planted, Path: "/"})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form id="f" method="post" action="%s/account">
<input type="hidden" name="_csrf" value="%s"><input type="hidden" name="name" value="Pwned">
</form><script>document.getElementById('f').submit()</script>`, base, planted)
	}))
	t.Cleanup(attacker.Close)
	if !strings.HasPrefix(attacker.URL, "http://127.0.0.1:") || attacker.URL == base {
		t.Fatalf("attacker %s, Planner %s: want two ports of one loopback host", attacker.URL, base)
	}

	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), goodPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-link"]`)),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(attacker.URL+"/")); err != nil {
		t.Fatalf("open the attacker's page: %v", err)
	}
	// Wait for the auto-submitted form's answer: the 403 page, or (had the
	// attack worked) the account page it redirects to.
	landed, err := chromedp.Run(ctx, chromedp.Poll[string](`location.origin === `+strconv.Quote(base)+` &&
		(document.querySelector('[data-testid="error-page"]') ? "403 page" :
		 document.querySelector('[data-testid="account-email"]') ? "account page" : null)`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || landed != "403 page" {
		t.Fatalf("the same-site form landed on the %s (%v), want the 403 page", landed, err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != base+"/account" {
		t.Fatalf("after the attack at %q (%v)", loc, err)
	}
	if got, _ := models.NewUsers(app.db).ByID(context.Background(), u.ID); got.Name == "Pwned" {
		t.Fatal("the same-site form changed the victim's name")
	}
	// The victim is still signed in and their own forms work.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-email"]`)),
	); err != nil {
		t.Fatalf("the account page after the attack: %v", err)
	}
}

// TestCredentialsFromTheBodyOnly: a password (or CSRF token) in the query
// string is no credential, on the API's token endpoint and on the pages'
// forms; in the body it works.
func TestCredentialsFromTheBodyOnly(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	q := "?username=ada%40example.com&email=ada%40example.com&password=" + url.QueryEscape(goodPassword)

	c := app.client()
	rec := c.api("POST", "/api/user/signin"+q, "", url.Values{})
	want422(t, rec, "body", "username")
	if strings.Contains(rec.Body.String(), "access_token") {
		t.Fatal("signed in from the query string")
	}
	rec = c.api("POST", "/api/user/signin?password="+url.QueryEscape(goodPassword), "", url.Values{"username": {"ada@example.com"}})
	want422(t, rec, "body", "password")

	anon := app.client()
	rec = anon.post("/login"+q, url.Values{})
	if rec.Code == http.StatusSeeOther || anon.session() != "" {
		t.Fatalf("page sign-in from the query string: %d, session %q", rec.Code, anon.session())
	}
	rec = anon.post("/signup?email=eve%40example.com&password="+url.QueryEscape(goodPassword), url.Values{})
	if rec.Code == http.StatusSeeOther || anon.session() != "" {
		t.Fatalf("page sign-up from the query string: %d", rec.Code)
	}
	if _, err := models.NewUsers(app.db).ByEmail(context.Background(), "eve@example.com"); err == nil {
		t.Fatal("an account was made from the query string")
	}

	// The same credentials in the body sign in.
	if tok := app.client().token("ada@example.com", goodPassword); tok == "" {
		t.Fatal("no token from the body")
	}
	anon.login("ada@example.com", goodPassword)
}

// TestPasswordChangeIsRateLimitedAndMustDiffer is the sign-in denial found
// in the attack: accounts looping POST /account/password with current =
// new kept the bcrypt pool full. Such a change is refused before bcrypt
// runs, and every password change counts toward the per-IP limit shared
// with sign-in and sign-up.
func TestPasswordChangeIsRateLimitedAndMustDiffer(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.IPRate = 4; c.Clock = frozenClock() })
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login("ada@example.com", goodPassword) // 1 of 4

	rec := c.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {goodPassword}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "must differ from the current one") {
		t.Fatalf("new = current: %d, want 422 with the message", rec.Code)
	}
	var changed int64
	app.db.Model(&models.AuditEntry{}).Where("action = ?", models.ActionPasswordChanged).Count(&changed)
	if changed != 0 {
		t.Fatal("a change to the same password was recorded")
	}
	for i := range 2 { // 3 and 4 of 4
		rec := c.post("/account/password", url.Values{"current_password": {"wrong-" + strconv.Itoa(i)}, "new_password": {"another-good-passphrase"}})
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	rec = c.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"another-good-passphrase"}})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("fifth bcrypt request of the minute: %d, want 429 with Retry-After", rec.Code)
	}
	// The same budget covers sign-in from that address (every test client
	// comes from 192.0.2.10).
	if rec := app.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("sign-in after the address's budget: %d, want 429", rec.Code)
	}
}

// TestHeadAndMethodNotAllowed walks every route routes.go registers: HEAD
// answers like GET (without a body, through a real server), and every
// method a path has no route for is 405 with an Allow header listing the
// ones it has.
func TestHeadAndMethodNotAllowed(t *testing.T) {
	app := newTestApp(t)
	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	ev := app.createEvent(ada.ID, "Launch", "public")
	concrete := func(p string) string {
		p = strings.ReplaceAll(p, ":id", strconv.FormatUint(uint64(ev.ID), 10))
		return strings.ReplaceAll(p, "*", "widget.js")
	}
	methods := map[string]map[string]bool{} // concrete path -> methods
	for _, r := range app.e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		p := concrete(r.Path)
		if methods[p] == nil {
			methods[p] = map[string]bool{}
		}
		methods[p][r.Method] = true
	}
	srv := httptest.NewServer(app.e)
	t.Cleanup(srv.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, has := range methods {
		if has[http.MethodGet] {
			get, err := noRedirect.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			get.Body.Close()
			head, err := noRedirect.Head(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(head.Body)
			head.Body.Close()
			sameType := head.Header.Get("Content-Type") == get.Header.Get("Content-Type") || get.StatusCode >= 400
			if head.StatusCode != get.StatusCode || len(body) != 0 || !sameType {
				t.Errorf("HEAD %s: %d %q with %d body bytes; GET: %d %q", path, head.StatusCode, head.Header.Get("Content-Type"),
					len(body), get.StatusCode, get.Header.Get("Content-Type"))
			}
		}
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			if has[m] || routedElsewhere(app.e, m, path) {
				continue
			}
			rec := httptest.NewRecorder()
			app.e.ServeHTTP(rec, httptest.NewRequest(m, path, nil))
			allow := rec.Header().Get("Allow")
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, path, rec.Code)
				continue
			}
			for want := range has {
				if !strings.Contains(allow, want) {
					t.Errorf("%s %s: Allow %q lacks %s", m, path, allow, want)
				}
			}
			if has[http.MethodGet] && !strings.Contains(allow, http.MethodHead) {
				t.Errorf("%s %s: Allow %q lacks HEAD", m, path, allow)
			}
		}
	}
	// Unknown paths stay 404, whatever the method; CORS preflights still work.
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodHead} {
		rec := httptest.NewRecorder()
		app.e.ServeHTTP(rec, httptest.NewRequest(m, "/no/such/page", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s of an unknown path: %d", m, rec.Code)
		}
	}
	pre := httptest.NewRequest(http.MethodOptions, "/api/event/", nil)
	pre.Header.Set("Origin", "https://widget.example")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	rec := httptest.NewRecorder()
	app.e.ServeHTTP(rec, pre)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
}

// routedElsewhere reports whether another route pattern takes method on
// path (GET /api/event/new is GET /api/event/:id with a bad id).
func routedElsewhere(e *echo.Echo, method, path string) bool {
	c := e.NewContext(httptest.NewRequest(method, path, nil), httptest.NewRecorder())
	e.Router().Find(method, path, c)
	for _, r := range e.Routes() {
		if r.Method == method && r.Path == c.Path() {
			return true
		}
	}
	return false
}

// TestEvery401HasWWWAuthenticate: the token endpoint's refusal, the pages'
// failed sign-in, and the bearer guard's answers all name a scheme.
func TestEvery401HasWWWAuthenticate(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	rec := c.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {"wrong password"}})
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("token endpoint: %d, WWW-Authenticate %q; want 401 and Bearer", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	for _, tok := range []string{"", "not-a-token"} {
		rec := c.api("GET", "/api/user/me", tok, nil)
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("/api/user/me with token %q: %d, WWW-Authenticate %q", tok, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
	rec = c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}})
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("page sign-in: %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestBearerAnswersAreNoStore: every API answer to a caller that sent a
// bearer token, success or error, is Cache-Control: no-store; anonymous
// public reads stay cacheable.
func TestBearerAnswersAreNoStore(t *testing.T) {
	app := newTestApp(t)
	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	ev := app.createEvent(ada.ID, "Launch", "public")
	c := app.client()
	tok := c.token("ada@example.com", goodPassword)
	id := strconv.FormatUint(uint64(ev.ID), 10)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/user/me", nil},
		{"GET", "/api/event/", nil},
		{"GET", "/api/event/" + id, nil},
		{"GET", "/api/event/999999", nil},
		{"POST", "/api/event/new", map[string]any{"title": "New"}},
		{"PUT", "/api/event/" + id, map[string]any{"title": "Renamed"}},
		{"GET", "/api/openapi.json", nil},
		{"POST", "/api/user/signout", nil},
		{"GET", "/api/user/me", nil}, // now 401: the token is dead
	} {
		rec := c.api(r.method, r.path, tok, r.body)
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s (%d) with a bearer token: Cache-Control %q", r.method, r.path, rec.Code, got)
		}
	}
	if got := c.api("GET", "/api/event/"+id, "", nil).Header().Get("Cache-Control"); got == "no-store" {
		t.Errorf("anonymous public read: Cache-Control %q", got)
	}
}

// TestRequestDeadlineCancelsSlowQueries holds a lock that every event list
// waits for (on PostgreSQL, which waits for locks; SQLite readers never
// do): with a short PLANNER_REQUEST_TIMEOUT the list is cancelled and
// answered 503 with Retry-After, on the API and the pages, instead of
// hanging until the lock goes.
func TestRequestDeadlineCancelsSlowQueries(t *testing.T) {
	db := dbtest.Postgres(t)
	app := newTestAppOn(t, db, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	app.createEvent(ada.ID, "Launch", "public")
	c := app.client()
	tok := c.token("ada@example.com", goodPassword)
	c.login("ada@example.com", goodPassword)

	lock := db.Begin()
	if err := lock.Exec("LOCK TABLE events IN ACCESS EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	guard := time.AfterFunc(15*time.Second, func() { lock.Rollback(); close(released) })
	defer func() {
		if guard.Stop() {
			lock.Rollback()
		}
	}()

	rec := c.api("GET", "/api/event/?q=launch", tok, nil)
	select {
	case <-released:
		t.Fatal("the list waited for the lock: the deadline did not cancel it")
	default:
	}
	wantDetail(t, rec, http.StatusServiceUnavailable, msgBusy)
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	page := c.get("/events")
	if page.Code != http.StatusServiceUnavailable || testid(t, page, "error-page") == "" || page.Header().Get("Retry-After") == "" {
		t.Errorf("/events under the lock: %d, want the 503 page with Retry-After", page.Code)
	}
	// Once the lock is gone the same requests answer.
	if guard.Stop() {
		lock.Rollback()
	}
	if rec := c.api("GET", "/api/event/?q=launch", tok, nil); rec.Code != http.StatusOK {
		t.Errorf("after the lock: %d", rec.Code)
	}
}

// TestPerIPLimitSharedByInstances: two instances on one database count one
// client's bcrypt attempts together, so N instances never allow N times
// PLANNER_IP_RATE.
func TestPerIPLimitSharedByInstances(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": dbtest.SQLiteURL, "postgres": dbtest.PostgresURL} {
		t.Run(name, func(t *testing.T) {
			url0 := dsn(t)
			clock := frozenClock()
			instance := func() *testApp {
				db, err := models.Open(url0, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = models.Close(db) })
				if err := models.Migrate(context.Background(), db); err != nil {
					t.Fatal(err)
				}
				return newTestAppOn(t, db, func(c *Config) { c.IPRate = 4; c.Clock = clock })
			}
			a, b := instance(), instance()
			a.createUser("ada@example.com", goodPassword, models.RoleUser)
			codes := []int{}
			for i := range 6 {
				app := a
				if i%2 == 1 {
					app = b
				}
				rec := app.client().api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {"wrong " + strconv.Itoa(i)}})
				codes = append(codes, rec.Code)
			}
			want := []int{401, 401, 401, 401, 429, 429}
			if fmt.Sprint(codes) != fmt.Sprint(want) {
				t.Fatalf("attempts alternating between two instances: %v, want %v", codes, want)
			}
			// Another address has its own budget.
			other := b.client()
			other.addr = "198.51.100.9:5000"
			if rec := other.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusOK {
				t.Fatalf("another address: %d", rec.Code)
			}
		})
	}
}

// TestHashSlotsFollowCores: by default one bcrypt hash runs per core but
// one (at least one), so a sign-in flood leaves a core for everything
// else; PLANNER_HASH_SLOTS overrides it.
func TestHashSlotsFollowCores(t *testing.T) {
	for _, tc := range []struct{ configured, cpus, want int }{
		{0, 1, 1}, {0, 2, 1}, {0, 4, 3}, {0, 16, 15}, {6, 2, 6}, {1, 64, 1},
	} {
		if got := HashSlots(tc.configured, tc.cpus); got != tc.want {
			t.Errorf("HashSlots(%d, %d cores) = %d, want %d", tc.configured, tc.cpus, got, tc.want)
		}
	}
}

// TestForbiddenPagesSayWhy: a refused CSRF check tells the user to reload
// the form; a refusal of who they are does not pretend reloading helps.
func TestForbiddenPagesSayWhy(t *testing.T) {
	app := newTestApp(t)
	owner := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	ev := app.createEvent(owner.ID, "Launch", "public")
	app.createUser("bob@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login("bob@example.com", goodPassword)
	notOwner := c.get("/events/" + strconv.FormatUint(uint64(ev.ID), 10) + "/edit")
	if notOwner.Code != http.StatusForbidden || strings.Contains(notOwner.Body.String(), "reload") {
		t.Errorf("another user's edit page: %d, says reload: %v", notOwner.Code, strings.Contains(notOwner.Body.String(), "reload"))
	}
	stale := c.postRaw("/account", url.Values{"_csrf": {"stale"}, "name": {"X"}})
	if stale.Code != http.StatusForbidden || !strings.Contains(stale.Body.String(), "reload the page") {
		t.Errorf("a stale form: %d, want the 403 page telling to reload", stale.Code)
	}
}

// TestThrottledSignInSaysWhen: the spec's message stays word for word, and
// a hint beside it says how long the wait is (the Retry-After in words).
func TestThrottledSignInSaysWhen(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.LoginLimit = 2; c.Clock = frozenClock() })
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	for range 2 {
		c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password"}})
	}
	rec := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
	if rec.Code != http.StatusTooManyRequests || testid(t, rec, "form-error") != msgTooMany {
		t.Fatalf("throttled: %d %q", rec.Code, testid(t, rec, "form-error"))
	}
	if hint := testid(t, rec, "form-hint"); hint != "You can try again in about 15 minutes." {
		t.Errorf("hint %q", hint)
	}
	for secs, want := range map[string]string{"1": "You can try again in a second.", "30": "You can try again in 30 seconds.",
		"61": "You can try again in 61 seconds.", "900": "You can try again in about 15 minutes.", "": "", "x": ""} {
		if got := retryHint(secs); got != want {
			t.Errorf("retryHint(%q) = %q, want %q", secs, got, want)
		}
	}
}
