package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/planner/planner/models"
)

// The account every workload signs in as.
const (
	benchEmail    = "bench@example.com"
	benchPassword = "load-test-password-7f3a"
)

// api is a small client of one running Planner.
type api struct {
	base string
	hc   *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, hc: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request and returns the status, the body and the response.
func (a *api) do(method, path, ctype, body string, header http.Header) (int, []byte, *http.Response, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res, err
}

// account signs up the bench user (once per database) and returns a bearer
// token for it.
func (a *api) account(signup bool) (string, error) {
	if signup {
		body, _ := json.Marshal(map[string]string{"email": benchEmail, "password": benchPassword, "name": "Bench"})
		st, b, _, err := a.do("POST", "/api/user/signup", "application/json", string(body), nil)
		if err != nil || st != http.StatusOK {
			return "", fmt.Errorf("sign up: %d %s %v", st, b, err)
		}
	}
	form := url.Values{"username": {benchEmail}, "password": {benchPassword}}.Encode()
	st, b, _, err := a.do("POST", "/api/user/signin", "application/x-www-form-urlencoded", form, nil)
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("sign in: %d %s %v", st, b, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("sign in: no token in %s", b)
	}
	return tok.AccessToken, nil
}

// browser signs in through the login page as a browser does (CSRF cookie
// first) and returns the Cookie header value it would send afterwards.
func (a *api) browser() (string, error) {
	st, page, res, err := a.do("GET", "/login", "", "", nil)
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("login page: %d %v", st, err)
	}
	var csrf string
	for _, c := range res.Cookies() {
		if c.Name == "_csrf" {
			csrf = c.Value
		}
	}
	// The form's token is an HMAC bound to that cookie, read from the page
	// as a browser's form has it (the cookie itself is not the token).
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("login page: no CSRF token in the form")
	}
	form := url.Values{"email": {benchEmail}, "password": {benchPassword}, "_csrf": {string(m[1])}}.Encode()
	st, b, res, err := a.do("POST", "/login", "application/x-www-form-urlencoded", form,
		http.Header{"Cookie": {"_csrf=" + csrf}})
	if err != nil || st != http.StatusSeeOther {
		return "", fmt.Errorf("log in: %d %v %.200s", st, err, b)
	}
	jar := map[string]string{"_csrf": csrf}
	for _, c := range res.Cookies() {
		jar[c.Name] = c.Value
	}
	if jar["planner_session"] == "" {
		return "", fmt.Errorf("log in: no session cookie")
	}
	return fmt.Sprintf("planner_session=%s; _csrf=%s", jar["planner_session"], jar["_csrf"]), nil
}

// csrfField finds the CSRF token of a page's form.
var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// eventBody is the event every create sends: every field set, as a real
// client would.
func eventBody(i int) string {
	b, _ := json.Marshal(eventFields(i))
	return string(b)
}

// eventFields are the fields of bench event i.
func eventFields(i int) map[string]any {
	return map[string]any{
		"title":       fmt.Sprintf("Community meetup #%d", i),
		"image":       "https://images.example.com/meetup.png",
		"description": "An evening of short talks, food and conversation. Bring a friend; everyone is welcome.",
		"tags":        []string{"meetup", "talks", "food"},
		"location":    "Town hall, main room",
		"starts_at":   time.Now().UTC().Add(time.Duration(i%40-10) * 24 * time.Hour).Truncate(time.Hour).Format(time.RFC3339),
		"ends_at":     time.Now().UTC().Add(time.Duration(i%40-10)*24*time.Hour + 3*time.Hour).Truncate(time.Hour).Format(time.RFC3339),
		"visibility":  "public",
	}
}

// events creates n public events through the API with token.
func (a *api) events(token string, n int) error {
	h := http.Header{"Authorization": {"Bearer " + token}}
	for i := range n {
		st, b, _, err := a.do("POST", "/api/event/new", "application/json", eventBody(i), h)
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("create event %d: %d %s %v", i, st, b, err)
		}
	}
	return nil
}

// cappedEvent creates a public event with 100 seats for the RSVP workload
// and returns its RSVP path.
func (a *api) cappedEvent(token string) (string, error) {
	h := http.Header{"Authorization": {"Bearer " + token}}
	body := `{"title":"Hot event","capacity":100,"starts_at":"` + time.Now().UTC().Add(48*time.Hour).Truncate(time.Hour).Format(time.RFC3339) + `"}`
	st, b, _, err := a.do("POST", "/api/event/new", "application/json", body, h)
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("create the RSVP event: %d %s %v", st, b, err)
	}
	var created struct {
		ID uint `json:"id"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.ID == 0 {
		return "", fmt.Errorf("create the RSVP event: %s", b)
	}
	return fmt.Sprintf("/api/event/%d/rsvp", created.ID), nil
}

// bulkEvents adds n events by creator straight into the SQLite database at
// path, through the models package's schema, in one statement: a recursive
// CTE feeding INSERT ... SELECT inside one transaction, so a million rows
// take seconds. A tenth are private; a third are undated, the rest spread
// over the past and the future around now, like a long-lived instance.
func bulkEvents(ctx context.Context, path string, creator uint, n int) error {
	db, err := models.Open(path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer models.Close(db)
	if err := models.Migrate(ctx, db); err != nil {
		return err
	}
	var last int64
	if err := db.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM events").Scan(&last).Error; err != nil {
		return err
	}
	const stamp = "%Y-%m-%d %H:%M:%S+00:00" // how the driver stores UTC times
	now := time.Now().UTC().Truncate(time.Second).Format("2006-01-02 15:04:05")
	q := `WITH RECURSIVE seq(i) AS (SELECT @first UNION ALL SELECT i + 1 FROM seq WHERE i < @last)
INSERT INTO events (creator_id, title, image, description, tags, location, starts_at, ends_at, visibility, created_at, updated_at)
SELECT @creator, 'Seeded event ' || i, '', 'Seeded for the scale check: a plain description of moderate length.', '',
  'Hall ' || (i % 100),
  CASE WHEN i % 3 = 0 THEN NULL ELSE strftime('` + stamp + `', @now, ((i * 7919) % 20000 - 10000) || ' hours') END,
  NULL,
  CASE WHEN i % 10 = 0 THEN 'private' ELSE 'public' END,
  strftime('` + stamp + `', @now), strftime('` + stamp + `', @now)
FROM seq`
	return db.WithContext(ctx).Exec(q, map[string]any{
		"first": last + 1, "last": last + int64(n), "creator": creator, "now": now,
	}).Error
}
