package handlers

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// testKey is the signing key of test apps.
var testKey = []byte("test-signing-key-0123456789abcdef-ABCDEF")

// testApp is the real app on a fresh database.
type testApp struct {
	t   testing.TB
	e   *echo.Echo
	db  *gorm.DB
	cfg Config
}

// testConfig is the configuration tests start from.
func testConfig() Config {
	base, _ := url.Parse("http://planner.test")
	return Config{
		Env:         "development",
		BaseURL:     base,
		SecretKeys:  [][]byte{testKey},
		CORSOrigins: []string{"*"},
		TokenTTL:    time.Hour,
		SessionTTL:  12 * time.Hour,
		BcryptCost:  4,
		LoginLimit:  5,
		IPRate:      0,
		Timezone:    time.UTC,
		HashSlots:   2,
		HashQueue:   64,
	}
}

// newTestApp builds the app on a fresh SQLite database; edit may change the
// configuration first.
func newTestApp(t testing.TB, edit ...func(*Config)) *testApp {
	t.Helper()
	return newTestAppOn(t, dbtest.SQLite(t), edit...)
}

func newTestAppOn(t testing.TB, db *gorm.DB, edit ...func(*Config)) *testApp {
	t.Helper()
	cfg := testConfig()
	for _, f := range edit {
		f(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := New(cfg, log, db)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testApp{t: t, e: e, db: db, cfg: cfg}
}

// createUser adds an account directly through the store.
func (a *testApp) createUser(email, password string, role string) *models.User {
	a.t.Helper()
	h, err := models.NewHasher(4, 1, 0)
	if err != nil {
		a.t.Fatal(err)
	}
	hash, err := h.Hash(context.Background(), password)
	if err != nil {
		a.t.Fatal(err)
	}
	u, err := models.NewUsers(a.db).Create(context.Background(), email, "", hash, role)
	if err != nil {
		a.t.Fatalf("create user: %v", err)
	}
	return u
}

// countEvents is how many events there are.
func countEvents(t testing.TB, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.Event{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// client is a browser stand-in: a cookie jar, a fixed client address, and no
// redirect following, talking to the app in-process.
type client struct {
	app     *testApp
	jar     map[string]*http.Cookie
	addr    string
	headers http.Header
}

func (a *testApp) client() *client {
	return &client{app: a, jar: map[string]*http.Cookie{}, addr: "192.0.2.10:40000", headers: http.Header{}}
}

func (c *client) do(req *http.Request) *httptest.ResponseRecorder {
	c.app.t.Helper()
	req.RemoteAddr = c.addr
	for k, v := range c.headers {
		req.Header[k] = v
	}
	for _, ck := range c.jar {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.app.e.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.jar, ck.Name)
		} else {
			c.jar[ck.Name] = ck
		}
	}
	return rec
}

func (c *client) get(path string) *httptest.ResponseRecorder {
	c.app.t.Helper()
	return c.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post submits a form, adding the CSRF token a page would give this
// client now (it is bound to the session, or to the pre-session cookie)
// unless the form has its own _csrf (tests of CSRF refusal set it, or use
// postRaw).
func (c *client) post(path string, form url.Values) *httptest.ResponseRecorder {
	c.app.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrfToken())
	}
	return c.postRaw(path, form)
}

// csrfToken reads the CSRF token from a page, as a browser's form has it:
// the layout's sign-out form when signed in, else the sign-in form.
func (c *client) csrfToken() string {
	c.app.t.Helper()
	for _, path := range []string{"/", "/login"} {
		rec := c.get(path)
		if rec.Code != http.StatusOK {
			continue
		}
		if tok, ok := doc(c.app.t, rec).Find(`input[name="_csrf"]`).First().Attr("value"); ok && tok != "" {
			return tok
		}
	}
	c.app.t.Fatal("no page gave a CSRF token")
	return ""
}

func (c *client) postRaw(path string, form url.Values) *httptest.ResponseRecorder {
	c.app.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login signs in through the page and fails the test unless it worked.
func (c *client) login(email, password string) {
	c.app.t.Helper()
	rec := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if rec.Code != http.StatusSeeOther {
		c.app.t.Fatalf("login %s: status %d, body %s", email, rec.Code, rec.Body.String())
	}
}

// session returns the current session cookie value.
func (c *client) session() string {
	if ck := c.jar[SessionCookie]; ck != nil {
		return ck.Value
	}
	return ""
}

// doc parses an HTML response.
func doc(t testing.TB, rec *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return d
}

// testid returns the trimmed text of the element with data-testid id.
func testid(t testing.TB, rec *httptest.ResponseRecorder, id string) string {
	t.Helper()
	return strings.TrimSpace(doc(t, rec).Find(`[data-testid="` + id + `"]`).Text())
}

// setCookie returns the response's Set-Cookie for name, or nil.
func setCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	var found *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == name {
			found = ck
		}
	}
	return found
}

// parallel runs f n times at once and waits.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); f(i) }(i)
	}
	wg.Wait()
}

func netParseCIDR(s string) (net.IP, *net.IPNet, error) { return net.ParseCIDR(s) }

// goqueryS shortens goquery's selection type in callbacks.
type goqueryS = goquery.Selection

// frozenClock is a clock stopped at the time it is made, for tests that
// count within one rate-limit window (which a real clock could cross).
func frozenClock() models.Clock {
	now := time.Now()
	return func() time.Time { return now }
}
