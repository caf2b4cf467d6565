package handlers

// Hostile input: SQL metacharacters, NUL bytes, invalid UTF-8, oversized
// bodies and headers, deeply nested JSON, huge tag lists, bad limits and
// cursors. Each is answered with a 4xx that says why (a JSON detail under
// /api, the error page or the form with a field error elsewhere), and the
// store is as it was; on SQLite and on PostgreSQL, which refuses a NUL in
// any text parameter and so turns a forgotten check into a 500.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// hostileWorld is an owner signed in on the pages and the API, with a
// public and a private event, on a given database.
type hostileWorld struct {
	app   *testApp
	owner *models.User
	token string
	c     *client // the owner's browser and API client
	event *models.Event
}

func newHostileWorld(t *testing.T, db *gorm.DB) *hostileWorld {
	t.Helper()
	app := newTestAppOn(t, db)
	w := &hostileWorld{app: app, c: app.client()}
	w.owner = app.createUser("owner@example.com", goodPassword, models.RoleUser)
	w.c.login(w.owner.Email, goodPassword)
	w.token = w.c.token(w.owner.Email, goodPassword)
	w.event = app.createEvent(w.owner.ID, "Quiz night", "public", "quiz")
	app.createEvent(w.owner.ID, "Private rehearsal", "private", "music")
	return w
}

// contentSnapshot is everything a refused request must leave alone:
// accounts (but not last sign-in times), events, tags and revoked sessions.
// Throttles and the audit log are left out: a refused sign-in rightly
// counts there.
func contentSnapshot(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var b strings.Builder
	var users []models.User
	var events []models.Event
	var tags []models.EventTag
	var revoked []models.RevokedSession
	for _, err := range []error{
		db.Order("id").Find(&users).Error,
		db.Order("id").Find(&events).Error,
		db.Order("event_id, tag").Find(&tags).Error,
		db.Order("sid").Find(&revoked).Error,
	} {
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
	}
	for _, u := range users {
		fmt.Fprintf(&b, "u%d:%s:%s:%s:%t:%d:%s\n", u.ID, u.Email, u.Name, u.Role, u.Disabled, u.TokenVersion, u.PasswordHash)
	}
	for _, e := range events {
		fmt.Fprintf(&b, "e%d:%d:%q:%q:%q:%q:%q:%v:%v:%s:%s\n", e.ID, e.CreatorID, e.Title, e.Image, e.Description, e.Tags,
			e.Location, fmtTime(e.StartsAt), fmtTime(e.EndsAt), e.Visibility, e.UpdatedAt.UTC().Format(time.RFC3339Nano))
	}
	for _, tg := range tags {
		fmt.Fprintf(&b, "t%d:%q\n", tg.EventID, tg.Tag)
	}
	for _, r := range revoked {
		fmt.Fprintf(&b, "r%s\n", r.SID)
	}
	return b.String()
}

// unchanged runs f and fails if the store's content differs afterwards.
func (w *hostileWorld) unchanged(t *testing.T, f func()) {
	t.Helper()
	before := contentSnapshot(t, w.app.db)
	f()
	if after := contentSnapshot(t, w.app.db); after != before {
		t.Fatalf("the store changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// apiRefusal checks status and that the detail says something: a sentence
// containing want, or a 422 item located at loc.
func apiRefusal(t *testing.T, rec *httptest.ResponseRecorder, code int, want string, loc ...string) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != code {
		t.Fatalf("status %d, want %d: %.400s", rec.Code, code, body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("refusal is not JSON: %q", rec.Header().Get("Content-Type"))
	}
	var parsed struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &parsed); err != nil || len(parsed.Detail) == 0 {
		t.Fatalf("no detail in %q", body)
	}
	if len(loc) > 0 {
		var items []fieldError
		if err := json.Unmarshal(parsed.Detail, &items); err != nil {
			t.Fatalf("detail is not a list of problems: %s", parsed.Detail)
		}
		for _, it := range items {
			if strings.Join(it.Loc, ".") == strings.Join(loc, ".") && it.Msg != "" {
				return
			}
		}
		t.Fatalf("no problem at %v in %s", loc, parsed.Detail)
	}
	var msg string
	if err := json.Unmarshal(parsed.Detail, &msg); err != nil || msg == "" || !strings.Contains(msg, want) {
		t.Fatalf("detail %s, want a message containing %q", parsed.Detail, want)
	}
}

// hostileStrings are values that must never be more than text.
var sqlMeta = []string{
	`'; DROP TABLE events; --`, `" OR "1"="1`, `') OR 1=1 --`, `%`, `_`, `\`, `\'`, `$1`, `?`, `@q`, `*/ /*`, `;`,
}

func TestHostileAPIEventBodies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		w := newHostileWorld(t, db)
		put := fmt.Sprintf("/api/event/%d", w.event.ID)
		type bodyCase struct {
			name   string
			body   string
			status int
			want   string   // part of the detail sentence
			loc    []string // or the place of a 422 problem
		}
		var cases []bodyCase
		for _, field := range []string{"title", "image", "description", "location", "starts_at", "ends_at", "visibility"} {
			raw, _ := json.Marshal(map[string]any{"title": "Valid", field: "a\x00b"})
			cases = append(cases, bodyCase{"NUL in " + field, string(raw), 422, "", []string{"body", field}})
			cases = append(cases, bodyCase{"control character in " + field,
				strings.Replace(string(raw), `\u0000`, `\u001b[31m`, 1), 422, "", []string{"body", field}})
			cases = append(cases, bodyCase{"invalid UTF-8 in " + field,
				strings.Replace(string(raw), `a\u0000b`, "a\xff\xfeb", 1), 400, "not valid UTF-8", nil})
		}
		manyTags := make([]string, 20000)
		for i := range manyTags {
			manyTags[i] = fmt.Sprintf("t%d", i)
		}
		hugeTags, _ := json.Marshal(map[string]any{"title": "x", "tags": manyTags})
		cases = append(cases,
			bodyCase{"NUL in a tag", `{"title":"x","tags":["ok","a\u0000b"]}`, 422, "", []string{"body", "tags"}},
			bodyCase{"huge tag list", string(hugeTags), 422, "", []string{"body", "tags"}},
			bodyCase{"a tag too long", `{"title":"x","tags":["` + strings.Repeat("t", 31) + `"]}`, 422, "", []string{"body", "tags"}},
			bodyCase{"tags of the wrong type", `{"title":"x","tags":[["a"]]}`, 422, "", []string{"body", "tags"}},
			bodyCase{"deeply nested body", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), 400, "Malformed JSON", nil},
			bodyCase{"deeply nested field", `{"title":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`,
				400, "Malformed JSON", nil},
			bodyCase{"nested field within the depth limit", `{"title":` + strings.Repeat(`[`, 500) + strings.Repeat(`]`, 500) + `}`,
				422, "", []string{"body", "title"}},
			bodyCase{"oversized body", `{"title":"x","description":"` + strings.Repeat("d", 2<<20) + `"}`, 413, "Too Large", nil},
			bodyCase{"NUL outside strings", "{\"title\":\x00\"x\"}", 400, "Malformed JSON", nil},
			bodyCase{"title too long", `{"title":"` + strings.Repeat("t", 10000) + `"}`, 422, "", []string{"body", "title"}},
		)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w.unchanged(t, func() {
					for _, req := range []struct{ method, path string }{{"POST", "/api/event/new"}, {"PUT", put}} {
						rec := w.c.api(req.method, req.path, w.token, tc.body)
						apiRefusal(t, rec, tc.status, tc.want, tc.loc...)
					}
				})
			})
		}
	})
}

func TestHostileEventForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		w := newHostileWorld(t, db)
		edit := fmt.Sprintf("/events/%d/edit", w.event.ID)
		for _, field := range []string{"title", "image", "description", "tags", "location", "starts_at", "ends_at", "visibility"} {
			for name, bad := range map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xff\xfeb", "escape": "a\x1b[31mb"} {
				t.Run(name+" in "+field, func(t *testing.T) {
					form := eventForm("Valid title")
					form.Set(field, bad)
					w.unchanged(t, func() {
						for _, path := range []string{"/events", edit} {
							rec := w.c.post(path, form)
							if rec.Code != http.StatusUnprocessableEntity {
								t.Fatalf("POST %s: %d, want 422", path, rec.Code)
							}
							if testid(t, rec, "error-"+field) == "" {
								t.Fatalf("POST %s: no message beside %s", path, field)
							}
						}
					})
				})
			}
		}
		t.Run("huge tag list", func(t *testing.T) {
			tags := make([]string, 20000)
			for i := range tags {
				tags[i] = fmt.Sprintf("t%d", i)
			}
			form := eventForm("Valid title")
			form.Set("tags", strings.Join(tags, ","))
			w.unchanged(t, func() {
				rec := w.c.post("/events", form)
				if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(testid(t, rec, "error-tags"), "At most 10") {
					t.Fatalf("%d %q", rec.Code, testid(t, rec, "error-tags"))
				}
			})
		})
		t.Run("oversized body", func(t *testing.T) {
			form := eventForm("Valid title")
			form.Set("description", strings.Repeat("d", 2<<20))
			w.unchanged(t, func() {
				for _, path := range []string{"/events", edit, "/login", "/signup", "/account"} {
					rec := w.c.post(path, form)
					if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(testid(t, rec, "error-page"), "too large") {
						t.Fatalf("POST %s: %d %q", path, rec.Code, testid(t, rec, "error-page"))
					}
				}
			})
		})
	})
}

func TestHostileAccountInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		w := newHostileWorld(t, db)
		anon := w.app.client()
		bad := map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xff\xfeb", "escape": "a\x1b[31mb"}
		for name, v := range bad {
			t.Run(name, func(t *testing.T) {
				w.unchanged(t, func() {
					// Sign-up, page and API: a field error, no account.
					for field, form := range map[string]url.Values{
						"email": {"email": {v + "@example.com"}, "password": {goodPassword}},
						"name":  {"email": {"new@example.com"}, "password": {goodPassword}, "name": {v}},
					} {
						rec := anon.post("/signup", form)
						if rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "error-"+field) == "" {
							t.Fatalf("page sign-up with %s in %s: %d", name, field, rec.Code)
						}
					}
					if name != "invalid UTF-8" { // that one is refused as malformed JSON
						for field, body := range map[string]map[string]any{
							"email": {"email": v + "@example.com", "password": goodPassword},
							"name":  {"email": "new@example.com", "password": goodPassword, "name": v},
						} {
							rec := anon.api("POST", "/api/user/signup", "", body)
							apiRefusal(t, rec, 422, "", "body", field)
						}
					}
					// Sign-in with such an email: the answer of any unknown email.
					rec := anon.post("/login", url.Values{"email": {v + "@example.com"}, "password": {goodPassword}})
					if rec.Code != http.StatusUnauthorized || testid(t, rec, "form-error") != msgBadCredentials {
						t.Fatalf("page sign-in: %d %q", rec.Code, testid(t, rec, "form-error"))
					}
					rec = anon.api("POST", "/api/user/signin", "", url.Values{"username": {v + "@example.com"}, "password": {goodPassword}})
					apiRefusal(t, rec, 401, msgBadCredentials)
					// The display name.
					rec = w.c.post("/account", url.Values{"name": {v}})
					if rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "error-name") == "" {
						t.Fatalf("name change: %d", rec.Code)
					}
				})
			})
		}
		t.Run("sign-up with invalid UTF-8 JSON", func(t *testing.T) {
			w.unchanged(t, func() {
				rec := anon.api("POST", "/api/user/signup", "", "{\"email\":\"a\xff@example.com\",\"password\":\""+goodPassword+"\"}")
				apiRefusal(t, rec, 400, "not valid UTF-8")
			})
		})
		t.Run("oversized sign-in and sign-up", func(t *testing.T) {
			w.unchanged(t, func() {
				rec := anon.api("POST", "/api/user/signin", "", url.Values{"username": {"a@example.com"}, "password": {strings.Repeat("p", 2<<20)}})
				apiRefusal(t, rec, 413, "Too Large")
				rec = anon.api("POST", "/api/user/signup", "", `{"email":"`+strings.Repeat("a", 2<<20)+`"}`)
				apiRefusal(t, rec, 413, "Too Large")
			})
		})
		t.Run("sign-in with SQL in the email", func(t *testing.T) {
			for _, s := range sqlMeta {
				for _, email := range []string{s, w.owner.Email + s, s + "@example.com"} {
					rec := anon.api("POST", "/api/user/signin", "", url.Values{"username": {email}, "password": {goodPassword}})
					apiRefusal(t, rec, 401, msgBadCredentials)
				}
			}
		})
		// A password is opaque bytes: a NUL in it is kept, not a place where
		// the password ends (which would let anyone in with the part before).
		t.Run("NUL in a password is not where it ends", func(t *testing.T) {
			pw := "correct-horse\x00battery"
			rec := anon.api("POST", "/api/user/signup", "", map[string]any{"email": "nul@example.com", "password": pw})
			if rec.Code != http.StatusOK {
				t.Fatalf("sign-up: %d %s", rec.Code, rec.Body.String())
			}
			if rec := anon.api("POST", "/api/user/signin", "", url.Values{"username": {"nul@example.com"}, "password": {"correct-horse"}}); rec.Code != http.StatusUnauthorized {
				t.Fatalf("sign-in with the part before the NUL: %d", rec.Code)
			}
			if rec := anon.api("POST", "/api/user/signin", "", url.Values{"username": {"nul@example.com"}, "password": {pw}}); rec.Code != http.StatusOK {
				t.Fatalf("sign-in with the whole password: %d", rec.Code)
			}
		})
	})
}

// cursorOf encodes a hand-made cursor.
func cursorOf(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestHostileQueryParameters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		w := newHostileWorld(t, db)
		// A real cursor of the id order, to misuse in another order.
		first := w.c.api("GET", "/api/event/?limit=1", w.token, nil)
		link := first.Header().Get("Link")
		lq, _ := url.ParseQuery(link[strings.Index(link, "?")+1 : strings.Index(link, ">")])
		idCursor := lq.Get("cursor")
		if idCursor == "" {
			t.Fatalf("no next link: %q", link)
		}

		type q struct {
			param, value string
		}
		var refused []q
		for _, v := range []string{"a\x00b", "a\xff\xfeb", "a\x1bb", "\x00"} {
			refused = append(refused, q{"q", v}, q{"tag", v})
		}
		for _, v := range []string{"-1", "0", "201", "99999999999999999999", "-99999999999999999999", "1; DROP TABLE events",
			"1 OR 1=1", "abc", "", " 5", "1e3", "0x10", "\x00"} {
			refused = append(refused, q{"limit", v})
		}
		for _, v := range []string{"yes", "1 OR 1=1", "\x00", "2"} {
			refused = append(refused, q{"upcoming", v})
		}
		for _, v := range []string{"garbage", "%%%", "' OR 1=1 --", "\x00", strings.Repeat("A", 300), cursorOf(`{}`),
			cursorOf(`null`), cursorOf(`[1,2]`), cursorOf(`{"o":0,"s":5,"i":1,"n":1}`), cursorOf(`{"o":0,"s":-1,"i":1,"n":1}`),
			cursorOf(`{"o":0,"s":0,"i":0,"n":1}`), cursorOf(`{"o":0,"s":0,"i":-1,"n":1}`), cursorOf(`{"o":0,"s":0,"i":"1","n":1}`),
			cursorOf(`{"o":9,"s":0,"i":1,"n":1}`), cursorOf(`{"o":1,"s":0,"i":1,"n":1}`),
			idCursor[:len(idCursor)-3], idCursor + "A"} {
			refused = append(refused, q{"cursor", v})
		}
		w.unchanged(t, func() {
			for _, tc := range refused {
				for _, token := range []string{"", w.token} {
					path := "/api/event/?" + url.Values{tc.param: {tc.value}}.Encode()
					rec := w.c.api("GET", path, token, nil)
					apiRefusal(t, rec, 422, "", "query", tc.param)
				}
			}
			// The same cursor in another order is not a cursor of that order.
			path := "/api/event/?upcoming=1&cursor=" + url.QueryEscape(idCursor)
			rec := w.c.api("GET", path, "", nil)
			apiRefusal(t, rec, 422, "", "query", "cursor")

			// Cursors whose numbers are far out of range are refused or
			// harmless, never a 5xx.
			for _, v := range []string{
				cursorOf(`{"o":0,"s":0,"i":1,"n":9223372036854775807}`),
				cursorOf(`{"o":1,"s":0,"t":9223372036854775807,"i":1,"n":9223372036854775807}`),
				cursorOf(`{"o":1,"s":0,"t":-9223372036854775808,"i":1,"n":-9223372036854775808}`),
				cursorOf(`{"o":0,"s":0,"i":18446744073709551615,"n":1}`),
				cursorOf(`{"o":0,"s":0,"i":1e400,"n":1}`),
			} {
				for _, extra := range []string{"", "&upcoming=1"} {
					rec := w.c.api("GET", "/api/event/?cursor="+v+extra, w.token, nil)
					if rec.Code != http.StatusOK && rec.Code != http.StatusUnprocessableEntity {
						t.Fatalf("extreme cursor %s%s: %d %s", v, extra, rec.Code, rec.Body.String())
					}
				}
				rec := w.c.get("/events?after=" + v)
				if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
					t.Fatalf("extreme page cursor %s: %d", v, rec.Code)
				}
			}

			// SQL in a search or a tag is text: it matches what contains it
			// and nothing else.
			for _, s := range sqlMeta {
				for _, param := range []string{"q", "tag"} {
					rec := w.c.api("GET", "/api/event/?"+url.Values{param: {s}}.Encode(), w.token, nil)
					if rec.Code != http.StatusOK || rec.Body.String() != "[]\n" {
						t.Fatalf("%s=%q: %d %s", param, s, rec.Code, rec.Body.String())
					}
				}
				rec := w.c.get("/events?" + url.Values{"q": {s}, "tag": {s}}.Encode())
				if rec.Code != http.StatusOK || doc(t, rec).Find(`[data-testid="event-link"]`).Length() != 0 {
					t.Fatalf("page search %q: %d", s, rec.Code)
				}
			}

			// The pages: bad search text and bad cursors are the 400 page.
			for _, p := range []string{"/events?q=a%00b", "/events?tag=a%00b", "/events?q=%ff", "/events?tag=%1b",
				"/events?after=garbage", "/events?before=garbage", "/events?after=" + cursorOf(`{}`),
				"/events?after=" + url.QueryEscape(idCursor)} {
				rec := w.c.get(p)
				if rec.Code != http.StatusBadRequest || testid(t, rec, "error-page") == "" {
					t.Fatalf("GET %s: %d", p, rec.Code)
				}
			}
			// Ids in the path that are not ids: 404, like a missing event.
			for _, id := range []string{"0", "-1", "99999999999999999999", "1%27%20OR%201=1", "1%00", "%ff", "1.0", "0x1"} {
				rec := w.c.api("GET", "/api/event/"+id, w.token, nil)
				apiRefusal(t, rec, 404, msgEventNotFound)
				rec = w.c.api("PUT", "/api/event/"+id, w.token, `{"title":"x"}`)
				apiRefusal(t, rec, 404, msgEventNotFound)
				rec = w.c.api("DELETE", "/api/event/"+id, w.token, nil)
				apiRefusal(t, rec, 404, msgEventNotFound)
				if rec := w.c.get("/events/" + id); rec.Code != http.StatusNotFound {
					t.Fatalf("page /events/%s: %d", id, rec.Code)
				}
			}
		})
	})
}

// TestSQLMetacharactersAreData stores SQL in every text field through the
// API and the form and reads it back unchanged; the tables are all there
// and hold exactly what was written.
func TestSQLMetacharactersAreData(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		w := newHostileWorld(t, db)
		events := models.NewEvents(db)
		for i, s := range sqlMeta {
			text := "x " + s + " y" // surrounded, so trimming keeps it all
			body := map[string]any{"title": text, "description": text, "location": text, "tags": []string{s + "t"}}
			rec := w.c.api("POST", "/api/event/new", w.token, body)
			if rec.Code != http.StatusOK {
				t.Fatalf("API create with %q: %d %s", s, rec.Code, rec.Body.String())
			}
			got := decode[EventJSON](t, w.c.api("GET", rec.Header().Get("Location"), w.token, nil))
			if got.Title != text || got.Description != text || got.Location != text || len(got.Tags) != 1 || got.Tags[0] != strings.ToLower(s+"t") {
				t.Fatalf("API round trip of %q: %+v", s, got)
			}
			// The search finds it by its SQL, and only it.
			found := decode[[]EventJSON](t, w.c.api("GET", "/api/event/?"+url.Values{"q": {text}}.Encode(), w.token, nil))
			if len(found) != 1 || found[0].ID != got.ID {
				t.Fatalf("search for %q found %d events", text, len(found))
			}
			found = decode[[]EventJSON](t, w.c.api("GET", "/api/event/?"+url.Values{"tag": {s + "t"}}.Encode(), w.token, nil))
			if len(found) != 1 || found[0].ID != got.ID {
				t.Fatalf("tag %q found %d events", s+"t", len(found))
			}

			form := eventForm(text)
			form.Set("location", text)
			form.Set("description", text)
			rec = w.c.post("/events", form)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("form create with %q: %d", s, rec.Code)
			}
			var id uint
			fmt.Sscanf(rec.Header().Get("Location"), "/events/%d", &id)
			e, err := events.Get(context.Background(), id)
			if err != nil || e.Title != text || e.Location != text || e.Description != text {
				t.Fatalf("form round trip of %q: %+v %v", s, e, err)
			}
			if n := countEvents(t, db); n != int64(2+2*(i+1)) {
				t.Fatalf("%d events after %d creations", n, 2+2*(i+1))
			}
		}
		var users int64
		if err := db.Model(&models.User{}).Count(&users).Error; err != nil || users != 1 {
			t.Fatalf("users table: %d %v", users, err)
		}
	})
}

// TestOversizedHeadersRefused talks to the app's own http.Server (its
// MaxHeaderBytes and timeouts) over loopback: a header block over the
// limit is 431, whether in one header, a cookie or the request line, and
// the server keeps serving.
func TestOversizedHeadersRefused(t *testing.T) {
	app := newTestApp(t)
	srv := app.e.Server
	srv.Handler = app.e
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Fatalf("MaxHeaderBytes = %d: the default (1 MiB) or none", srv.MaxHeaderBytes)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()
	over := strings.Repeat("a", srv.MaxHeaderBytes+8<<10) // past the limit and net/http's slack

	send := func(requestLine string, headers ...string) (int, string) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		go func() { // write concurrently: the server may answer before reading it all
			_, _ = io.WriteString(conn, requestLine+"\r\nHost: planner.test\r\n"+strings.Join(headers, "")+"Connection: close\r\n\r\n")
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for name, req := range map[string][]string{
		"one header":   {"GET /events HTTP/1.1", "X-Padding: " + over + "\r\n"},
		"a cookie":     {"GET /events HTTP/1.1", "Cookie: planner_session=" + over + "\r\n"},
		"many headers": {"GET /api/event/ HTTP/1.1", strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", srv.MaxHeaderBytes/1000+16)},
		"request line": {"GET /events?q=" + over + " HTTP/1.1"},
		"bearer token": {"GET /api/user/me HTTP/1.1", "Authorization: Bearer " + over + "\r\n"},
	} {
		code, body := send(req[0], req[1:]...)
		if code != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(body, "Too Large") {
			t.Errorf("%s over the limit: %d %q", name, code, body)
		}
	}
	// Under the limit is served, and so is the next request.
	if code, _ := send("GET /api/event/ HTTP/1.1", "X-Padding: "+strings.Repeat("a", srv.MaxHeaderBytes/2)+"\r\n"); code != http.StatusOK {
		t.Errorf("a large header under the limit: %d", code)
	}
	if code, body := send("GET /healthz HTTP/1.1"); code != http.StatusOK || body != "ok" {
		t.Errorf("after the refusals: %d %q", code, body)
	}
}

// TestChunkedOversizedBody sends bodies without Content-Length through the
// real server: the limit still applies while reading, and is a 413.
func TestChunkedOversizedBody(t *testing.T) {
	app := newTestApp(t)
	app.createUser("owner@example.com", goodPassword, models.RoleUser)
	tok := app.client().token("owner@example.com", goodPassword)
	srv := httptestServer(t, app)
	for _, tc := range []struct{ path, ctype, head, tail string }{
		{"/api/event/new", "application/json", `{"title":"x","description":"`, `"}`},
		{"/api/user/signup", "application/json", `{"email":"new@example.com","password":"`, `"}`},
		{"/api/user/signin", "application/x-www-form-urlencoded", "username=owner%40example.com&password=", ""},
	} {
		pr, pw := io.Pipe()
		go func() {
			_, _ = io.WriteString(pw, tc.head)
			chunk := strings.Repeat("d", 64<<10)
			for i := 0; i < 40; i++ { // 2.5 MiB, bounded
				if _, err := io.WriteString(pw, chunk); err != nil {
					return
				}
			}
			_, _ = io.WriteString(pw, tc.tail)
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, srv+tc.path, pr)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", tc.ctype)
		resp, err := http.DefaultClient.Do(req)
		pr.CloseWithError(io.ErrClosedPipe)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"detail"`) {
			t.Errorf("chunked 2.5 MiB body to %s: %d %s", tc.path, resp.StatusCode, body)
		}
	}
	if n := countEvents(t, app.db); n != 0 {
		t.Fatalf("%d events stored", n)
	}
	if _, err := models.NewUsers(app.db).ByEmail(context.Background(), "new@example.com"); err == nil {
		t.Fatal("account stored from a refused body")
	}
}

// httptestServer serves the app on a loopback port and returns its URL.
func httptestServer(t testing.TB, app *testApp) string {
	t.Helper()
	srv := httptest.NewServer(app.e)
	t.Cleanup(srv.Close)
	return srv.URL
}
