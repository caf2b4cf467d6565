package handlers

// Fuzz targets. "make test" runs each on its seed corpus (the f.Add calls
// and testdata/fuzz); "make fuzz" explores each for a while. The property of
// every HTTP target: no input panics or earns a 5xx, refusals are 4xx that
// say why, and whatever is accepted is stored valid.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/planner/planner/models"
)

// fuzzWorld is what a fuzz target sends its inputs to, built once per target
// (and once per worker process when fuzzing): the app, a user signed in on
// the pages and the API, and one event of theirs.
type fuzzWorld struct {
	app    *testApp
	tokens *Tokens
	user   *models.User
	token  string
	jar    map[string]*http.Cookie
	event  *models.Event
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	f.Helper()
	app := newTestApp(f)
	w := &fuzzWorld{app: app}
	var err error
	if w.tokens, err = NewTokens([][]byte{testKey}, nil); err != nil {
		f.Fatal(err)
	}
	w.user = app.createUser("fuzz@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login(w.user.Email, goodPassword)
	c.get("/events") // a CSRF cookie for the signed-in session
	w.jar = c.jar
	w.token = c.token(w.user.Email, goodPassword)
	w.event = app.createEvent(w.user.ID, "Fuzzed event", "public", "seed")
	return w
}

// client returns a client reporting to t, with the user's cookies when
// signedIn (a copy: nothing one input does reaches the next).
func (w *fuzzWorld) client(t *testing.T, signedIn bool) *client {
	a := *w.app
	a.t = t
	c := a.client()
	if signedIn {
		for k, v := range w.jar {
			c.jar[k] = v
		}
	}
	return c
}

// wantNo5xx fails on a server error, which no input may cause.
func wantNo5xx(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d (a server error)\n%.500s", what, rec.Code, rec.Body.String())
	}
}

// wantAPIRefusal checks that an API refusal is JSON with a detail.
func wantAPIRefusal(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(rec.Body.String(), `"detail"`) {
		t.Fatalf("%s: %d without a JSON detail: %q %.300s", what, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}

// wantValidEvent checks that an event the app accepted is one it would
// accept again: normalised and valid.
func wantValidEvent(t *testing.T, app *testApp, id uint, creator uint) {
	t.Helper()
	e, err := models.NewEvents(app.db).Get(context.Background(), id)
	if err != nil {
		t.Fatalf("accepted event %d not stored: %v", id, err)
	}
	in := e.Input()
	norm := in
	norm.Normalize()
	if errs := norm.Validate(); len(errs) > 0 {
		t.Fatalf("stored an invalid event %+v: %v", e, errs)
	}
	if norm.Title != in.Title || norm.Description != in.Description || strings.Join(norm.Tags, ",") != e.Tags {
		t.Fatalf("stored an event that is not normalised: %+v", e)
	}
	if e.CreatorID != creator {
		t.Fatalf("event %d creator %d, want %d", id, e.CreatorID, creator)
	}
	// Counts and generations are the store's alone: no body sets them.
	if e.GoingCount != 0 || e.WaitlistCount != 0 || e.ShareGen != 0 {
		t.Fatalf("event %d got counts or a share link from a body: %+v", id, e)
	}
}

// tokenSeeds are tokens of every kind the parser must tell apart.
func tokenSeeds(f *testing.F, w *fuzzWorld) []string {
	f.Helper()
	uid := fmt.Sprint(w.user.ID)
	kid := KeyID(testKey)
	sign := func(m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	now := time.Now()
	web, _ := w.tokens.Issue(AudienceWeb, w.user.ID, w.user.TokenVersion, NewID(), now, now.Add(time.Hour))
	api, _ := w.tokens.Issue(AudienceAPI, w.user.ID, w.user.TokenVersion, NewID(), now, now.Add(time.Hour))
	noExp := validClaims(uid, 1, AudienceAPI)
	delete(noExp, "exp")
	expired := validClaims(uid, 1, AudienceAPI)
	expired["exp"] = now.Add(-time.Hour).Unix()
	noSID := validClaims(uid, 1, AudienceAPI)
	delete(noSID, "sid")
	badSub := validClaims("0", 1, AudienceAPI)
	future := validClaims(uid, 1, AudienceAPI)
	future["nbf"] = now.Add(time.Hour).Unix()
	return []string{
		web, api, w.token,
		api[:len(api)-2] + "xx",
		sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, validClaims(uid, 1, AudienceAPI)),
		sign(jwt.SigningMethodHS512, testKey, kid, validClaims(uid, 1, AudienceAPI)),
		sign(jwt.SigningMethodHS256, testKey, "", validClaims(uid, 1, AudienceAPI)),
		sign(jwt.SigningMethodHS256, testKey, kid, noExp),
		sign(jwt.SigningMethodHS256, testKey, kid, expired),
		sign(jwt.SigningMethodHS256, testKey, kid, noSID),
		sign(jwt.SigningMethodHS256, testKey, kid, badSub),
		sign(jwt.SigningMethodHS256, testKey, kid, future),
		sign(jwt.SigningMethodHS256, []byte("another-key-that-is-long-enough-000"), kid, validClaims(uid, 1, AudienceAPI)),
		"", ".", "..", "a.b.c", "Bearer", "null", "eyJhbGciOiJub25lIn0.e30.",
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"`+kid+`"}`)) + ".e30.AAAA",
		strings.Repeat("A", 5000),
	}
}

// FuzzTokensParse: Tokens.Parse never panics, and whatever it accepts is a
// token Planner itself could have issued: HS256 with a known key, our
// issuer, the audience asked for, an expiry in the future, a session id, a
// token id and a user id.
func FuzzTokensParse(f *testing.F) {
	w := newFuzzWorld(f)
	for _, s := range tokenSeeds(f, w) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, aud := range []string{AudienceWeb, AudienceAPI} {
			c, err := w.tokens.Parse(aud, raw)
			if err != nil {
				continue
			}
			if _, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return testKey, nil },
				jwt.WithValidMethods([]string{"HS256"})); err != nil {
				t.Fatalf("accepted a token that is not HS256 signed by the key: %v", err)
			}
			id, uerr := c.UserID()
			if c.Issuer != issuer || !containsString(c.Audience, aud) || c.ExpiresAt == nil ||
				!c.ExpiresAt.After(time.Now().Add(-time.Minute)) || c.SID == "" || c.ID == "" || uerr != nil || id == 0 {
				t.Fatalf("accepted claims %+v for audience %s", c, aud)
			}
		}
	})
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FuzzAuthPath sends the input as the session cookie of a protected page,
// as a bearer token and as the whole Authorization header of the API: no
// 5xx; a protected page answers 200 only for a valid session and otherwise
// sends to the sign-in page; the API answers 200 only for a valid token and
// otherwise 401 with a JSON detail and WWW-Authenticate.
func FuzzAuthPath(f *testing.F) {
	w := newFuzzWorld(f)
	for _, s := range tokenSeeds(f, w) {
		f.Add(s)
	}
	f.Add("Bearer " + w.token)
	f.Add("bearer " + w.token)
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer  " + w.token)
	f.Add("x; planner_session=" + w.token)
	f.Fuzz(func(t *testing.T, raw string) {
		c := w.client(t, false)

		// The session cookie of a protected page.
		req := httptest.NewRequest(http.MethodGet, "/account", nil)
		req.Header.Set("Cookie", SessionCookie+"="+raw)
		sent := ""
		if ck, err := req.Cookie(SessionCookie); err == nil {
			sent = ck.Value
		}
		rec := c.do(req)
		wantNo5xx(t, "session cookie", rec)
		switch rec.Code {
		case http.StatusOK:
			if _, err := w.tokens.Parse(AudienceWeb, sent); err != nil {
				t.Fatalf("cookie %q opened /account but does not parse: %v", sent, err)
			}
		case http.StatusSeeOther:
			if loc := rec.Header().Get("Location"); loc != "/login?next=%2Faccount" {
				t.Fatalf("bad session sent to %q", loc)
			}
		default:
			t.Fatalf("session cookie: status %d", rec.Code)
		}

		// A bearer token, and the raw header.
		for _, header := range []string{"Bearer " + raw, raw} {
			req := httptest.NewRequest(http.MethodGet, "/api/user/me", nil)
			req.Header.Set("Authorization", header)
			rec := c.do(req)
			wantNo5xx(t, "authorization header", rec)
			switch rec.Code {
			case http.StatusOK:
				tok := header[len("Bearer "):]
				if _, err := w.tokens.Parse(AudienceAPI, tok); err != nil {
					t.Fatalf("header %q opened /api/user/me but does not parse: %v", header, err)
				}
			case http.StatusUnauthorized:
				wantAPIRefusal(t, "authorization header", rec)
				if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without WWW-Authenticate: %v", rec.Header())
				}
			default:
				t.Fatalf("authorization header %q: status %d", header, rec.Code)
			}
			// Reads take an optional token: a bad one is 401, never a 5xx.
			req = httptest.NewRequest(http.MethodGet, "/api/event/", nil)
			req.Header.Set("Authorization", header)
			wantNo5xx(t, "optional bearer", c.do(req))
		}
	})
}

// FuzzAPIEventBody posts the input as the JSON body of POST /api/event/new
// and PUT /api/event/{id}: 200 with a valid stored event, or 400/413/422
// with a JSON detail; never a 5xx.
func FuzzAPIEventBody(f *testing.F) {
	w := newFuzzWorld(f)
	for _, s := range []string{
		`{"title":"Picnic"}`,
		`{"title":"Picnic","image":"https://example.com/a.png","description":"Bring food","tags":["Food","food"," x "],` +
			`"location":"Park","starts_at":"2031-03-01T18:00:00Z","ends_at":"2031-03-01T20:00:00+02:00","visibility":"private"}`,
		`{"title":null,"tags":null}`,
		`{"title":"x","id":5,"creator":"admin@example.com","created_at":"2000-01-01T00:00:00Z","role":"admin"}`,
		`{"title":1}`, `{"tags":"a,b"}`, `{"tags":[1,2]}`, `{"starts_at":"tomorrow"}`, `{"starts_at":"9999-12-31T23:59:59Z"}`,
		`{"title":"Seats","capacity":25,"rsvp_open":false,"timezone":"Asia/Tokyo"}`,
		`{"title":"x","capacity":0,"timezone":""}`, `{"title":"x","capacity":-3}`, `{"title":"x","capacity":1e9}`,
		`{"title":"x","capacity":"10"}`, `{"title":"x","timezone":"Local"}`, `{"title":"x","rsvp_open":"yes"}`,
		`{"title":"x","going_count":99,"waitlist_count":5,"my_rsvp":"going","share_gen":7,"sequence":100}`,
		`{"starts_at":"0000-01-01T00:00:00Z"}`, `{"ends_at":"2031-03-01T17:00:00Z","starts_at":"2031-03-01T18:00:00Z"}`,
		`{"title":"a\u0000b"}`, `{"title":"` + "\xff\xfe" + `"}`, `{"description":"` + strings.Repeat("d", 5001) + `"}`,
		`{"visibility":"PUBLIC"}`, `{"visibility":"friends"}`, `{"image":"javascript:alert(1)"}`,
		`{"title":"'; DROP TABLE events; --"}`, `[]`, `null`, `"x"`, `1`, `{`, `{}{}`, `{"title":"x"} trailing`, ``,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"tags":[` + strings.Repeat(`"t",`, 50) + `"t"]}`,
		`{"title":"x","title":"y"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := w.client(t, false)
		rec := c.api("POST", "/api/event/new", w.token, body)
		wantNo5xx(t, "create", rec)
		switch rec.Code {
		case http.StatusOK:
			var id uint
			if _, err := fmt.Sscanf(rec.Header().Get("Location"), "/api/event/%d", &id); err != nil {
				t.Fatalf("create: Location %q", rec.Header().Get("Location"))
			}
			wantValidEvent(t, w.app, id, w.user.ID)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			wantAPIRefusal(t, "create", rec)
		default:
			t.Fatalf("create: status %d", rec.Code)
		}

		rec = c.api("PUT", fmt.Sprintf("/api/event/%d", w.event.ID), w.token, body)
		wantNo5xx(t, "update", rec)
		switch rec.Code {
		case http.StatusOK:
			wantValidEvent(t, w.app, w.event.ID, w.user.ID)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			wantAPIRefusal(t, "update", rec)
		default:
			t.Fatalf("update: status %d", rec.Code)
		}
	})
}

// FuzzEventForm submits the input as the event form (POST /events): a 303 to
// a valid stored event, or the form again with 422 and a message beside a
// field; never a 5xx.
func FuzzEventForm(f *testing.F) {
	w := newFuzzWorld(f)
	f.Add("Picnic", "", "", "", "", "", "", "")
	f.Add("Picnic", "https://example.com/a.png", "Bring food", "Food, outdoors, food", "The park", "2031-03-01T18:00", "2031-03-01T20:30", "public")
	f.Add("Picnic", "", "", "", "", "2031-03-01 18:00", "2031-03-01T18:00:00", "PRIVATE")
	f.Add("", "javascript:alert(1)", "a\x00b", strings.Repeat("t,", 20), "line\nbreak", "tomorrow", "0001-01-01T00:00", "friends")
	f.Add("'; DROP TABLE events; --", "http://x", "%_\\", "' OR 1=1 --", "\"", "2031-03-01T18:00", "2031-03-01T17:00", "public")
	f.Add("\xff\xfe", "https://exa mple.com", strings.Repeat("d", 5001), strings.Repeat("x", 31), strings.Repeat("l", 201), "9999-12-31T23:59", "", "public")
	f.Add("<script>alert(1)</script>", "https://example.com/a.png\"onerror=\"x", "", ",,, ,", "", "", "", "")
	f.Fuzz(func(t *testing.T, title, image, description, tags, location, startsAt, endsAt, visibility string) {
		c := w.client(t, true)
		form := url.Values{"title": {title}, "image": {image}, "description": {description}, "tags": {tags},
			"location": {location}, "starts_at": {startsAt}, "ends_at": {endsAt}, "visibility": {visibility}}
		rec := c.post("/events", form)
		wantNo5xx(t, "event form", rec)
		switch rec.Code {
		case http.StatusSeeOther:
			var id uint
			if _, err := fmt.Sscanf(rec.Header().Get("Location"), "/events/%d", &id); err != nil {
				t.Fatalf("Location %q", rec.Header().Get("Location"))
			}
			wantValidEvent(t, w.app, id, w.user.ID)
		case http.StatusUnprocessableEntity:
			if strings.TrimSpace(doc(t, rec).Find(".field-error").Text()) == "" {
				t.Fatalf("422 without a field error: %.500s", rec.Body.String())
			}
		default:
			t.Fatalf("event form: status %d", rec.Code)
		}
	})
}

// FuzzEventPlanningForm sends the event form's planning fields (time
// zone, times read in it, capacity, RSVPs open): a stored event, or a 422
// with a message beside the field; never a 5xx, never a stored time the
// zone could not have meant.
func FuzzEventPlanningForm(f *testing.F) {
	w := newFuzzWorld(f)
	f.Add("Europe/Berlin", "2031-03-30T02:30", "", "10", "open")
	f.Add("Europe/Berlin", "2031-10-26T02:30", "2031-10-26T02:15", "", "closed")
	f.Add("America/New_York", "2031-03-09T02:00", "", "0", "")
	f.Add("Australia/Lord_Howe", "2031-10-05T02:15", "", "100001", "open")
	f.Add("Local", "2031-01-01T00:00", "", "-1", "x")
	f.Add("../../etc/passwd", "2031-01-01T00:00", "", "1e3", "")
	f.Add("UTC\x00", "", "", "99999999999999999999", "closed")
	f.Add("", "2031-06-01T12:00", "2031-06-01T11:00", " 7 ", "open")
	f.Fuzz(func(t *testing.T, zone, startsAt, endsAt, capacity, rsvp string) {
		c := w.client(t, true)
		form := url.Values{"title": {"Planned"}, "timezone": {zone}, "starts_at": {startsAt}, "ends_at": {endsAt},
			"capacity": {capacity}, "rsvp": {rsvp}, "visibility": {"public"}}
		rec := c.post("/events", form)
		wantNo5xx(t, "event planning form", rec)
		switch rec.Code {
		case http.StatusSeeOther:
			var id uint
			if _, err := fmt.Sscanf(rec.Header().Get("Location"), "/events/%d", &id); err != nil {
				t.Fatalf("Location %q", rec.Header().Get("Location"))
			}
			wantValidEvent(t, w.app, id, w.user.ID)
			e, _ := models.NewEvents(w.app.db).Get(context.Background(), id)
			loc := eventZone(e, time.UTC)
			if e.StartsAt != nil && strings.TrimSpace(startsAt) != "" {
				got := e.StartsAt.In(loc).Format("2006-01-02T15:04")
				if want := strings.Replace(strings.TrimSpace(startsAt), " ", "T", 1); !strings.HasPrefix(want, got) {
					t.Fatalf("%q in %s stored as %v (%s there)", startsAt, loc, e.StartsAt, got)
				}
			}
		case http.StatusUnprocessableEntity:
			if strings.TrimSpace(doc(t, rec).Find(".field-error").Text()) == "" {
				t.Fatalf("422 without a field error: %.500s", rec.Body.String())
			}
		default:
			t.Fatalf("event planning form: status %d", rec.Code)
		}
	})
}

// FuzzEventQuery sends the inputs as the query of GET /api/event/ (cursor,
// limit, tag, q, upcoming) and of GET /events (after, before, tag, q), and
// raw as a whole query string: 200, or 422 (API) / 400 (pages) with a
// message; never a 5xx.
func FuzzEventQuery(f *testing.F) {
	w := newFuzzWorld(f)
	for i := 0; i < 3; i++ {
		start := time.Now().Add(time.Duration(i+1) * time.Hour)
		in := models.EventInput{Title: fmt.Sprintf("Query %d", i), Tags: []string{"q"}, StartsAt: &start}
		in.Normalize()
		if _, err := models.NewEvents(w.app.db).Create(context.Background(), w.user.ID, in); err != nil {
			f.Fatal(err)
		}
	}
	// Real cursors, of the API and of the pages.
	var cursors []string
	seedClient := w.app.client()
	for _, p := range []string{"/api/event/?limit=1", "/api/event/?limit=1&upcoming=1"} {
		link := seedClient.api("GET", p, "", nil).Header().Get("Link")
		if i, j := strings.Index(link, "cursor="), strings.Index(link, ">"); i >= 0 && j > i {
			if v, err := url.ParseQuery(link[strings.Index(link, "?")+1 : j]); err == nil {
				cursors = append(cursors, v.Get("cursor"))
			}
		}
	}
	if len(cursors) != 2 {
		f.Fatalf("no cursors to seed with: %v", cursors)
	}
	huge := base64.RawURLEncoding.EncodeToString([]byte(`{"o":0,"s":0,"i":1,"n":9223372036854775807}`))
	hugeStart := base64.RawURLEncoding.EncodeToString([]byte(`{"o":1,"s":0,"t":-9223372036854775808,"i":1,"n":1}`))
	f.Add(cursors[0], "1", "q", "query", "", "")
	f.Add(cursors[1], "2", "", "", "1", "upcoming=1&limit=1")
	f.Add("", "", "", "", "", "")
	f.Add("garbage", "-1", strings.Repeat("t", 31), strings.Repeat("q", 201), "maybe", "limit=0&limit=1")
	f.Add(huge, "201", "' OR 1=1 --", "%_\\", "true", "cursor="+huge)
	f.Add(hugeStart, "99999999999999999999", "a\x00b", "\xff", "0", "q=%00&tag=%ff&cursor=%")
	f.Add(cursors[0][:len(cursors[0])-2], "1e3", "Q", "QUERY", "false", "upcoming=1&cursor="+cursors[0])
	f.Fuzz(func(t *testing.T, cursor, limit, tag, q, upcoming, raw string) {
		c := w.client(t, false)
		v := url.Values{}
		for k, s := range map[string]string{"cursor": cursor, "limit": limit, "tag": tag, "q": q, "upcoming": upcoming} {
			if s != "" {
				v.Set(k, s)
			}
		}
		check := func(what string, rec *httptest.ResponseRecorder, refusal int) {
			t.Helper()
			wantNo5xx(t, what, rec)
			switch {
			case rec.Code == http.StatusOK:
			case rec.Code == refusal && refusal == http.StatusUnprocessableEntity:
				wantAPIRefusal(t, what, rec)
			case rec.Code == refusal:
				if testid(t, rec, "error-page") == "" {
					t.Fatalf("%s: %d without the error page", what, rec.Code)
				}
			default:
				t.Fatalf("%s: status %d\n%.300s", what, rec.Code, rec.Body.String())
			}
		}
		check("API query", c.api("GET", "/api/event/?"+v.Encode(), w.token, nil), http.StatusUnprocessableEntity)
		pv := url.Values{}
		for k, s := range map[string]string{"after": cursor, "before": upcoming, "tag": tag, "q": q} {
			if s != "" {
				pv.Set(k, s)
			}
		}
		signed := w.client(t, true)
		check("page query", signed.get("/events?"+pv.Encode()), http.StatusBadRequest)

		req := httptest.NewRequest(http.MethodGet, "/api/event/", nil)
		req.URL.RawQuery = raw
		check("raw API query", c.do(req), http.StatusUnprocessableEntity)
		req = httptest.NewRequest(http.MethodGet, "/events", nil)
		req.URL.RawQuery = raw
		check("raw page query", c.do(req), http.StatusBadRequest)
	})
}

// FuzzSafeNext: the next check returns "" or the input itself, and only a
// path that starts with exactly one "/", has no backslash or control
// character, is valid UTF-8, and that url.Parse gives no scheme, host or
// user; resolved against the site it stays on the site. The sign-in page
// carries exactly that value in its hidden field.
func FuzzSafeNext(f *testing.F) {
	w := newFuzzWorld(f)
	for _, s := range []string{
		"/events/3?x=1", "/", "//evil.example", "/\\evil.example", "\\\\evil", "https://evil.example", "http:/evil",
		"/a\nb", "/a\tb", "/\x00", "/a\x7fb", "/\u2028", "relative", "", " /events", "/%2F%2Fevil.example",
		"/events#frag", "/@evil.example", "/.//evil", "/\xff", "/" + strings.Repeat("a", 3000), "javascript:alert(1)",
		"/events?next=//evil", "///evil", "/\u3000/evil",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://planner.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "" {
			if got != next {
				t.Fatalf("safeNext(%q) = %q: neither the input nor empty", next, got)
			}
			if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsRune(got, '\\') || !utf8.ValidString(got) {
				t.Fatalf("safeNext accepted %q", got)
			}
			for _, r := range got {
				if unicode.IsControl(r) {
					t.Fatalf("safeNext accepted a control character in %q", got)
				}
			}
			u, err := url.Parse(got)
			if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
				t.Fatalf("safeNext accepted %q, which parses as %+v (%v)", got, u, err)
			}
			if r := base.ResolveReference(u); r.Scheme != "https" || r.Host != "planner.example" {
				t.Fatalf("safeNext accepted %q, which leads to %s", got, r)
			}
		}
		if nextOr(next, "/events") != map[bool]string{true: got, false: "/events"}[got != ""] {
			t.Fatalf("nextOr(%q) disagrees with safeNext", next)
		}
		c := w.client(t, false)
		rec := c.get("/login?next=" + url.QueryEscape(next))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /login?next=%q: %d", next, rec.Code)
		}
		if v, _ := doc(t, rec).Find(`input[name="next"]`).Attr("value"); v != got {
			t.Fatalf("sign-in form carries next %q, want %q", v, got)
		}
	})
}
