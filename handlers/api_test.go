package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/planner/planner/models"
)

// apiCall sends a request to the API with an optional bearer token and body
// (a string is sent as is, anything else as JSON).
func (c *client) api(method, path, token string, body any) *httptest.ResponseRecorder {
	c.app.t.Helper()
	var payload string
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		payload = b
	case url.Values:
		payload, ctype = b.Encode(), "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(b)
		payload = string(raw)
	}
	req := httptest.NewRequest(method, "http://planner.test"+path, strings.NewReader(payload))
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.do(req)
}

// token signs in through the API and returns the access token.
func (c *client) token(email, password string) string {
	c.app.t.Helper()
	rec := c.api("POST", "/api/user/signin", "", url.Values{"username": {email}, "password": {password}})
	if rec.Code != http.StatusOK {
		c.app.t.Fatalf("signin %s: %d %s", email, rec.Code, rec.Body.String())
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return body.AccessToken
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	return v
}

func wantDetail(t *testing.T, rec *httptest.ResponseRecorder, status int, detail string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d (%s)", rec.Code, status, rec.Body.String())
	}
	if got := decode[map[string]any](t, rec)["detail"]; got != detail {
		t.Fatalf("detail %v, want %q", got, detail)
	}
}

// want422 checks a FastAPI-style validation body naming loc.
func want422(t *testing.T, rec *httptest.ResponseRecorder, loc ...string) {
	t.Helper()
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422 (%s)", rec.Code, rec.Body.String())
	}
	body := decode[struct {
		Detail []fieldError `json:"detail"`
	}](t, rec)
	for _, item := range body.Detail {
		if strings.Join(item.Loc, ".") == strings.Join(loc, ".") && item.Msg != "" && item.Type != "" {
			return
		}
	}
	t.Fatalf("no 422 item at %v in %s", loc, rec.Body.String())
}

func TestAPISignup(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	rec := c.api("POST", "/api/user/signup", "", map[string]any{"email": "Ada@Example.com", "password": goodPassword, "name": "Ada", "role": "admin"})
	if rec.Code != 200 || decode[map[string]string](t, rec)["message"] != "User created successfully" {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body.String())
	}
	u, _ := models.NewUsers(app.db).ByEmail(context.Background(), "ada@example.com")
	if u == nil || u.Role != models.RoleUser || u.Name != "Ada" {
		t.Fatalf("stored %+v (role must not be mass-assigned)", u)
	}
	wantDetail(t, c.api("POST", "/api/user/signup", "", map[string]any{"email": "ADA@example.com", "password": goodPassword}),
		409, "User with email provided exists already.")
	want422(t, c.api("POST", "/api/user/signup", "", map[string]any{"password": goodPassword}), "body", "email")
	want422(t, c.api("POST", "/api/user/signup", "", map[string]any{"email": "x@example.com"}), "body", "password")
	want422(t, c.api("POST", "/api/user/signup", "", map[string]any{"email": "nope", "password": goodPassword}), "body", "email")
	want422(t, c.api("POST", "/api/user/signup", "", map[string]any{"email": "x@example.com", "password": "password"}), "body", "password")
	want422(t, c.api("POST", "/api/user/signup", "", map[string]any{"email": 42, "password": goodPassword}), "body", "email")
	want422(t, c.api("POST", "/api/user/signup", "", `[1,2]`), "body")
	if rec := c.api("POST", "/api/user/signup", "", `{"email": "x@example.com",`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "Malformed JSON") {
		t.Fatalf("malformed JSON: %d %s", rec.Code, rec.Body.String())
	}
	if rec := c.api("POST", "/api/user/signup", "", `{"email":"`+strings.Repeat("a", 2<<20)+`"}`); rec.Code != 413 {
		t.Fatalf("2 MiB body: %d", rec.Code)
	}
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if rec := c.api("POST", "/api/user/signup", "", deep); rec.Code != 400 && rec.Code != 422 {
		t.Fatalf("deeply nested JSON: %d", rec.Code)
	}
}

func TestAPISignin(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	form := url.Values{"username": {"ada@example.com"}, "password": {goodPassword}, "grant_type": {"password"},
		"scope": {"whatever"}, "client_id": {"x"}, "client_secret": {"y"}}
	rec := c.api("POST", "/api/user/signin", "", form)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("signin: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	body := decode[map[string]any](t, rec)
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
		t.Fatalf("token body %v", body)
	}
	claims := &Claims{}
	if _, err := jwt.ParseWithClaims(body["access_token"].(string), claims, func(*jwt.Token) (any, error) { return testKey, nil }); err != nil {
		t.Fatal(err)
	}
	if claims.Audience[0] != AudienceAPI || claims.Subject != strconv.Itoa(int(u.ID)) || claims.SID == "" || claims.ID == "" {
		t.Fatalf("claims %+v", claims)
	}

	bad := c.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {"wrong-password"}})
	unknown := c.api("POST", "/api/user/signin", "", url.Values{"username": {"nobody@example.com"}, "password": {"wrong-password"}})
	for _, r := range []*httptest.ResponseRecorder{bad, unknown} {
		got := decode[map[string]any](t, r)
		if r.Code != 401 || got["detail"] != msgBadCredentials || got["error"] != "invalid_grant" {
			t.Fatalf("failed sign-in: %d %v", r.Code, got)
		}
	}
	if bad.Body.String() != unknown.Body.String() {
		t.Fatal("unknown email answered differently")
	}
	rec = c.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}, "grant_type": {"client_credentials"}})
	if got := decode[map[string]any](t, rec); rec.Code != 400 || got["error"] != "unsupported_grant_type" || got["detail"] == "" {
		t.Fatalf("other grant: %d %v", rec.Code, got)
	}
	want422(t, c.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}}), "body", "password")
	want422(t, c.api("POST", "/api/user/signin", "", `{"username":"ada@example.com","password":"x"}`), "body", "username")
}

func TestAPISigninSharesThrottleWithPages(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	for i := 0; i < 3; i++ {
		c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password"}})
	}
	for i := 0; i < 2; i++ {
		if rec := c.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {"wrong-password"}}); rec.Code != 401 {
			t.Fatalf("failure %d: %d", 4+i, rec.Code)
		}
	}
	rec := c.api("POST", "/api/user/signin", "", url.Values{"username": {"ada@example.com"}, "password": {goodPassword}})
	wantDetail(t, rec, 429, msgTooMany)
	if rec.Header().Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestAPIBearerAuth(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	tok := c.token("ada@example.com", goodPassword)
	if rec := c.api("GET", "/api/user/me", tok, nil); rec.Code != 200 {
		t.Fatalf("me: %d", rec.Code)
	} else if me := decode[map[string]any](t, rec); me["email"] != "ada@example.com" || me["role"] != "user" || me["id"] != float64(u.ID) {
		t.Fatalf("me = %v", me)
	}

	rec := c.api("GET", "/api/user/me", "", nil)
	wantDetail(t, rec, 401, msgNotAuthenticated)
	if rec.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
	}

	// A browser session does not authenticate API calls, whether sent as a
	// cookie or as a bearer token.
	web := app.client()
	web.login("ada@example.com", goodPassword)
	wantDetail(t, web.api("GET", "/api/user/me", "", nil), 401, msgNotAuthenticated)
	kid := KeyID(testKey)
	expired := validClaims(strconv.Itoa(int(u.ID)), 1, AudienceAPI)
	expired["exp"] = time.Now().Add(-time.Minute).Unix()
	for name, bad := range map[string]string{
		"web session":  web.session(),
		"tampered":     tok[:len(tok)-3] + "AAA",
		"expired":      forge(t, jwt.SigningMethodHS256, testKey, kid, expired),
		"alg none":     forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, validClaims("1", 1, AudienceAPI)),
		"HS512":        forge(t, jwt.SigningMethodHS512, testKey, kid, validClaims("1", 1, AudienceAPI)),
		"unknown key":  forge(t, jwt.SigningMethodHS256, []byte("some-other-key-with-enough-bytes-0123"), kid, validClaims("1", 1, AudienceAPI)),
		"garbage":      "abc",
		"wrong issuer": forge(t, jwt.SigningMethodHS256, testKey, kid, jwt.MapClaims{"iss": "x", "sub": "1", "aud": AudienceAPI, "exp": time.Now().Add(time.Hour).Unix(), "sid": "s", "jti": "j", "ver": 1}),
	} {
		rec := c.api("GET", "/api/user/me", bad, nil)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		wantDetail(t, rec, 401, msgInvalidToken)
		// On routes where the token is optional a bad one is still 401.
		if rec := c.api("GET", "/api/event/", bad, nil); rec.Code != 401 {
			t.Errorf("%s on an optional route: %d", name, rec.Code)
		}
	}

	// Sign-out kills the token, and only that one.
	other := c.token("ada@example.com", goodPassword)
	if rec := c.api("POST", "/api/user/signout", tok, nil); rec.Code != 200 || decode[map[string]string](t, rec)["message"] != "Signed out" {
		t.Fatalf("signout: %d %s", rec.Code, rec.Body.String())
	}
	wantDetail(t, c.api("GET", "/api/user/me", tok, nil), 401, msgInvalidToken)
	if rec := c.api("GET", "/api/user/me", other, nil); rec.Code != 200 {
		t.Fatalf("another token died with the signed-out one: %d", rec.Code)
	}
	// "Sign out everywhere" in the browser ends API tokens too.
	web.post("/account/signout-all", nil)
	wantDetail(t, c.api("GET", "/api/user/me", other, nil), 401, msgInvalidToken)
}

// apiFixture: an owner with a public and a private event, another user and
// an admin, each with a token.
type apiFixture struct {
	app                 *testApp
	c                   *client
	owner, other, admin string
	public, private     *models.Event
	ownerUser           *models.User
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	app := newTestApp(t)
	f := &apiFixture{app: app, c: app.client()}
	f.ownerUser = app.createUser("owner@example.com", goodPassword, models.RoleUser)
	app.createUser("other@example.com", goodPassword, models.RoleUser)
	app.createUser("admin@example.com", goodPassword, models.RoleAdmin)
	f.owner = f.c.token("owner@example.com", goodPassword)
	f.other = f.c.token("other@example.com", goodPassword)
	f.admin = f.c.token("admin@example.com", goodPassword)
	f.public = app.createEvent(f.ownerUser.ID, "Public picnic", "public", "food")
	f.private = app.createEvent(f.ownerUser.ID, "Secret surprise", "private")
	return f
}

func TestAPIEventVisibilityAndCreator(t *testing.T) {
	f := newAPIFixture(t)
	list := func(tok string) []EventJSON {
		rec := f.c.api("GET", "/api/event/", tok, nil)
		if rec.Code != 200 {
			t.Fatalf("list: %d", rec.Code)
		}
		return decode[[]EventJSON](t, rec)
	}
	if got := list(""); len(got) != 1 || got[0].Title != "Public picnic" || got[0].Creator != nil || got[0].CreatorName == "" {
		t.Fatalf("anonymous list %+v", got)
	}
	if got := list(f.other); len(got) != 1 || got[0].Creator != nil {
		t.Fatalf("other user's list %+v", got)
	}
	if got := list(f.owner); len(got) != 2 || got[0].Creator == nil || *got[0].Creator != "owner@example.com" {
		t.Fatalf("owner's list %+v", got)
	}
	if got := list(f.admin); len(got) != 2 || got[1].Creator == nil {
		t.Fatalf("admin's list %+v", got)
	}
	if rec := f.c.api("GET", "/api/event", "", nil); rec.Code != 200 {
		t.Fatalf("without the slash: %d", rec.Code)
	}
	priv := fmt.Sprintf("/api/event/%d", f.private.ID)
	for _, tok := range []string{"", f.other} {
		wantDetail(t, f.c.api("GET", priv, tok, nil), 404, msgEventNotFound)
	}
	for _, p := range []string{"/api/event/abc", "/api/event/new", "/api/event/0", "/api/event/-1", "/api/event/99999999999999999999"} {
		wantDetail(t, f.c.api("GET", p, "", nil), 404, msgEventNotFound)
	}
	rec := f.c.api("GET", priv, f.owner, nil)
	if e := decode[EventJSON](t, rec); rec.Code != 200 || e.Visibility != "private" || e.Tags == nil || e.EndsAt != nil {
		t.Fatalf("owner get: %d %+v", rec.Code, e)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(*decode[EventJSON](t, rec).StartsAt) {
		t.Fatalf("time format: %s", rec.Body.String())
	}
	if !strings.Contains(rec.Body.String(), `"ends_at":null`) || !strings.Contains(rec.Body.String(), `"tags":[]`) {
		t.Fatalf("null and empty shapes: %s", rec.Body.String())
	}
}

func TestAPIEventCreateUpdateDelete(t *testing.T) {
	f := newAPIFixture(t)
	body := map[string]any{"title": " Launch ", "tags": []string{"Go", "go", "WEB"}, "starts_at": "2031-03-01T18:00:00Z",
		"ends_at": "2031-03-01T21:00:00+01:00", "creator": "admin@example.com", "id": 999, "created_at": "2000-01-01T00:00:00Z"}
	wantDetail(t, f.c.api("POST", "/api/event/new", "", body), 401, msgNotAuthenticated)
	rec := f.c.api("POST", "/api/event/new", f.other, body)
	created := decode[map[string]any](t, rec)
	if rec.Code != 200 || created["message"] != "Event created successfully" {
		t.Fatalf("create: %d %v", rec.Code, created)
	}
	id := int(created["id"].(float64))
	if rec.Header().Get("Location") != fmt.Sprintf("/api/event/%d", id) || id == 999 {
		t.Fatalf("Location %q id %d", rec.Header().Get("Location"), id)
	}
	path := fmt.Sprintf("/api/event/%d", id)
	e := decode[EventJSON](t, f.c.api("GET", path, f.other, nil))
	if e.Title != "Launch" || strings.Join(e.Tags, ",") != "go,web" || *e.Creator != "other@example.com" ||
		*e.StartsAt != "2031-03-01T18:00:00Z" || *e.EndsAt != "2031-03-01T20:00:00Z" || e.Visibility != "public" ||
		strings.HasPrefix(e.CreatedAt, "2000") {
		t.Fatalf("created %+v", e)
	}
	want422(t, f.c.api("POST", "/api/event/new", f.other, map[string]any{"description": "no title"}), "body", "title")
	want422(t, f.c.api("POST", "/api/event/new", f.other, map[string]any{"title": "x", "tags": "go"}), "body", "tags")
	want422(t, f.c.api("POST", "/api/event/new", f.other, map[string]any{"title": "x", "starts_at": "tomorrow"}), "body", "starts_at")
	want422(t, f.c.api("POST", "/api/event/new", f.other, map[string]any{"title": "x", "image": "javascript:alert(1)"}), "body", "image")
	want422(t, f.c.api("POST", "/api/event/new", f.other, map[string]any{"title": "x", "tags": strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")}), "body", "tags")

	// PUT: partial, null leaves unchanged, tags replace.
	rec = f.c.api("PUT", path, f.other, map[string]any{"title": nil, "location": "Hall B", "tags": []string{"new"}})
	e = decode[EventJSON](t, rec)
	if rec.Code != 200 || e.Title != "Launch" || e.Location != "Hall B" || strings.Join(e.Tags, ",") != "new" || *e.StartsAt != "2031-03-01T18:00:00Z" {
		t.Fatalf("put: %d %+v", rec.Code, e)
	}
	want422(t, f.c.api("PUT", path, f.other, map[string]any{"title": ""}), "body", "title")
	want422(t, f.c.api("PUT", path, f.other, map[string]any{"ends_at": "2031-03-01T17:00:00Z"}), "body", "ends_at")
	if rec := f.c.api("PUT", path, f.other, `{"title": `); rec.Code != 400 {
		t.Fatalf("malformed PUT: %d", rec.Code)
	}

	// The check order of PUT: 401, 404, 403, 422.
	pub, priv := fmt.Sprintf("/api/event/%d", f.public.ID), fmt.Sprintf("/api/event/%d", f.private.ID)
	invalidBody := map[string]any{"title": ""}
	wantDetail(t, f.c.api("PUT", "/api/event/123456", "", invalidBody), 401, msgNotAuthenticated)
	wantDetail(t, f.c.api("PUT", "/api/event/123456", f.other, invalidBody), 404, msgEventNotFound)
	wantDetail(t, f.c.api("PUT", priv, f.other, invalidBody), 404, msgEventNotFound)
	wantDetail(t, f.c.api("PUT", pub, f.other, invalidBody), 403, msgNotAllowed)
	want422(t, f.c.api("PUT", pub, f.owner, invalidBody), "body", "title")
	// The admin may change anyone's event; the creator stays.
	rec = f.c.api("PUT", priv, f.admin, map[string]any{"title": "Moderated"})
	if e := decode[EventJSON](t, rec); rec.Code != 200 || e.Title != "Moderated" || *e.Creator != "owner@example.com" {
		t.Fatalf("admin put: %d %+v", rec.Code, e)
	}

	// DELETE.
	wantDetail(t, f.c.api("DELETE", pub, "", nil), 401, msgNotAuthenticated)
	wantDetail(t, f.c.api("DELETE", priv, f.other, nil), 404, msgEventNotFound)
	wantDetail(t, f.c.api("DELETE", pub, f.other, nil), 403, msgNotAllowed)
	if rec := f.c.api("DELETE", path, f.other, nil); rec.Code != 200 || decode[map[string]string](t, rec)["message"] != "Event deleted successfully." {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body.String())
	}
	wantDetail(t, f.c.api("GET", path, f.other, nil), 404, msgEventNotFound)
	if rec := f.c.api("DELETE", pub, f.admin, nil); rec.Code != 200 {
		t.Fatalf("admin delete: %d", rec.Code)
	}
	assertAudit(t, f.app, models.ActionEventDeletedAdmin, 1)
	// Nothing the refused calls tried happened.
	if e, err := models.NewEvents(f.app.db).Get(context.Background(), f.private.ID); err != nil || e.Title != "Moderated" {
		t.Fatalf("private event after refused calls: %+v %v", e, err)
	}
}

func TestAPIEventPaginationAndFilters(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	for i := 0; i < 12; i++ {
		app.createEvent(u.ID, fmt.Sprintf("Event %02d", i), "public")
	}
	seen := map[string]int{}
	path := "/api/event/?limit=5"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		rec := c.api("GET", path, "", nil)
		if rec.Code != 200 {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		for _, e := range decode[[]EventJSON](t, rec) {
			seen[e.Title]++
		}
		path = ""
		if link := rec.Header().Get("Link"); link != "" {
			m := regexp.MustCompile(`^<(http://planner\.test)(/api/event/\?[^>]+)>; rel="next"$`).FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("Link header %q is not an absolute URL on the base URL", link)
			}
			path = m[2]
		}
	}
	if len(seen) != 12 {
		t.Fatalf("saw %d events: %v", len(seen), seen)
	}
	for title, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", title, n)
		}
	}
	for _, p := range []string{"?limit=0", "?limit=201", "?limit=x", "?limit=-5", "?cursor=garbage", "?upcoming=maybe",
		"?q=" + strings.Repeat("q", 201), "?tag=" + strings.Repeat("t", 31)} {
		rec := c.api("GET", "/api/event/"+p, "", nil)
		if rec.Code != 422 {
			t.Errorf("%s: %d", p[:min(len(p), 20)], rec.Code)
		}
	}
	want422(t, c.api("GET", "/api/event/?limit=0", "", nil), "query", "limit")
	want422(t, c.api("GET", "/api/event/?cursor=abc", "", nil), "query", "cursor")
	// The Link header follows the base URL, never a forged Host header.
	forged := httptest.NewRequest("GET", "http://evil.example/api/event/?limit=5", nil)
	forged.Host = "evil.example"
	forged.Header.Set("X-Forwarded-Host", "evil.example")
	if link := c.do(forged).Header().Get("Link"); !strings.HasPrefix(link, "<http://planner.test/api/event/?") {
		t.Fatalf("Link with a forged Host: %q", link)
	}
	// A hostile search term is only text.
	if rec := c.api("GET", "/api/event/?q="+url.QueryEscape("' OR 1=1; --"), "", nil); rec.Code != 200 || rec.Body.String() != "[]\n" {
		t.Fatalf("SQL-looking search: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAPIUpcoming(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	tok := c.token("ada@example.com", goodPassword)
	for _, e := range []map[string]any{
		{"title": "later", "starts_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), "tags": []string{"x"}},
		{"title": "past", "starts_at": time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)},
		{"title": "soon", "starts_at": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339), "tags": []string{"x"}},
		{"title": "undated"},
	} {
		if rec := c.api("POST", "/api/event/new", tok, e); rec.Code != 200 {
			t.Fatalf("create: %d", rec.Code)
		}
	}
	_ = u
	var titles []string
	for _, e := range decode[[]EventJSON](t, c.api("GET", "/api/event/?upcoming=1", "", nil)) {
		titles = append(titles, e.Title)
	}
	if strings.Join(titles, ",") != "soon,later" {
		t.Fatalf("upcoming: %v", titles)
	}
	titles = nil
	for _, e := range decode[[]EventJSON](t, c.api("GET", "/api/event/?tag=X&q=LAT", "", nil)) {
		titles = append(titles, e.Title)
	}
	if strings.Join(titles, ",") != "later" {
		t.Fatalf("tag and q: %v", titles)
	}
}

func TestAPICORS(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.CORSOrigins = []string{"https://widgets.example"} })
	c := app.client()
	pre := httptest.NewRequest(http.MethodOptions, "/api/event/new", nil)
	pre.Header.Set("Origin", "https://widgets.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	rec := c.do(pre)
	h := rec.Header()
	if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://widgets.example" ||
		h.Get("Access-Control-Allow-Methods") != "GET,POST,PUT,DELETE,OPTIONS" ||
		h.Get("Access-Control-Allow-Headers") != "Authorization,Content-Type" ||
		h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %d %v", rec.Code, h)
	}
	get := httptest.NewRequest(http.MethodGet, "/api/event/", nil)
	get.Header.Set("Origin", "https://widgets.example")
	h = c.do(get).Header()
	if h.Get("Access-Control-Allow-Origin") != "https://widgets.example" || h.Get("Access-Control-Expose-Headers") != "Link,Location,Retry-After" {
		t.Fatalf("simple request: %v", h)
	}
	evil := httptest.NewRequest(http.MethodGet, "/api/event/", nil)
	evil.Header.Set("Origin", "https://evil.example")
	if got := c.do(evil).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("unlisted origin allowed: %q", got)
	}
	page := httptest.NewRequest(http.MethodGet, "/login", nil)
	page.Header.Set("Origin", "https://widgets.example")
	if got := c.do(page).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("CORS on a page: %q", got)
	}
	// The default allows any origin, without credentials.
	any := newTestApp(t).client()
	get = httptest.NewRequest(http.MethodGet, "/api/event/", nil)
	get.Header.Set("Origin", "https://anyone.example")
	h = any.do(get).Header()
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("default CORS: %v", h)
	}
}
