package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
)

func TestPageSecurityHeaders(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	anon := app.client()
	signed := app.client()
	signed.login("ada@example.com", goodPassword)
	for _, tc := range []struct {
		name string
		c    *client
		path string
	}{{"home anonymous", anon, "/"}, {"login", anon, "/login"}, {"404", anon, "/no/such/page"}, {"account", signed, "/account"}, {"home signed in", signed, "/"}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.c.get(tc.path)
			want := map[string]string{
				"Content-Security-Policy": "default-src 'self'; img-src 'self' https:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "same-origin",
				"X-Frame-Options":         "DENY",
			}
			if tc.c == signed {
				want["Cache-Control"] = "no-store"
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if rec.Header().Get("Strict-Transport-Security") != "" {
				t.Error("HSTS on an http base URL")
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Error("CORS header on a page")
			}
			// Scripts only as files of ours (the passkey script on the
			// sign-in page): never inline, never from elsewhere.
			doc(t, rec).Find("script").Each(func(_ int, s *goquery.Selection) {
				if src, _ := s.Attr("src"); !strings.HasPrefix(src, "/static/") || strings.TrimSpace(s.Text()) != "" {
					t.Errorf("inline or foreign script in a page: src %q", src)
				}
			})
			if strings.Contains(rec.Body.String(), "style=") || strings.Contains(rec.Body.String(), "<style") {
				t.Error("inline style in a page")
			}
		})
	}
}

func TestErrorShapes(t *testing.T) {
	app := newTestApp(t)
	app.e.GET("/boom", func(echo.Context) error { panic("kaboom") })
	app.e.GET("/api/boom", func(echo.Context) error { panic("kaboom") })
	c := app.client()

	rec := c.get("/api/no-such-thing")
	var body map[string]any
	if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["detail"] == nil {
		t.Fatalf("API 404: %d %s", rec.Code, rec.Body.String())
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("API error content type %q", rec.Header().Get("Content-Type"))
	}

	rec = c.get("/no-such-page")
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		testid(t, rec, "error-page") == "" {
		t.Fatalf("page 404: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}

	rec = c.get("/boom")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "kaboom") || testid(t, rec, "error-page") == "" {
		t.Fatalf("panic page: %d %s", rec.Code, rec.Body.String())
	}
	rec = c.get("/api/boom")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "kaboom") ||
		!strings.Contains(rec.Body.String(), `"detail"`) {
		t.Fatalf("API panic: %d %s", rec.Code, rec.Body.String())
	}
	rec = c.do(httptest.NewRequest(http.MethodDelete, "/login", nil))
	if rec.Code != http.StatusMethodNotAllowed && rec.Code != http.StatusForbidden {
		t.Fatalf("DELETE /login: %d", rec.Code)
	}
}

func TestBodyLimit(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	big := strings.NewReader("email=" + strings.Repeat("a", 2<<20))
	req := httptest.NewRequest(http.MethodPost, "/login", big)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rec := c.do(req); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB form: %d", rec.Code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	if rec := c.get("/healthz"); rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Fatalf("healthz: %d %q", rec.Code, rec.Body.String())
	}
	if rec := c.get("/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("readyz: %d", rec.Code)
	}
	if err := models.Close(app.db); err != nil {
		t.Fatal(err)
	}
	if rec := c.get("/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", rec.Code)
	}
	if rec := c.get("/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz with the database closed: %d", rec.Code)
	}
}

func TestRequestIDIsBounded(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	c.headers.Set("X-Request-ID", "abc-123")
	if got := c.get("/healthz").Header().Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("plain request id not kept: %q", got)
	}
	for _, bad := range []string{strings.Repeat("a", 65), "evil\" injected=1", "a b"} {
		c.headers.Set("X-Request-ID", bad)
		got := c.get("/healthz").Header().Get("X-Request-ID")
		if got == bad || got == "" || !plainID(got) {
			t.Fatalf("request id %q → %q", bad, got)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	home := c.get("/")
	href, _ := doc(t, home).Find(`link[rel="stylesheet"]`).Attr("href")
	if !strings.HasPrefix(href, "/static/style.css?v=") {
		t.Fatalf("stylesheet href %q", href)
	}
	rec := c.get(href)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("versioned asset Cache-Control %q", cc)
	}
	if cc := c.get("/static/style.css").Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("unversioned asset Cache-Control %q", cc)
	}
	if _, ok := c.get("/static/style.css").Result().Header["Set-Cookie"]; ok {
		t.Fatal("assets set cookies")
	}
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, "/static/style.css", nil)
	req.Header.Set("If-None-Match", etag)
	if rec := c.do(req); etag == "" || rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation with ETag %q: %d", etag, rec.Code)
	}
	if rec := c.get("/static/nope.css"); rec.Code != http.StatusNotFound {
		t.Fatalf("missing asset: %d", rec.Code)
	}
}

// TestDatabaseDownDoesNotSignOut: when the session cannot be checked, the
// answer is a 500, and the cookie is kept rather than treated as invalid.
func TestDatabaseDownDoesNotSignOut(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login("ada@example.com", goodPassword)
	tok := c.token("ada@example.com", goodPassword)
	if err := models.Close(app.db); err != nil {
		t.Fatal(err)
	}
	rec := c.get("/account")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("page with the database down: %d", rec.Code)
	}
	if ck := setCookie(rec, SessionCookie); ck != nil {
		t.Fatalf("session cookie touched: %+v", ck)
	}
	if rec := c.api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusInternalServerError {
		t.Fatalf("API with the database down: %d", rec.Code)
	}
}
