package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

const goodPassword = "correct-horse-battery"

func TestSignupSignsInAndRedirects(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	rec := c.post("/signup", url.Values{"email": {" Ada@Example.COM "}, "password": {goodPassword}, "name": {"Ada"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/events" {
		t.Fatalf("signup: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if c.session() == "" {
		t.Fatal("no session cookie after sign-up")
	}
	u, err := models.NewUsers(app.db).ByEmail(context.Background(), "ada@example.com")
	if err != nil || u.Name != "Ada" || u.Role != models.RoleUser {
		t.Fatalf("stored user = %+v, %v", u, err)
	}
	rec = c.get("/account")
	if rec.Code != http.StatusOK || testid(t, rec, "account-email") != "ada@example.com" {
		t.Fatalf("account page: %d %q", rec.Code, testid(t, rec, "account-email"))
	}
	if !strings.Contains(testid(t, rec, "flash"), "Welcome") {
		t.Fatalf("no welcome flash: %q", testid(t, rec, "flash"))
	}
	if rec := c.get("/account"); testid(t, rec, "flash") != "" {
		t.Fatal("flash shown twice")
	}

	// Without a name the default is "Member <id>".
	c2 := app.client()
	c2.post("/signup", url.Values{"email": {"bo@example.com"}, "password": {goodPassword}})
	u2, _ := models.NewUsers(app.db).ByEmail(context.Background(), "bo@example.com")
	if u2 == nil || u2.Name != "Member "+strconv.Itoa(int(u2.ID)) {
		t.Fatalf("default name = %+v", u2)
	}
}

func TestSignupValidation(t *testing.T) {
	app := newTestApp(t)
	app.createUser("taken@example.com", goodPassword, "user")
	cases := []struct {
		name, email, password, display, field, want string
	}{
		{"bad email", "not-an-email", goodPassword, "", "email", "valid email"},
		{"taken email", "TAKEN@example.com", goodPassword, "", "email", "An account with this email already exists"},
		{"short password", "a@example.com", "short7!", "", "password", "at least 8"},
		{"long password", "a@example.com", strings.Repeat("x", 73), "", "password", "at most 72"},
		{"password is email", "ann@example.com", "ANN@example.com", "", "password", "not be your email"},
		{"common password", "a@example.com", "password123", "", "password", "too common"},
		{"long name", "a@example.com", goodPassword, strings.Repeat("n", 61), "name", "at most 60"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := app.client()
			rec := c.post("/signup", url.Values{"email": {tc.email}, "password": {tc.password}, "name": {tc.display}})
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", rec.Code)
			}
			if got := testid(t, rec, "error-"+tc.field); !strings.Contains(got, tc.want) {
				t.Fatalf("error beside %s = %q, want %q", tc.field, got, tc.want)
			}
			d := doc(t, rec)
			if v, _ := d.Find("#password").Attr("value"); v != "" {
				t.Fatal("password echoed back")
			}
			if v, _ := d.Find("#email").Attr("value"); v != models.NormalizeEmail(tc.email) {
				t.Fatalf("email not kept: %q", v)
			}
			if strings.Contains(rec.Body.String(), tc.password) && tc.field == "password" {
				t.Fatal("password appears in the page")
			}
			if c.session() != "" {
				t.Fatal("signed in despite invalid input")
			}
		})
	}
}

func TestLoginNextRedirects(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")

	// A protected page sends anonymous users to sign in, with next.
	c := app.client()
	rec := c.get("/account?tab=security")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Faccount%3Ftab%3Dsecurity" {
		t.Fatalf("protected page: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = c.get(rec.Header().Get("Location"))
	next, _ := doc(t, rec).Find(`input[name="next"]`).Attr("value")
	if next != "/account?tab=security" {
		t.Fatalf("hidden next = %q", next)
	}
	rec = c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}, "next": {next}})
	if rec.Header().Get("Location") != "/account?tab=security" {
		t.Fatalf("after sign-in went to %q", rec.Header().Get("Location"))
	}

	for _, evil := range []string{"//evil.example", "https://evil.example", `/\evil.example`, "/\t/evil.example",
		"javascript:alert(1)", "evil.example", "", "///evil.example", "/%0d%0aSet-Cookie:x=1"} {
		c := app.client()
		rec := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}, "next": {evil}})
		loc := rec.Header().Get("Location")
		if evil == "/%0d%0aSet-Cookie:x=1" {
			// Percent-encoded bytes stay encoded: a harmless local path.
			if loc != evil {
				t.Errorf("next %q → %q", evil, loc)
			}
			continue
		}
		if loc != "/events" {
			t.Errorf("next %q → %q, want /events", evil, loc)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/events/3?x=1":                 "/events/3?x=1",
		"/":                             "/",
		"//evil.example":                "",
		"/\\evil.example":               "",
		"https://evil":                  "",
		"http:/evil":                    "",
		"/a\nb":                         "",
		"/a\x7fb":                       "",
		"relative":                      "",
		"/" + strings.Repeat("a", 3000): "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	for _, https := range []bool{false, true} {
		t.Run("https="+strconv.FormatBool(https), func(t *testing.T) {
			app := newTestApp(t, func(c *Config) {
				if https {
					c.BaseURL, _ = url.Parse("https://planner.example")
				}
			})
			app.createUser("ada@example.com", goodPassword, "user")
			c := app.client()
			rec := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
			ck := setCookie(rec, SessionCookie)
			if ck == nil {
				t.Fatal("no session cookie")
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" ||
				ck.MaxAge != int((12*time.Hour).Seconds()) || ck.Secure != https {
				t.Fatalf("cookie = %+v", ck)
			}
			csrfCk := setCookie(rec, csrfCookie)
			if csrfCk == nil || !csrfCk.HttpOnly || csrfCk.SameSite != http.SameSiteStrictMode || csrfCk.Path != "/" || csrfCk.Secure != https {
				t.Fatalf("csrf cookie = %+v", csrfCk)
			}
			hsts := rec.Header().Get("Strict-Transport-Security")
			if (hsts != "") != https {
				t.Fatalf("HSTS %q with https=%v", hsts, https)
			}
		})
	}
}

func TestSignOutRevokesSessionAndRenewals(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	c.login("ada@example.com", goodPassword)
	oldCookie := c.session()

	// A renewal of the same session: issued as if the session were 7 hours
	// old, so the next request renews it (same sid).
	var sid string
	{
		p, err := (&Sessions{cfg: app.cfg, tokens: mustTokens(t), revoked: models.NewSessions(app.db)}).
			Verify(context.Background(), AudienceWeb, oldCookie, Seen{})
		if err != nil {
			t.Fatal(err)
		}
		sid = p.Claims.SID
	}
	past := time.Now().Add(-7 * time.Hour)
	tk, _ := NewTokens([][]byte{testKey}, func() time.Time { return past })
	aged, _ := tk.Issue(AudienceWeb, u.ID, u.TokenVersion, sid, past, past.Add(12*time.Hour))
	r := app.client()
	r.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: aged}
	rec := r.get("/account")
	renewed := setCookie(rec, SessionCookie)
	if rec.Code != http.StatusOK || renewed == nil || renewed.Value == aged {
		t.Fatalf("aged session not renewed: %d %v", rec.Code, renewed)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("signed-in page Cache-Control = %q", rec.Header().Get("Cache-Control"))
	}

	rec = c.post("/logout", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("logout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if ck := setCookie(rec, SessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Fatal("logout did not clear the cookie")
	}
	for name, value := range map[string]string{"old cookie": oldCookie, "renewed cookie": renewed.Value} {
		x := app.client()
		x.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: value}
		if rec := x.get("/account"); rec.Code != http.StatusSeeOther {
			t.Errorf("%s still works after sign-out: %d", name, rec.Code)
		}
	}
	// Logging out without a session still answers 303 and clears the cookie.
	anon := app.client()
	if rec := anon.post("/logout", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("anonymous logout: %d", rec.Code)
	}
}

func mustTokens(t *testing.T) *Tokens {
	tk, err := NewTokens([][]byte{testKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestSessionNotRenewedPastMaxAge(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, "user")
	// Signed in 6 days 23 hours ago, last renewed 7 hours ago: still valid,
	// but a renewal may not reach past 7 days after sign-in.
	auth := time.Now().Add(-MaxSessionAge + time.Hour)
	issued := time.Now().Add(-7 * time.Hour)
	tk, _ := NewTokens([][]byte{testKey}, func() time.Time { return issued })
	tok, _ := tk.Issue(AudienceWeb, u.ID, u.TokenVersion, "sid-x", auth, auth.Add(MaxSessionAge))
	c := app.client()
	c.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: tok}
	rec := c.get("/account")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ck := setCookie(rec, SessionCookie); ck != nil {
		t.Fatalf("session renewed past its maximum age: %+v", ck)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	here, there := app.client(), app.client()
	here.login("ada@example.com", goodPassword)
	there.login("ada@example.com", goodPassword)

	rec := here.post("/account/password", url.Values{"current_password": {"wrong-password"}, "new_password": {"a-new-long-passphrase"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(testid(t, rec, "error-current_password"), "incorrect") {
		t.Fatalf("wrong current password: %d %q", rec.Code, testid(t, rec, "error-current_password"))
	}
	rec = here.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"password1"}})
	if rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "error-new_password") == "" {
		t.Fatalf("common new password accepted: %d", rec.Code)
	}
	rec = here.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"a-new-long-passphrase"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account" {
		t.Fatalf("change password: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := here.get("/account"); rec.Code != http.StatusOK || !strings.Contains(testid(t, rec, "flash"), "password has been changed") {
		t.Fatalf("this session ended by its own password change: %d", rec.Code)
	}
	if rec := there.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("other session survived the password change: %d", rec.Code)
	}
	fresh := app.client()
	fresh.login("ada@example.com", "a-new-long-passphrase")
	if rec := fresh.post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("old password still works: %d", rec.Code)
	}
	assertAudit(t, app, models.ActionPasswordChanged, 1)
}

func TestSignOutEverywhere(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	here, there := app.client(), app.client()
	here.login("ada@example.com", goodPassword)
	there.login("ada@example.com", goodPassword)
	kept := here.session()
	rec := here.post("/account/signout-all", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("signout-all: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	for name, c := range map[string]*client{"this": here, "other": there} {
		if rec := c.get("/account"); rec.Code != http.StatusSeeOther {
			t.Errorf("%s session survived sign-out-all", name)
		}
	}
	replay := app.client()
	replay.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: kept}
	if rec := replay.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatal("replayed cookie survived sign-out-all")
	}
	assertAudit(t, app, models.ActionSignoutAll, 1)
}

func TestDisabledUserSessionEnds(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	c.login("ada@example.com", goodPassword)
	if err := models.NewUsers(app.db).SetDisabled(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	if rec := c.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("disabled user's session still valid: %d", rec.Code)
	}
	rec := app.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}})
	if rec.Code != http.StatusUnauthorized || testid(t, rec, "form-error") != msgBadCredentials {
		t.Fatalf("disabled sign-in: %d %q", rec.Code, testid(t, rec, "form-error"))
	}
}

func TestCSRFRefusals(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	c.login("ada@example.com", goodPassword)

	cases := []struct {
		name string
		form url.Values
	}{
		{"missing token", url.Values{"name": {"Mallory"}}},
		{"wrong token", url.Values{"name": {"Mallory"}, "_csrf": {"forged-token"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := c.postRaw("/account", tc.form)
			if rec.Code != http.StatusForbidden || testid(t, rec, "error-page") == "" {
				t.Fatalf("status %d, want the 403 page", rec.Code)
			}
			u, _ := models.NewUsers(app.db).ByEmail(context.Background(), "ada@example.com")
			if u.Name == "Mallory" {
				t.Fatal("name changed without a CSRF token")
			}
		})
	}
	// A cross-site browser POST is refused even with a token.
	c.headers.Set("Sec-Fetch-Site", "cross-site")
	rec := c.post("/account", url.Values{"name": {"Mallory"}})
	c.headers.Del("Sec-Fetch-Site")
	if rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", rec.Code)
	}
	// Sign-in and sign-out need the token too.
	anon := app.client()
	if rec := anon.postRaw("/login", url.Values{"email": {"ada@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusForbidden || anon.session() != "" {
		t.Fatalf("login without CSRF: %d", rec.Code)
	}
	if rec := c.postRaw("/logout", url.Values{}); rec.Code != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", rec.Code)
	}
	if rec := c.get("/account"); rec.Code != http.StatusOK {
		t.Fatal("session ended by a refused logout")
	}
}

func TestCSRFTokenRotatesAtSignIn(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	before, cookieBefore := c.csrfToken(), c.jar[csrfCookie].Value
	c.login("ada@example.com", goodPassword)
	after := c.csrfToken()
	if before == after || cookieBefore == c.jar[csrfCookie].Value {
		t.Fatal("CSRF token not rotated at sign-in")
	}
	if rec := c.postRaw("/account", url.Values{"name": {"X Y"}, "_csrf": {before}}); rec.Code != http.StatusForbidden {
		t.Fatalf("pre-sign-in token still accepted: %d", rec.Code)
	}
	c.post("/logout", nil)
	if c.jar[csrfCookie] == nil || c.csrfToken() == after {
		t.Fatal("CSRF token not rotated at sign-out")
	}
}

func TestSameAnswerForUnknownEmailAndWrongPassword(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	wrong := app.client().post("/login", url.Values{"email": {"ada@example.com"}, "password": {"not-her-password"}})
	unknown := app.client().post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not-her-password"}})
	for name, rec := range map[string]int{"wrong password": wrong.Code, "unknown email": unknown.Code} {
		if rec != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, rec)
		}
	}
	if a, b := testid(t, wrong, "form-error"), testid(t, unknown, "form-error"); a != msgBadCredentials || a != b {
		t.Fatalf("messages differ: %q vs %q", a, b)
	}
	// The typed unknown email is not stored in the audit log.
	entries, _ := models.NewAudit(app.db).List(context.Background(), models.AuditFilter{Action: models.ActionSigninFailed})
	if len(entries) != 2 {
		t.Fatalf("failed sign-ins audited: %d", len(entries))
	}
	for _, e := range entries {
		if strings.Contains(e.ActorEmail+e.Target, "nobody") {
			t.Fatal("unknown email stored in the audit log")
		}
	}
}

func TestThrottleAfterFailures(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	for i := 1; i <= 5; i++ {
		rec := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-" + strconv.Itoa(i)}})
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i, rec.Code)
		}
	}
	rec := c.post("/login", url.Values{"email": {"ADA@example.com"}, "password": {goodPassword}})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		testid(t, rec, "form-error") != msgTooMany || c.session() != "" {
		t.Fatalf("6th attempt with the right password: %d retry=%q %q", rec.Code, rec.Header().Get("Retry-After"), testid(t, rec, "form-error"))
	}
	if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); ra < 800 || ra > 900 {
		t.Fatalf("Retry-After = %d, want about 15 minutes", ra)
	}
	// The same email from another client still signs in.
	other := app.client()
	other.addr = "198.51.100.7:1234"
	other.login("ada@example.com", goodPassword)

	// Unlocking clears the throttle.
	if _, err := models.NewThrottles(app.db, models.ThrottleKey(testKey)).Unlock(context.Background(), "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	c.login("ada@example.com", goodPassword)
	assertAudit(t, app, models.ActionSigninThrottled, 1)
}

func TestParallelGuessesReachBcryptAtMostLimitTimes(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	var unauthorized, throttled atomic.Int32
	parallel(20, func(i int) {
		c := app.client()
		rec := c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"guess-" + strconv.Itoa(i)}})
		switch rec.Code {
		case http.StatusUnauthorized:
			unauthorized.Add(1)
		case http.StatusTooManyRequests:
			throttled.Add(1)
		default:
			t.Errorf("unexpected status %d", rec.Code)
		}
	})
	// Every 401 is one bcrypt comparison; the audit log counts them too.
	if unauthorized.Load() != 5 || throttled.Load() != 15 {
		t.Fatalf("401s=%d 429s=%d, want 5 and 15", unauthorized.Load(), throttled.Load())
	}
	assertAudit(t, app, models.ActionSigninFailed, 5)
}

func TestIPRateLimitIgnoresSpoofedForwardedFor(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.IPRate = 3; c.Clock = frozenClock() })
	c := app.client()
	for i := 0; i < 3; i++ {
		c.headers.Set("X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
		if rec := c.post("/login", url.Values{"email": {"x" + strconv.Itoa(i) + "@example.com"}, "password": {"whatever-pass"}}); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	c.headers.Set("X-Forwarded-For", "203.0.113.99")
	rec := c.post("/signup", url.Values{"email": {"new@example.com"}, "password": {goodPassword}})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("4th attempt from one IP with a spoofed XFF: %d", rec.Code)
	}
	// Another address has its own budget; IPv6 addresses share one per /64.
	v6a, v6b := app.client(), app.client()
	v6a.addr, v6b.addr = "[2001:db8:1:2::1]:5000", "[2001:db8:1:2:ffff::9]:5000"
	for i := 0; i < 3; i++ {
		v6a.post("/login", url.Values{"email": {"y@example.com"}, "password": {"whatever-pass"}})
	}
	if rec := v6b.post("/login", url.Values{"email": {"y@example.com"}, "password": {"whatever-pass"}}); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("same /64 not limited together: %d", rec.Code)
	}
}

func TestTrustedProxyForwardedFor(t *testing.T) {
	app := newTestApp(t, func(c *Config) {
		c.IPRate = 1
		c.Clock = frozenClock()
		_, n, _ := netParseCIDR("192.0.2.0/24")
		c.TrustedProxies = append(c.TrustedProxies, n)
	})
	// Through the trusted proxy, each forwarded client has its own budget.
	for i, ip := range []string{"203.0.113.1", "203.0.113.2"} {
		c := app.client()
		c.headers.Set("X-Forwarded-For", ip)
		if rec := c.post("/login", url.Values{"email": {"z@example.com"}, "password": {"whatever-pass"}}); rec.Code != http.StatusUnauthorized {
			t.Fatalf("client %d: %d", i, rec.Code)
		}
	}
}

func TestAccountName(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, "user")
	c := app.client()
	c.login("ada@example.com", goodPassword)
	rec := c.post("/account", url.Values{"name": {"  "}})
	if rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "error-name") == "" {
		t.Fatalf("blank name: %d", rec.Code)
	}
	rec = c.post("/account", url.Values{"name": {"<script>alert(1)</script>"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("rename: %d", rec.Code)
	}
	rec = c.get("/account")
	if strings.Contains(rec.Body.String(), "<script>alert(1)") || testid(t, rec, "account-link") != "<script>alert(1)</script>" {
		t.Fatal("display name not escaped")
	}
}

func assertAudit(t *testing.T, app *testApp, action string, want int) {
	t.Helper()
	entries, err := models.NewAudit(app.db).List(context.Background(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != want {
		t.Fatalf("audit %s: %d entries, want %d", action, len(entries), want)
	}
}

func TestSignupHonoursNext(t *testing.T) {
	app := newTestApp(t)
	c := app.client()
	rec := c.get("/signup?next=%2Fevents%2Fnew")
	if v, _ := doc(t, rec).Find(`input[name="next"]`).Attr("value"); v != "/events/new" {
		t.Fatalf("hidden next %q", v)
	}
	rec = c.post("/signup", url.Values{"email": {"n@example.com"}, "password": {goodPassword}, "next": {"/events/new"}})
	if rec.Header().Get("Location") != "/events/new" {
		t.Fatalf("after sign-up: %q", rec.Header().Get("Location"))
	}
	rec = app.client().post("/signup", url.Values{"email": {"m@example.com"}, "password": {goodPassword}, "next": {"//evil.example"}})
	if rec.Header().Get("Location") != "/events" {
		t.Fatalf("unsafe next after sign-up: %q", rec.Header().Get("Location"))
	}
}
