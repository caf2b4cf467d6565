package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/models/dbtest"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// enableTOTP turns TOTP on for u directly through the accounts service, at
// time now, and returns the secret and the recovery codes.
func enableTOTP(t testing.TB, db *gorm.DB, u *models.User, now time.Time) (string, []string) {
	t.Helper()
	svc, err := account.New(db, account.Config{BcryptCost: 4, HashSlots: 1, LoginLimit: 5,
		ThrottleKey: models.ThrottleKey(testKey), MFAKeys: account.MFAKeys([][]byte{testKey}),
		Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e, err := svc.BeginTOTP(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := svc.ConfirmTOTP(context.Background(), u, totpAt(t, e.Secret, now, 0), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	return e.Secret, codes
}

// totpAt is the code of secret at now plus steps time steps.
func totpAt(t testing.TB, secret string, now time.Time, steps int) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, now.Add(time.Duration(steps)*account.TOTPPeriod))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClockApp(t *testing.T, db *gorm.DB, edit ...func(*Config)) (*testApp, *testClock) {
	clock := &testClock{now: time.Now().Truncate(time.Second)}
	return newTestAppOn(t, db, append([]func(*Config){func(c *Config) { c.Clock = clock.Now }}, edit...)...), clock
}

// passwordStep posts the sign-in form of a user with a second factor and
// checks it leads to /login/mfa with a state and no session.
func passwordStep(t *testing.T, c *client, email string) {
	t.Helper()
	rec := c.post("/login", url.Values{"email": {email}, "password": {goodPassword}})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login/mfa") {
		t.Fatalf("password step: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if c.session() != "" || c.jar[mfaCookie] == nil {
		t.Fatalf("after the password step: session %q, state %v", c.session(), c.jar[mfaCookie])
	}
}

func codeStep(c *client, code string) int {
	return c.post("/login/mfa", url.Values{"code": {code}}).Code
}

func TestTOTPEndToEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, clock := newClockApp(t, db)
		u := app.createUser("totp@example.com", goodPassword, models.RoleUser)
		c := app.client()
		c.login(u.Email, goodPassword)

		// Enrol: the page shows the QR code and the secret; the test
		// computes the code from the secret shown, as an app would.
		if rec := c.post("/account/mfa/setup", nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("setup: %d", rec.Code)
		}
		rec := c.get("/account/mfa")
		secret := testid(t, rec, "mfa-secret")
		if d, _ := doc(t, rec).Find(`[data-testid="mfa-qr"] path`).Attr("d"); secret == "" || !strings.HasPrefix(d, "M") {
			t.Fatalf("set-up page without secret or QR code: %q %q", secret, d)
		}
		if rec := c.post("/account/mfa/confirm", url.Values{"code": {"000000"}}); rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("wrong confirmation code: %d", rec.Code)
		}
		rec = c.post("/account/mfa/confirm", url.Values{"code": {totpAt(t, secret, clock.Now(), 0)}})
		if rec.Code != http.StatusOK {
			t.Fatalf("confirm: %d %s", rec.Code, rec.Body.String())
		}
		var codes []string
		doc(t, rec).Find(`[data-testid="recovery-code"]`).Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes shown", len(codes))
		}
		if rec := c.get("/account/mfa"); doc(t, rec).Find(`[data-testid="recovery-code"]`).Length() != 0 {
			t.Fatal("recovery codes shown a second time")
		}
		var stored []models.RecoveryCode
		if err := db.Where("user_id = ?", u.ID).Find(&stored).Error; err != nil || len(stored) != 10 {
			t.Fatalf("stored codes: %d, %v", len(stored), err)
		}
		for _, s := range stored {
			for _, code := range codes {
				if strings.Contains(s.CodeHash, strings.ReplaceAll(code, "-", "")) {
					t.Fatal("a recovery code is stored in the clear")
				}
			}
		}
		if got := userState2(t, db, u.ID); strings.Contains(got.TOTPSecret, secret) {
			t.Fatal("the TOTP secret is stored in the clear")
		}
		assertAudit(t, app, models.ActionMFAEnabled, 1)

		// Sign in again: password, then a code. The confirming code (same
		// step) is a replay; the next step's code works once.
		b := app.client()
		passwordStep(t, b, u.Email)
		if code := codeStep(b, totpAt(t, secret, clock.Now(), 0)); code != http.StatusUnauthorized {
			t.Fatalf("replayed confirmation code: %d", code)
		}
		clock.Add(account.TOTPPeriod)
		next := totpAt(t, secret, clock.Now(), 0)
		if code := codeStep(b, next); code != http.StatusSeeOther || b.session() == "" {
			t.Fatalf("right code: %d, session %q", code, b.session())
		}
		if b.jar[mfaCookie] != nil {
			t.Fatal("the state outlived the sign-in")
		}
		if rec := b.get("/account"); rec.Code != http.StatusOK {
			t.Fatalf("after sign-in /account: %d", rec.Code)
		}
		d := app.client()
		passwordStep(t, d, u.Email)
		if code := codeStep(d, next); code != http.StatusUnauthorized {
			t.Fatalf("code accepted twice: %d", code)
		}

		// ±1 step accepted, ±2 refused.
		clock.Add(10 * account.TOTPPeriod)
		for _, steps := range []int{-2, 2} {
			if code := codeStep(d, totpAt(t, secret, clock.Now(), steps)); code != http.StatusUnauthorized {
				t.Fatalf("code %+d steps away: %d", steps, code)
			}
		}
		if code := codeStep(d, totpAt(t, secret, clock.Now(), -1)); code != http.StatusSeeOther {
			t.Fatalf("code one step behind: %d", code)
		}
		clock.Add(10 * account.TOTPPeriod)
		e := app.client()
		passwordStep(t, e, u.Email)
		if code := codeStep(e, totpAt(t, secret, clock.Now(), 1)); code != http.StatusSeeOther {
			t.Fatalf("code one step ahead: %d", code)
		}

		// Recovery codes: each once.
		r := app.client()
		passwordStep(t, r, u.Email)
		if code := codeStep(r, strings.ToUpper(codes[0])); code != http.StatusSeeOther {
			t.Fatalf("recovery code: %d", code)
		}
		r2 := app.client()
		passwordStep(t, r2, u.Email)
		if code := codeStep(r2, codes[0]); code != http.StatusUnauthorized {
			t.Fatalf("recovery code used twice: %d", code)
		}
		assertAudit(t, app, models.ActionRecoveryCodeUsed, 1)
		if rec := r.get("/account/mfa"); testid(t, rec, "recovery-left") != "9" {
			t.Fatalf("recovery codes left: %q", testid(t, rec, "recovery-left"))
		}

		// The API: mfa_required, then the mfa-otp grant.
		a := app.client()
		rec = a.api("POST", "/api/user/signin", "", url.Values{"username": {u.Email}, "password": {goodPassword}})
		var body struct {
			Error       string `json:"error"`
			MFAToken    string `json:"mfa_token"`
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusUnauthorized ||
			body.Error != "mfa_required" || body.MFAToken == "" || rec.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("password grant of an MFA user: %d %s (%v)", rec.Code, rec.Body.String(), err)
		}
		if rec := a.api("GET", "/api/user/me", body.MFAToken, nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("mfa_token as a bearer token: %d", rec.Code)
		}
		grant := func(otp string) *httptestRecorder {
			return a.api("POST", "/api/user/signin", "", url.Values{"grant_type": {GrantMFAOTP}, "mfa_token": {body.MFAToken}, "otp": {otp}})
		}
		if rec := grant("000000"); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "invalid_grant") {
			t.Fatalf("wrong otp: %d %s", rec.Code, rec.Body.String())
		}
		clock.Add(2 * account.TOTPPeriod) // the last code accepted was one step ahead
		rec = grant(totpAt(t, secret, clock.Now(), 0))
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK || body.AccessToken == "" {
			t.Fatalf("mfa-otp grant: %d %s", rec.Code, rec.Body.String())
		}
		if rec := a.api("GET", "/api/user/me", body.AccessToken, nil); rec.Code != http.StatusOK {
			t.Fatalf("token of the mfa-otp grant: %d", rec.Code)
		}

		// Turn it off with the password.
		if rec := c.post("/account/mfa/disable", url.Values{"password": {"wrong-password-x"}}); rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("disable with a wrong password: %d", rec.Code)
		}
		if rec := c.post("/account/mfa/disable", url.Values{"password": {goodPassword}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", rec.Code, rec.Body.String())
		}
		if got := userState2(t, db, u.ID); got.HasMFA() || got.TOTPSecret != "" {
			t.Fatal("still on after disable")
		}
		assertAudit(t, app, models.ActionMFADisabled, 1)
		app.client().login(u.Email, goodPassword)
	})
}

type httptestRecorder = httptest.ResponseRecorder

func userState2(t testing.TB, db *gorm.DB, id uint) *models.User {
	t.Helper()
	u, err := models.NewUsers(db).ByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Wrong codes count toward the sign-in throttle, and a right password does
// not reset it for a user with a second factor.
func TestWrongCodesAreThrottled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, clock := newClockApp(t, db)
		u := app.createUser("throttled-mfa@example.com", goodPassword, models.RoleUser)
		secret, _ := enableTOTP(t, db, u, clock.Now())
		clock.Add(account.TOTPPeriod)
		c := app.client()
		got := 0
		for i := 0; i < 2*app.cfg.LoginLimit && got != http.StatusTooManyRequests; i++ {
			if i%2 == 0 {
				passwordStep(t, c, u.Email)
			}
			got = codeStep(c, "000000")
		}
		if got != http.StatusTooManyRequests {
			t.Fatalf("wrong codes never throttled: %d", got)
		}
		if code := codeStep(c, totpAt(t, secret, clock.Now(), 0)); code != http.StatusTooManyRequests {
			t.Fatalf("right code while throttled: %d", code)
		}
		entries, err := models.NewAudit(db).List(context.Background(), models.AuditFilter{Action: models.ActionMFAFailed, Limit: 50})
		if err != nil || len(entries) == 0 {
			t.Fatalf("no mfa_failed entries: %v", err)
		}
		// The API's grant counts toward the same throttle.
		rec := c.api("POST", "/api/user/signin", "", url.Values{"username": {u.Email}, "password": {goodPassword}})
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("API password grant while throttled: %d", rec.Code)
		}
	})
}

// The MFA state is a token of its own audience: never a session cookie,
// never a bearer token; and a forged or expired one is refused.
func TestMFAStateIsNoSession(t *testing.T) {
	app, clock := newClockApp(t, dbtest.SQLite(t))
	u := app.createUser("state@example.com", goodPassword, models.RoleUser)
	enableTOTP(t, app.db, u, clock.Now())
	c := app.client()
	passwordStep(t, c, u.Email)
	state := c.jar[mfaCookie].Value
	if _, err := mustTokens(t).Parse(AudienceWeb, state); err == nil {
		t.Fatal("the state parses as a session")
	}
	if _, err := mustTokens(t).Parse(AudienceAPI, state); err == nil {
		t.Fatal("the state parses as an API token")
	}
	s := app.client()
	s.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: state}
	if rec := s.get("/account"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Fatalf("state as a session cookie: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := s.api("GET", "/api/user/me", state, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("state as a bearer token: %d", rec.Code)
	}
	// A session is no state either.
	other := app.createUser("plain@example.com", goodPassword, models.RoleUser)
	p := app.client()
	p.login(other.Email, goodPassword)
	p.jar[mfaCookie] = &http.Cookie{Name: mfaCookie, Value: p.session()}
	if rec := p.post("/login/mfa", url.Values{"code": {"123456"}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("session as the state: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// The state expires.
	clock.Add(MFAStateTTL + time.Minute)
	if rec := c.get("/login/mfa"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("expired state: %d", rec.Code)
	}
}

// Security settings and the admin area need a sign-in from the last 15
// minutes; /login/confirm gives one and returns to the page.
func TestStepUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, clock := newClockApp(t, db)
		admin := app.createUser("stepup-admin@example.com", goodPassword, models.RoleAdmin)
		c := app.client()
		c.login(admin.Email, goodPassword)
		if rec := c.get("/admin"); rec.Code != http.StatusOK {
			t.Fatalf("fresh admin: %d", rec.Code)
		}
		clock.Add(StepUpAge + time.Minute)
		for _, path := range []string{"/admin", "/account/mfa", "/account/sessions"} {
			rec := c.get(path)
			if want := "/login/confirm?next=" + url.QueryEscape(path); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
				t.Fatalf("%s after 16 minutes: %d %q", path, rec.Code, rec.Header().Get("Location"))
			}
		}
		if rec := c.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"another-long-pass"}}); rec.Code != http.StatusSeeOther ||
			!strings.HasPrefix(rec.Header().Get("Location"), "/login/confirm") {
			t.Fatalf("password change after 16 minutes: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if rec := c.get("/account"); rec.Code != http.StatusOK {
			t.Fatalf("plain account page: %d", rec.Code)
		}
		if rec := c.post("/login/confirm", url.Values{"password": {"not-the-password"}, "next": {"/admin"}}); rec.Code != http.StatusUnauthorized {
			t.Fatalf("confirm with a wrong password: %d", rec.Code)
		}
		rec := c.post("/login/confirm", url.Values{"password": {goodPassword}, "next": {"/admin"}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin" {
			t.Fatalf("confirm: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		if rec := c.get("/admin"); rec.Code != http.StatusOK {
			t.Fatalf("after confirming: %d", rec.Code)
		}

		// With a second factor, confirming needs a code too.
		secret, _ := enableTOTP(t, db, admin, clock.Now())
		clock.Add(StepUpAge + time.Minute)
		if rec := c.post("/login/confirm", url.Values{"password": {goodPassword}, "next": {"/admin"}}); rec.Code != http.StatusUnauthorized {
			t.Fatalf("confirm without a code: %d", rec.Code)
		}
		rec = c.post("/login/confirm", url.Values{"password": {goodPassword}, "code": {totpAt(t, secret, clock.Now(), 0)}, "next": {"/admin"}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("confirm with a code: %d %s", rec.Code, rec.Body.String())
		}
		if rec := c.get("/admin"); rec.Code != http.StatusOK {
			t.Fatalf("after confirming with a code: %d", rec.Code)
		}
	})
}

// PLANNER_ADMIN_MFA=required sends admins without a second factor to set
// one up; the admin's reset of a user's factor is audited and ends the
// user's sessions.
func TestAdminMFA(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, clock := newClockApp(t, db, func(c *Config) { c.AdminMFARequired = true })
		admin := app.createUser("must-enrol@example.com", goodPassword, models.RoleAdmin)
		c := app.client()
		c.login(admin.Email, goodPassword)
		if rec := c.get("/admin"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/mfa" {
			t.Fatalf("admin without MFA: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		secret, _ := enableTOTP(t, db, admin, clock.Now())
		clock.Add(account.TOTPPeriod)
		c = app.client()
		passwordStep(t, c, admin.Email)
		if code := codeStep(c, totpAt(t, secret, clock.Now(), 0)); code != http.StatusSeeOther {
			t.Fatalf("admin code: %d", code)
		}
		if rec := c.get("/admin"); rec.Code != http.StatusOK {
			t.Fatalf("admin with MFA: %d", rec.Code)
		}

		user := app.createUser("lost-phone@example.com", goodPassword, models.RoleUser)
		usecret, _ := enableTOTP(t, db, user, clock.Now())
		clock.Add(account.TOTPPeriod)
		uc := app.client()
		passwordStep(t, uc, user.Email)
		if code := codeStep(uc, totpAt(t, usecret, clock.Now(), 0)); code != http.StatusSeeOther {
			t.Fatalf("user code: %d", code)
		}
		rec := c.get("/admin/users")
		if doc(t, rec).Find(`[data-testid="mfa-on"]`).Length() != 2 {
			t.Fatalf("admin list does not show both factors: %.2000s", rec.Body.String())
		}
		if rec := c.post("/admin/users/"+idString(user.ID)+"/mfa/reset", nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("reset: %d", rec.Code)
		}
		if got := userState2(t, db, user.ID); got.HasMFA() {
			t.Fatal("still on after the reset")
		}
		if rec := uc.get("/account"); rec.Code != http.StatusSeeOther {
			t.Fatalf("the user's session outlived the reset: %d", rec.Code)
		}
		entries, err := models.NewAudit(db).List(context.Background(), models.AuditFilter{Action: models.ActionMFADisabled, Limit: 5})
		if err != nil || len(entries) != 1 || entries[0].ActorEmail != admin.Email || entries[0].Target != user.Email {
			t.Fatalf("reset audit: %+v %v", entries, err)
		}
		app.client().login(user.Email, goodPassword)
	})
}

// A code is accepted once even when many sign-ins send it at the same
// moment: the step is used up by one conditional UPDATE.
func TestTOTPCodeOnceUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, clock := newClockApp(t, db, func(c *Config) { c.LoginLimit = 100 })
		u := app.createUser("race-mfa@example.com", goodPassword, models.RoleUser)
		secret, _ := enableTOTP(t, db, u, clock.Now())
		clock.Add(account.TOTPPeriod)
		code := totpAt(t, secret, clock.Now(), 0)
		const n = 8
		clients := make([]*client, n)
		tokens := make([]string, n)
		for i := range clients {
			clients[i] = app.client()
			passwordStep(t, clients[i], u.Email)
			tokens[i] = clients[i].csrfToken()
		}
		codes := make([]int, n)
		parallel(n, func(i int) {
			codes[i] = clients[i].postRaw("/login/mfa", url.Values{"code": {code}, "_csrf": {tokens[i]}}).Code
		})
		ok := 0
		for _, c := range codes {
			switch c {
			case http.StatusSeeOther:
				ok++
			case http.StatusUnauthorized:
			default:
				t.Fatalf("unexpected status %d in %v", c, codes)
			}
		}
		if ok != 1 {
			t.Fatalf("the same code signed in %d times: %v", ok, codes)
		}
	})
}

// Garbage where a WebAuthn answer or a code belongs is a refusal, never a
// 500, on both databases.
func TestHostileTwoFactorInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app, clock := newClockApp(t, db, func(c *Config) { c.LoginLimit = 100 })
		u := app.createUser("hostile-mfa@example.com", goodPassword, models.RoleUser)
		enableTOTP(t, db, u, clock.Now())
		bodies := []string{"", "{", "null", `{"credential": {}}`, `{"credential": "x"}`, `{"credential": {"id": "\u0000", "response": 7}}`,
			`{"credential": {"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"AA","authenticatorData":"AA","signature":"AA","userHandle":"AA"}}}`,
			`{"name": "` + strings.Repeat("\xff", 5000) + `", "credential": {"id":"AA"}}`, strings.Repeat("[", 100000)}
		jsonPost := func(c *client, path, body string) int {
			t.Helper()
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", c.csrfToken())
			return c.do(req).Code
		}
		anon := app.client()
		for _, b := range bodies {
			if code := jsonPost(anon, "/login/passkey/options", "{}"); code != http.StatusOK {
				t.Fatalf("options: %d", code)
			}
			if code := jsonPost(anon, "/login/passkey", b); code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
				t.Fatalf("passkey sign-in with %.40q: %d", b, code)
			}
		}
		signed := app.client()
		signed.login(app.createUser("hostile-keys@example.com", goodPassword, models.RoleUser).Email, goodPassword)
		for _, b := range bodies {
			if code := jsonPost(signed, "/account/passkeys/options", "{}"); code != http.StatusOK {
				t.Fatalf("register options: %d", code)
			}
			if code := jsonPost(signed, "/account/passkeys", b); code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
				t.Fatalf("passkey registration with %.40q: %d", b, code)
			}
		}
		// Without a ceremony cookie, or with one of the other ceremony.
		if code := jsonPost(signed, "/account/passkeys", bodies[6]); code != http.StatusBadRequest {
			t.Fatalf("registration without a ceremony: %d", code)
		}
		jsonPost(anon, "/login/passkey/options", "{}")
		signed.jar[ceremonyCookie] = anon.jar[ceremonyCookie]
		if code := jsonPost(signed, "/account/passkeys", bodies[6]); code != http.StatusBadRequest {
			t.Fatalf("registration with a sign-in ceremony: %d", code)
		}
		c := app.client()
		for _, code := range []string{"\x00\x00\x00\x00\x00\x00", strings.Repeat("9", 10000), "\xff\xfe\xfd\xfc\xfb\xfa", "'; DROP TABLE users; --"} {
			passwordStep(t, c, u.Email)
			if got := codeStep(c, code); got != http.StatusUnauthorized {
				t.Fatalf("code %.20q: %d", code, got)
			}
		}
		rec := c.api("POST", "/api/user/signin", "", url.Values{"grant_type": {GrantMFAOTP}, "mfa_token": {strings.Repeat("x.", 5000)}, "otp": {"\x00"}})
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("garbage mfa_token: %d", rec.Code)
		}
	})
}
