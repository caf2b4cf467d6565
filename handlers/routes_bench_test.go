package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// Handler benchmarks: the real app and router in-process (no network), on
// SQLite, with the load run's data: 50 public events with every field set.

// benchApp is the app with one user, a bearer token, a signed-in browser
// and 50 public events.
type benchApp struct {
	app    *testApp
	c      *client
	token  string
	cookie string
	ids    []uint
}

func newBenchApp(b *testing.B) *benchApp {
	b.Helper()
	app := newTestApp(b)
	u := app.createUser("bench@example.com", goodPassword, models.RoleUser)
	ba := &benchApp{app: app, c: app.client()}
	ba.token = ba.c.token("bench@example.com", goodPassword)
	ba.c.login("bench@example.com", goodPassword)
	ba.cookie = SessionCookie + "=" + ba.c.session()
	events := models.NewEvents(app.db)
	for i := range 50 {
		in := benchEventInput(i)
		e, err := events.Create(context.Background(), u.ID, in)
		if err != nil {
			b.Fatal(err)
		}
		ba.ids = append(ba.ids, e.ID)
	}
	return ba
}

// benchEventInput is an event with every field set, like the load run's.
func benchEventInput(i int) models.EventInput {
	start := time.Now().UTC().Add(time.Duration(i%40-10) * 24 * time.Hour).Truncate(time.Hour)
	end := start.Add(3 * time.Hour)
	in := models.EventInput{
		Title:       fmt.Sprintf("Community meetup #%d", i),
		Image:       "https://images.example.com/meetup.png",
		Description: "An evening of short talks, food and conversation. Bring a friend; everyone is welcome.",
		Tags:        []string{"meetup", "talks", "food"},
		Location:    "Town hall, main room",
		StartsAt:    &start,
		EndsAt:      &end,
		Visibility:  models.VisibilityPublic,
	}
	in.Normalize()
	return in
}

// serve runs one request through the app and fails on another status.
func (ba *benchApp) serve(b *testing.B, req *http.Request, want int) {
	rec := httptest.NewRecorder()
	ba.app.e.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: status %d, want %d: %.300s", req.Method, req.URL, rec.Code, want, rec.Body.String())
	}
}

func BenchmarkAPIEventList(b *testing.B) {
	ba := newBenchApp(b)
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		ba.serve(b, httptest.NewRequest(http.MethodGet, "/api/event/", nil), http.StatusOK)
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

func BenchmarkAPIEventGet(b *testing.B) {
	ba := newBenchApp(b)
	path := fmt.Sprintf("/api/event/%d", ba.ids[25])
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		ba.serve(b, httptest.NewRequest(http.MethodGet, path, nil), http.StatusOK)
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

func BenchmarkAPIEventCreate(b *testing.B) {
	ba := newBenchApp(b)
	body := `{"title":"Community meetup","image":"https://images.example.com/meetup.png",` +
		`"description":"An evening of short talks.","tags":["meetup","talks"],"location":"Town hall",` +
		`"starts_at":"2031-03-01T18:00:00Z","ends_at":"2031-03-01T21:00:00Z","visibility":"public"}`
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/event/new", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ba.token)
		ba.serve(b, req, http.StatusOK)
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

func BenchmarkEventsPageSignedIn(b *testing.B) {
	ba := newBenchApp(b)
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/events", nil)
		req.Header.Set("Cookie", ba.cookie)
		ba.serve(b, req, http.StatusOK)
	}
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

// BenchmarkAPIEventCreateParallel is many clients creating at once, as in
// the load run: they queue for SQLite's single write connection.
func BenchmarkAPIEventCreateParallel(b *testing.B) {
	ba := newBenchApp(b)
	body := `{"title":"Community meetup","tags":["meetup","talks"],"starts_at":"2031-03-01T18:00:00Z"}`
	b.ReportAllocs()
	cpu := startCPU()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/event/new", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+ba.token)
			rec := httptest.NewRecorder()
			ba.app.e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body.String())
				return
			}
		}
	})
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}

// BenchmarkEventsPageSignedInParallel is one browser session reading the
// events page from many connections at once, as in the load run: the
// session checks of overlapping requests are shared, the page's list is
// kept while the events version stands.
func BenchmarkEventsPageSignedInParallel(b *testing.B) {
	ba := newBenchApp(b)
	b.ReportAllocs()
	cpu := startCPU()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/events", nil)
			req.Header.Set("Cookie", ba.cookie)
			rec := httptest.NewRecorder()
			ba.app.e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
	b.ReportMetric(cpu.perOp(b), "cpu-ns/op")
}
