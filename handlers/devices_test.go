package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// TestRevokeDeviceKillsExactlyThatSession: a user signed in on two
// browsers and with an API token sees all three on /account/sessions (one
// marked as this device); ending one browser's session ends exactly that
// one, on pages and through the API, and nobody can end another user's.
func TestRevokeDeviceKillsExactlyThatSession(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	bob := app.createUser("bob@example.com", goodPassword, models.RoleUser)
	laptop, phone, script := app.client(), app.client(), app.client()
	laptop.headers.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
	phone.headers.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile Safari/604.1")
	phone.addr = "198.51.100.20:5555"
	laptop.login(u.Email, goodPassword)
	phone.login(u.Email, goodPassword)
	tok := script.token(u.Email, goodPassword)
	bobs := app.client()
	bobs.login(bob.Email, goodPassword)

	rec := laptop.get("/account/sessions")
	if rec.Code != http.StatusOK {
		t.Fatalf("devices page: %d", rec.Code)
	}
	d := doc(t, rec)
	rows := d.Find(`[data-testid="sessions"] tr[data-testid^="session-"]`)
	if rows.Length() != 3 {
		t.Fatalf("%d sessions listed, want 3:\n%s", rows.Length(), rec.Body.String())
	}
	body := rec.Body.String()
	for _, want := range []string{"Firefox on Linux", "Safari on iOS", "198.51.100.20", "API token"} {
		if !strings.Contains(body, want) {
			t.Errorf("devices page lacks %q", want)
		}
	}
	if d.Find(`[data-testid="this-device"]`).Length() != 1 {
		t.Fatal("not exactly one \"this device\"")
	}
	if strings.Contains(body, laptop.session()) || strings.Contains(body, bob.Email) {
		t.Fatal("the page shows a token or another user's session")
	}

	// The phone's id, from the API list (which marks the caller's token).
	list := decode[[]sessionJSON](t, script.api("GET", "/api/user/sessions", tok, nil))
	var phoneID, tokenID uint
	for _, s := range list {
		switch {
		case s.Current:
			tokenID = s.ID
		case strings.Contains(s.Browser, "Safari"):
			phoneID = s.ID
		}
		for _, secret := range []string{laptop.session(), phone.session(), tok} {
			if strings.Contains(fmt.Sprint(s), secret) {
				t.Fatal("the API list shows a token")
			}
		}
	}
	if len(list) != 3 || phoneID == 0 || tokenID == 0 || list[0].Type == "" {
		t.Fatalf("API list: %+v", list)
	}

	// Bob cannot end Ada's phone session (404), and it survives.
	if rec := bobs.post(fmt.Sprintf("/account/sessions/%d/revoke", phoneID), nil); rec.Code != http.StatusNotFound {
		t.Fatalf("another user's revoke: %d", rec.Code)
	}
	if rec := phone.get("/account"); rec.Code != http.StatusOK {
		t.Fatalf("phone after Bob's attempt: %d", rec.Code)
	}

	// Ada ends the phone: only the phone is signed out.
	rec = laptop.post(fmt.Sprintf("/account/sessions/%d/revoke", phoneID), nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/sessions" {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := phone.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("phone still signed in: %d", rec.Code)
	}
	if rec := laptop.get("/account"); rec.Code != http.StatusOK {
		t.Fatalf("laptop signed out too: %d", rec.Code)
	}
	if rec := script.api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusOK {
		t.Fatalf("API token ended too: %d", rec.Code)
	}
	if rec := bobs.get("/account"); rec.Code != http.StatusOK {
		t.Fatalf("Bob signed out: %d", rec.Code)
	}
	if n := len(decode[[]sessionJSON](t, script.api("GET", "/api/user/sessions", tok, nil))); n != 2 {
		t.Fatalf("%d sessions left, want 2", n)
	}
	assertAudit(t, app, models.ActionSessionRevoked, 1)

	// Through the API: Bob's token cannot end Ada's token; Ada's token can
	// end itself.
	bobTok := app.client().token(bob.Email, goodPassword)
	wantDetail(t, script.api("DELETE", fmt.Sprintf("/api/user/sessions/%d", tokenID), bobTok, nil), http.StatusNotFound, msgSessionNotFound)
	wantDetail(t, script.api("DELETE", "/api/user/sessions/abc", tok, nil), http.StatusNotFound, msgSessionNotFound)
	if rec := script.api("DELETE", fmt.Sprintf("/api/user/sessions/%d", tokenID), tok, nil); rec.Code != http.StatusOK {
		t.Fatalf("API revoke: %d", rec.Code)
	}
	if rec := script.api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("token alive after revoking itself: %d", rec.Code)
	}
	if rec := laptop.get("/account"); rec.Code != http.StatusOK {
		t.Fatalf("laptop signed out by the API revoke: %d", rec.Code)
	}

	// Ending this very device signs out here and goes to sign-in.
	d = doc(t, laptop.get("/account/sessions"))
	id, _ := d.Find(`[data-testid="this-device"]`).Closest("tr").Attr("data-testid")
	rec = laptop.post("/account/sessions/"+strings.TrimPrefix(id, "session-")+"/revoke", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" || laptop.session() != "" {
		t.Fatalf("revoking this device: %d %s", rec.Code, rec.Header().Get("Location"))
	}

	// Sign out everywhere empties the list.
	c := app.client()
	c.login(u.Email, goodPassword)
	app.client().login(u.Email, goodPassword)
	c.post("/account/signout-all", nil)
	live, err := models.NewSessions(app.db).Live(context.Background(), u.ID, time.Now())
	if err != nil || len(live) != 0 {
		t.Fatalf("after sign-out everywhere: %d live, %v", len(live), err)
	}
}

// TestLastSeenAtMostOncePerMinute: a session's last-seen time and address
// are written on its first request and then at most once a minute.
func TestLastSeenAtMostOncePerMinute(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	app := newTestApp(t, func(c *Config) {
		c.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login(u.Email, goodPassword)
	seen := func() (time.Time, string) {
		t.Helper()
		live, err := models.NewSessions(app.db).Live(context.Background(), u.ID, now)
		if err != nil || len(live) != 1 {
			t.Fatalf("live sessions: %v, %v", live, err)
		}
		return live[0].LastSeenAt, live[0].IP
	}
	first, _ := seen()
	advance(30 * time.Second)
	c.addr = "203.0.113.5:1234"
	c.get("/account")
	if got, ip := seen(); !got.Equal(first) || ip == "203.0.113.5" {
		t.Fatalf("written again within the minute: %v %s", got, ip)
	}
	advance(31 * time.Second)
	c.get("/account")
	if got, ip := seen(); !got.After(first) || ip != "203.0.113.5" {
		t.Fatalf("not written after a minute: %v %s", got, ip)
	}
}

func TestBrowserNames(t *testing.T) {
	for ua, want := range map[string]string{
		"":           "Unknown",
		"curl/8.5.0": "curl",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0": "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15":        "Safari on macOS",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":              "Chrome on Android",
		"something": "Unknown",
	} {
		if got := Browser(ua); got != want {
			t.Errorf("Browser(%q) = %q, want %q", ua, got, want)
		}
	}
}

// TestAdminSeesUserSessions: the admin's users list shows each user's live
// sessions (browser, IP) and whether the address is verified, and never a
// token.
func TestAdminSeesUserSessions(t *testing.T) {
	app := newTestApp(t)
	admin := app.createUser("root@example.com", goodPassword, models.RoleAdmin)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	phone := app.client()
	phone.headers.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")
	phone.addr = "198.51.100.77:1000"
	phone.login(u.Email, goodPassword)
	tok := app.client().token(u.Email, goodPassword)
	c := app.client()
	c.login(admin.Email, goodPassword)
	rec := c.get("/admin/users?q=ada")
	row := doc(t, rec).Find(`[data-email="ada@example.com"]`)
	cell := row.Find(`[data-testid="user-sessions"]`)
	if n := cell.Find(`[data-testid^="session-"]`).Length(); n != 2 || !strings.Contains(cell.Text(), "Chrome on Android") || !strings.Contains(cell.Text(), "198.51.100.77") {
		t.Fatalf("ada's sessions on the users page (%d rows): %q", cell.Find(`[data-testid^="session-"]`).Length(), cell.Text())
	}
	if row.Find(`[data-testid="email-unverified"]`).Length() != 1 {
		t.Fatal("no unverified badge")
	}
	if cell.Find(`[data-testid="this-device"]`).Length() != 0 || cell.Find("form").Length() != 0 {
		t.Fatal("another user's sessions marked as this device, or with end buttons")
	}
	body := rec.Body.String()
	if strings.Contains(body, phone.session()) || strings.Contains(body, tok) {
		t.Fatal("the users page shows a token")
	}
}
