package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// twoInstances is two apps, each with its own connection pool, on one
// PostgreSQL schema: two instances of Planner behind a load balancer.
func twoInstances(t *testing.T) (a, b *testApp) {
	t.Helper()
	dsn := dbtest.PostgresURL(t)
	open := func() *gorm.DB {
		db, err := models.Open(dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = models.Close(db) })
		// Each instance migrates at start, as "planner serve" does.
		if err := models.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		return db
	}
	return newTestAppOn(t, open()), newTestAppOn(t, open())
}

// on returns a client of app that carries c's cookies and address: the same
// browser, its next request routed to the other instance.
func (c *client) on(app *testApp) *client {
	return &client{app: app, jar: c.jar, addr: c.addr, headers: c.headers}
}

// TestSeveralInstances shows that sessions, revocation and throttling live
// in the database: a session begun on one instance is honoured by the other,
// a sign-out on either ends it on both, and failed sign-ins on both count
// toward one throttle.
func TestSeveralInstances(t *testing.T) {
	a, b := twoInstances(t)
	a.createUser("ada@example.com", goodPassword, models.RoleUser)

	t.Run("a browser session begun on one is honoured by the other", func(t *testing.T) {
		onA := a.client()
		onA.login("ada@example.com", goodPassword)
		onB := onA.on(b)
		rec := onB.get("/account")
		if rec.Code != http.StatusOK || testid(t, rec, "account-email") != "ada@example.com" {
			t.Fatalf("B does not know A's session: %d", rec.Code)
		}
		// A form rendered by one and posted to the other passes CSRF.
		rec = onB.post("/events", eventForm("Made across instances"))
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("create on B with A's session: %d", rec.Code)
		}
		if rec := onA.get(rec.Header().Get("Location")); rec.Code != http.StatusOK || testid(t, rec, "event-title") != "Made across instances" {
			t.Fatalf("A does not show B's event: %d", rec.Code)
		}

		// Signing out on B ends the session on A.
		cookie := onA.session()
		if rec := onB.post("/logout", nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("logout on B: %d", rec.Code)
		}
		replay := a.client()
		replay.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: cookie}
		if rec := replay.get("/account"); rec.Code != http.StatusSeeOther {
			t.Fatalf("A still honours a session signed out on B: %d", rec.Code)
		}
	})

	t.Run("ending a device on one ends it on the other", func(t *testing.T) {
		phone, laptop := a.client(), a.client()
		phone.login("ada@example.com", goodPassword)
		laptop.login("ada@example.com", goodPassword)
		// B lists the sessions begun on A; a token from B ends the phone's
		// session (its id as the phone's own page on A shows it).
		tok := laptop.on(b).token("ada@example.com", goodPassword)
		if list := decode[[]sessionJSON](t, laptop.on(b).api("GET", "/api/user/sessions", tok, nil)); len(list) < 3 {
			t.Fatalf("sessions on B: %+v", list)
		}
		phoneSession := phone.session()
		d := doc(t, phone.get("/account/sessions"))
		mine, _ := d.Find(`[data-testid="this-device"]`).Closest("tr").Attr("data-testid")
		if rec := laptop.on(b).api("DELETE", "/api/user/sessions/"+strings.TrimPrefix(mine, "session-"), tok, nil); rec.Code != http.StatusOK {
			t.Fatalf("end the phone on B: %d", rec.Code)
		}
		replay := a.client()
		replay.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: phoneSession}
		if rec := replay.get("/account"); rec.Code != http.StatusSeeOther {
			t.Fatalf("A still honours a device ended on B: %d", rec.Code)
		}
		if rec := laptop.get("/account"); rec.Code != http.StatusOK {
			t.Fatalf("the laptop was signed out too: %d", rec.Code)
		}
	})

	t.Run("an API sign-out on one kills the token on the other", func(t *testing.T) {
		tok := a.client().token("ada@example.com", goodPassword)
		if rec := b.client().api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusOK {
			t.Fatalf("B refuses A's token: %d", rec.Code)
		}
		if rec := a.client().api("POST", "/api/user/signout", tok, nil); rec.Code != http.StatusOK {
			t.Fatalf("sign-out on A: %d", rec.Code)
		}
		for _, app := range []*testApp{a, b} {
			wantDetail(t, app.client().api("GET", "/api/user/me", tok, nil), http.StatusUnauthorized, msgInvalidToken)
		}
		// And the other way round.
		tok = b.client().token("ada@example.com", goodPassword)
		if rec := b.client().api("POST", "/api/user/signout", tok, nil); rec.Code != http.StatusOK {
			t.Fatalf("sign-out on B: %d", rec.Code)
		}
		wantDetail(t, a.client().api("GET", "/api/user/me", tok, nil), http.StatusUnauthorized, msgInvalidToken)
	})

	t.Run("signing out everywhere on one ends sessions and tokens on both", func(t *testing.T) {
		onA := a.client()
		onA.login("ada@example.com", goodPassword)
		onB := b.client()
		onB.login("ada@example.com", goodPassword)
		tok := b.client().token("ada@example.com", goodPassword)
		if rec := onA.post("/account/signout-all", nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("sign out everywhere on A: %d", rec.Code)
		}
		if rec := onB.get("/account"); rec.Code != http.StatusSeeOther {
			t.Fatalf("B's session survived: %d", rec.Code)
		}
		wantDetail(t, b.client().api("GET", "/api/user/me", tok, nil), http.StatusUnauthorized, msgInvalidToken)
	})

	t.Run("failed sign-ins on both count toward one throttle", func(t *testing.T) {
		a.createUser("bo@example.com", goodPassword, models.RoleUser)
		onA := a.client() // one client (one address) whose requests go to either instance
		onB := onA.on(b)
		wrong := url.Values{"username": {"bo@example.com"}, "password": {"wrong-password"}}
		for i, c := range []*client{onA, onB, onA, onB, onA} { // the limit, 5, split across both
			if rec := c.api("POST", "/api/user/signin", "", wrong); rec.Code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, rec.Code)
			}
		}
		right := url.Values{"username": {"bo@example.com"}, "password": {goodPassword}}
		for name, c := range map[string]*client{"B": onB, "A": onA} {
			rec := c.api("POST", "/api/user/signin", "", right)
			wantDetail(t, rec, http.StatusTooManyRequests, msgTooMany)
			if rec.Header().Get("Retry-After") == "" {
				t.Fatalf("429 on %s without Retry-After", name)
			}
		}
		if rec := onB.post("/login", url.Values{"email": {"bo@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("page sign-in on B while throttled: %d", rec.Code)
		}
		// Another client is not throttled, on either instance.
		other := b.client()
		other.addr = "198.51.100.20:5000"
		if rec := other.api("POST", "/api/user/signin", "", right); rec.Code != http.StatusOK {
			t.Fatalf("another client: %d", rec.Code)
		}
	})
}
