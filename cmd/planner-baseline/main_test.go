package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/handlers"
	"github.com/planner/planner/models/dbtest"
)

// TestEventsPageIsPlanners seeds a real Planner the way the bench does (the
// bench user signs up through the API and creates 50 public events, then a
// browser signs in), and checks that the baseline, given the events JSON
// Planner answers, renders the very page Planner renders for that user:
// byte for byte, but for the CSRF token and the next page's cursor, which
// only Planner can make.
func TestEventsPageIsPlanners(t *testing.T) {
	planner := startPlanner(t)
	token := signUp(t, planner)
	for i := range 50 {
		post(t, planner, "/api/event/new", "application/json", eventBody(i), http.Header{"Authorization": {"Bearer " + token}}, http.StatusOK)
	}
	cookie := signIn(t, planner)
	_, list := get(t, planner.URL+"/api/event/", nil)
	_, want := get(t, planner.URL+"/events", http.Header{"Cookie": {cookie}})

	var events []event
	if err := json.Unmarshal([]byte(list), &events); err != nil || len(events) != 50 {
		t.Fatalf("events JSON: %d events, %v", len(events), err)
	}
	app, err := newApp(events, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	base := httptest.NewServer(app)
	t.Cleanup(base.Close)
	res, got := get(t, base.URL+"/events", nil)
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}

	// Planner's order: upcoming soonest first (bench events 11..39 start
	// one a day from tomorrow on; #10 started this hour), so its first page
	// is events #11 to #30.
	for i := 11; i <= 30; i++ {
		title := fmt.Sprintf(">Community meetup #%d<", i)
		if !strings.Contains(got, title) {
			t.Errorf("the baseline's page lacks %s", title)
		}
	}
	for _, i := range []int{10, 31, 49} {
		if title := fmt.Sprintf(">Community meetup #%d<", i); strings.Contains(got, title) {
			t.Errorf("the baseline's first page shows %s", title)
		}
	}
	if n := strings.Count(got, `data-testid="event-item"`); n != 20 {
		t.Errorf("the baseline's page shows %d events, want 20", n)
	}
	if normalise(got) != normalise(want) {
		t.Errorf("the baseline's page differs from Planner's:\n%s", firstDifference(normalise(got), normalise(want)))
	}
}

// TestRunServesEvents starts the command itself and reads its pages over
// the network, as the bench does.
func TestRunServesEvents(t *testing.T) {
	start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour).Format(time.RFC3339)
	file := t.TempDir() + "/events.json"
	raw := `[{"id":7,"title":"Okapi <evening>","creator_name":"Bench","tags":["zoo"],"starts_at":"` + start +
		`","visibility":"public","timezone":"Europe/Berlin"},{"id":8,"title":"Undated","tags":[],"visibility":"public","timezone":"UTC"}]`
	if err := os.WriteFile(file, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &lineWriter{lines: make(chan string, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--events", file}, out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	var addr string
	select {
	case l := <-out.lines:
		addr = strings.TrimSpace(strings.TrimPrefix(l, "listening on "))
	case <-time.After(30 * time.Second):
		t.Fatal("run printed no address")
	}
	_, page := get(t, addr+"/events", nil)
	for _, want := range []string{"Okapi &lt;evening&gt;", "Undated", `data-testid="group-upcoming"`, `data-testid="group-undated"`, "Europe/Berlin (CE"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	res, body := get(t, addr+"/api/event/7", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Okapi") {
		t.Errorf("GET /api/event/7: %d %s", res.StatusCode, body)
	}
}

// lineWriter hands each write (run prints one line) to a channel.
type lineWriter struct{ lines chan string }

func (w *lineWriter) Write(p []byte) (int, error) {
	select {
	case w.lines <- string(p):
	default:
	}
	return len(p), nil
}

var (
	csrfValue = regexp.MustCompile(`(name="_csrf" value=|name="csrf-token" content=)"[^"]*"`)
	cursorArg = regexp.MustCompile(`after=[A-Za-z0-9_-]+`)
)

// normalise blanks what only Planner can make: its CSRF token and cursors.
func normalise(page string) string {
	return cursorArg.ReplaceAllString(csrfValue.ReplaceAllString(page, `$1"-"`), "after=-")
}

func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("baseline: …%s…\nPlanner:  …%s…", a[from:min(len(a), i+200)], b[from:min(len(b), i+200)])
}

// startPlanner is the real app on a fresh SQLite database.
func startPlanner(t *testing.T) *httptest.Server {
	t.Helper()
	base, _ := url.Parse("http://127.0.0.1")
	cfg := handlers.Config{Env: "development", BaseURL: base, SecretKeys: [][]byte{[]byte("baseline-test-key-0123456789abcdef")},
		TokenTTL: time.Hour, SessionTTL: 12 * time.Hour, BcryptCost: 4, LoginLimit: 5, Timezone: time.UTC, HashSlots: 2, HashQueue: 64}
	e, err := handlers.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), dbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

const (
	benchEmail    = "bench@example.com"
	benchPassword = "load-test-password-7f3a"
)

// signUp makes the bench user through the API and returns a bearer token.
func signUp(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": benchEmail, "password": benchPassword, "name": "Bench"})
	post(t, srv, "/api/user/signup", "application/json", string(body), nil, http.StatusOK)
	form := url.Values{"username": {benchEmail}, "password": {benchPassword}}.Encode()
	_, b := post(t, srv, "/api/user/signin", "application/x-www-form-urlencoded", form, nil, http.StatusOK)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(b), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("sign in: %s", b)
	}
	return tok.AccessToken
}

// signIn signs a browser in through the login form and returns its cookies.
func signIn(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	res, page := get(t, srv.URL+"/login", nil)
	var csrf string
	for _, c := range res.Cookies() {
		if c.Name == "_csrf" {
			csrf = c.Value
		}
	}
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == "" || m == nil {
		t.Fatal("login page: no CSRF cookie or field")
	}
	form := url.Values{"email": {benchEmail}, "password": {benchPassword}, "_csrf": {m[1]}}.Encode()
	res, _ = post(t, srv, "/login", "application/x-www-form-urlencoded", form, http.Header{"Cookie": {"_csrf=" + csrf}}, http.StatusSeeOther)
	for _, c := range res.Cookies() {
		if c.Name == handlers.SessionCookie && c.Value != "" {
			return c.Name + "=" + c.Value + "; _csrf=" + csrf
		}
	}
	t.Fatal("log in: no session cookie")
	return ""
}

// eventBody is the bench's event i (cmd/planner-bench eventFields).
func eventBody(i int) string {
	start := time.Now().UTC().Add(time.Duration(i%40-10) * 24 * time.Hour).Truncate(time.Hour)
	b, _ := json.Marshal(map[string]any{
		"title":       fmt.Sprintf("Community meetup #%d", i),
		"image":       "https://images.example.com/meetup.png",
		"description": "An evening of short talks, food and conversation. Bring a friend; everyone is welcome.",
		"tags":        []string{"meetup", "talks", "food"},
		"location":    "Town hall, main room",
		"starts_at":   start.Format(time.RFC3339),
		"ends_at":     start.Add(3 * time.Hour).Format(time.RFC3339),
		"visibility":  "public",
	})
	return string(b)
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req, h, http.StatusOK)
}

func post(t *testing.T, srv *httptest.Server, path, ct, body string, h http.Header, want int) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return send(t, req, h, want)
}

func send(t *testing.T, req *http.Request, h http.Header, want int) (*http.Response, string) {
	t.Helper()
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %.300s", req.Method, req.URL, res.StatusCode, want, b)
	}
	return res, string(b)
}
