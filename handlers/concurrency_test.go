package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// syncBuffer collects the app's log lines from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newLoggedApp is newTestAppOn whose log is kept, to look for errors.
func newLoggedApp(t *testing.T, db *gorm.DB, edit ...func(*Config)) (*testApp, *syncBuffer) {
	t.Helper()
	cfg := testConfig()
	for _, f := range edit {
		f(&cfg)
	}
	logs := &syncBuffer{}
	e, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), db)
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{t: t, e: e, db: db, cfg: cfg}, logs
}

// apiClient talks to a real server over loopback with bearer tokens.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, http: &http.Client{
		Timeout:   60 * time.Second, // a hang guard, not a timing assertion
		Transport: &http.Transport{MaxIdleConns: 200, MaxIdleConnsPerHost: 200},
	}}
}

// call sends method path with a JSON (or form, for url.Values) body and
// returns the status, headers and body; a transport error is returned.
func (a *apiClient) call(method, path, token string, body any) (int, http.Header, []byte, error) {
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, err
		}
		r, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

// signin returns an API token for email.
func (a *apiClient) signin(t testing.TB, email, password string) string {
	t.Helper()
	code, _, body, err := a.call("POST", "/api/user/signin", "", url.Values{"username": {email}, "password": {password}})
	if err != nil || code != http.StatusOK {
		t.Fatalf("sign-in %s: %d %s %v", email, code, body, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token body %s: %v", body, err)
	}
	return tok.AccessToken
}

// ackedEvent is the last state of an event the server acknowledged.
type ackedEvent struct {
	title, visibility string
	tags              []string
	deleted           bool
}

// TestConcurrentWritersAndReaders runs 64 writers (each creating, updating
// and deleting its own events) and 16 readers (walking the list page by
// page and reading events) at once against the real app over HTTP, on
// SQLite and on PostgreSQL. Every request must succeed (no 5xx, no
// "database is locked"), a page walk never shows an event twice, and in the
// end the store holds exactly the acknowledged writes.
func TestConcurrentWritersAndReaders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, logs := newLoggedApp(t, db)
		api := newAPIClient(httptestServer(t, app))
		const users, writers, readers = 8, 64, 16
		tokens := make([]string, users)
		for i := range tokens {
			email := fmt.Sprintf("writer%d@example.com", i)
			app.createUser(email, goodPassword, models.RoleUser)
			tokens[i] = api.signin(t, email, goodPassword)
		}

		var mu sync.Mutex
		var failures []string
		fail := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			if len(failures) < 20 {
				failures = append(failures, fmt.Sprintf(format, args...))
			}
		}
		acked := map[uint]*ackedEvent{} // every writer's events, guarded by mu
		var publicIDs []uint            // public events never deleted, for readers

		create := func(token, title, visibility string, tags []string) (uint, bool) {
			code, h, body, err := api.call("POST", "/api/event/new", token,
				map[string]any{"title": title, "visibility": visibility, "tags": tags, "description": "by " + title})
			if err != nil || code != http.StatusOK {
				fail("create %s: %d %s %v", title, code, body, err)
				return 0, false
			}
			var id uint
			if _, err := fmt.Sscanf(h.Get("Location"), "/api/event/%d", &id); err != nil {
				fail("create %s: Location %q", title, h.Get("Location"))
				return 0, false
			}
			mu.Lock()
			acked[id] = &ackedEvent{title: title, visibility: visibility, tags: tags}
			mu.Unlock()
			return id, true
		}
		update := func(token string, id uint, title, visibility string, tags []string) {
			code, _, body, err := api.call("PUT", fmt.Sprintf("/api/event/%d", id), token,
				map[string]any{"title": title, "visibility": visibility, "tags": tags})
			if err != nil || code != http.StatusOK {
				fail("update %d: %d %s %v", id, code, body, err)
				return
			}
			mu.Lock()
			acked[id] = &ackedEvent{title: title, visibility: visibility, tags: tags}
			mu.Unlock()
		}
		remove := func(token string, id uint) {
			code, _, body, err := api.call("DELETE", fmt.Sprintf("/api/event/%d", id), token, nil)
			if err != nil || code != http.StatusOK {
				fail("delete %d: %d %s %v", id, code, body, err)
				return
			}
			mu.Lock()
			acked[id].deleted = true
			mu.Unlock()
		}

		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				tok := tokens[w%users]
				a, okA := create(tok, fmt.Sprintf("w%d-a v0", w), "public", []string{"a", fmt.Sprintf("w%d", w)})
				b, okB := create(tok, fmt.Sprintf("w%d-b v0", w), "private", nil)
				c, okC := create(tok, fmt.Sprintf("w%d-c v0", w), "private", []string{"c"})
				if !okA || !okB || !okC {
					return
				}
				mu.Lock()
				publicIDs = append(publicIDs, a)
				mu.Unlock()
				update(tok, a, fmt.Sprintf("w%d-a v1", w), "public", []string{"a", "updated"})
				// Read your own write.
				code, _, body, err := api.call("GET", fmt.Sprintf("/api/event/%d", a), tok, nil)
				if err != nil || code != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf(`"title":"w%d-a v1"`, w)) {
					fail("read own write %d: %d %s %v", a, code, body, err)
				}
				remove(tok, b)
				update(tok, c, fmt.Sprintf("w%d-c v1", w), "public", []string{"c", "now-public"})
				update(tok, a, fmt.Sprintf("w%d-a v2", w), "private", []string{"a"})
				d, okD := create(tok, fmt.Sprintf("w%d-d v0", w), "public", nil)
				if okD && w%2 == 0 {
					remove(tok, d)
				}
			}(w)
		}
		for r := 0; r < readers; r++ {
			wg.Add(1)
			go func(r int) {
				defer wg.Done()
				token := ""
				if r%2 == 1 {
					token = tokens[r%users]
				}
				for round := 0; round < 4; round++ {
					// Walk the list: pages never repeat an event.
					seen := map[uint]bool{}
					path := "/api/event/?limit=25"
					for page := 0; path != "" && page < 50; page++ {
						code, h, body, err := api.call("GET", path, token, nil)
						if err != nil || code != http.StatusOK {
							fail("list %s: %d %s %v", path, code, body, err)
							break
						}
						var list []EventJSON
						if err := json.Unmarshal(body, &list); err != nil {
							fail("list body: %v", err)
							break
						}
						for _, e := range list {
							if seen[e.ID] {
								fail("event %d shown twice in one walk", e.ID)
							}
							seen[e.ID] = true
						}
						path = ""
						if link := h.Get("Link"); link != "" {
							u, err := url.Parse(link[strings.Index(link, "<")+1 : strings.Index(link, ">")])
							if err != nil {
								fail("Link %q: %v", link, err)
								break
							}
							path = u.RequestURI()
						}
					}
					// Events that exist and were never deleted: 200 or,
					// when made private meanwhile, 404 to strangers.
					mu.Lock()
					ids := append([]uint(nil), publicIDs...)
					mu.Unlock()
					for _, id := range ids[:min(len(ids), 8)] {
						code, _, body, err := api.call("GET", fmt.Sprintf("/api/event/%d", id), token, nil)
						if err != nil || (code != http.StatusOK && code != http.StatusNotFound) {
							fail("read %d: %d %s %v", id, code, body, err)
						}
					}
				}
			}(r)
		}
		wg.Wait()
		for _, f := range failures {
			t.Error(f)
		}
		for _, bad := range []string{"database is locked", "SQLITE_BUSY", "level=ERROR"} {
			if strings.Contains(logs.String(), bad) {
				t.Errorf("the log says %q:\n%.2000s", bad, logs.String())
			}
		}
		if t.Failed() {
			return
		}

		// The store holds exactly the acknowledged state.
		var stored []models.Event
		if err := db.Order("id").Find(&stored).Error; err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, e := range acked {
			if !e.deleted {
				live++
			}
		}
		if len(stored) != live {
			t.Errorf("%d events stored, %d acknowledged and not deleted", len(stored), live)
		}
		events := models.NewEvents(db)
		for id, want := range acked {
			got, err := events.Get(context.Background(), id)
			if want.deleted {
				if err == nil {
					t.Errorf("event %d was deleted (acknowledged) but is stored", id)
				}
				continue
			}
			if err != nil {
				t.Errorf("event %d acknowledged but missing: %v", id, err)
				continue
			}
			tags := append([]string{}, want.tags...)
			sort.Strings(tags)
			gotTags := got.TagList()
			sort.Strings(gotTags)
			if got.Title != want.title || got.Visibility != want.visibility || strings.Join(gotTags, ",") != strings.Join(tags, ",") {
				t.Errorf("event %d stored as %q %s %v, acknowledged as %q %s %v", id, got.Title, got.Visibility, got.TagList(),
					want.title, want.visibility, want.tags)
			}
			var tagRows int64
			db.Model(&models.EventTag{}).Where("event_id = ?", id).Count(&tagRows)
			if int(tagRows) != len(want.tags) {
				t.Errorf("event %d has %d tag rows, want %d", id, tagRows, len(want.tags))
			}
		}
		var allTags int64
		db.Model(&models.EventTag{}).Count(&allTags)
		wantTags := 0
		for _, e := range acked {
			if !e.deleted {
				wantTags += len(e.tags)
			}
		}
		if int(allTags) != wantTags {
			t.Errorf("%d tag rows stored, want %d (rows of deleted events left behind?)", allTags, wantTags)
		}
		if want := writers * 4; len(acked) != want {
			t.Errorf("%d events acknowledged, want %d", len(acked), want)
		}
	})
}
