package handlers

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/models/dbtest"
	"github.com/planner/planner/models/mail"
	"github.com/planner/planner/models/mail/mailtest"
	"gorm.io/gorm"
)

// withMail runs a mail worker on the app's outbox that sends to a real
// SMTP server in the test, and returns the server.
func withMail(t *testing.T, app *testApp) *mailtest.Server {
	t.Helper()
	return withMailLog(t, app, quietLog())
}

// withMailLog is withMail with the worker logging to log.
func withMailLog(t *testing.T, app *testApp, log *slog.Logger) *mailtest.Server {
	t.Helper()
	srv := mailtest.Start(t)
	u, err := mail.ParseSMTPURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSMTP(mail.SMTPConfig{URL: u, From: "Planner <planner@planner.test>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := mail.NewWorker(models.NewOutbox(app.db), sender, log, nil)
	w.Poll = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

// linkFrom returns the one link of m to path, as a path and query on the
// test app.
func linkFrom(t *testing.T, m mailtest.Message, path string) string {
	t.Helper()
	for _, l := range m.Links() {
		u, err := url.Parse(l)
		if err == nil && u.Path == path {
			if u.Scheme+"://"+u.Host != "http://planner.test" {
				t.Fatalf("link %s not on the base URL", l)
			}
			if !strings.Contains(m.HTML, strings.ReplaceAll(l, "&", "&amp;")) {
				t.Fatalf("the HTML part lacks the link %s:\n%s", l, m.HTML)
			}
			return u.RequestURI()
		}
	}
	t.Fatalf("no %s link in mail %q:\n%s", path, m.Subject, m.Text)
	return ""
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

const newPassword = "a-brand-new-passphrase"

// TestPasswordResetByMail walks the whole reset: the forgot form, the mail
// received by a real SMTP server, its link, the new password, every
// session ended, the old password dead, the link dead after one use.
func TestPasswordResetByMail(t *testing.T) {
	app := newTestApp(t)
	srv := withMail(t, app)
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	elsewhere := app.client()
	elsewhere.login(u.Email, goodPassword)
	api := app.client()
	tok := api.token(u.Email, goodPassword)

	c := app.client()
	rec := c.post("/password/forgot", url.Values{"email": {"ADA@example.com "}})
	if rec.Code != http.StatusOK || testid(t, rec, "forgot-sent") == "" {
		t.Fatalf("forgot: %d %s", rec.Code, rec.Body.String())
	}
	msgs := srv.Wait(t, 1, 10*time.Second)
	m := msgs[0]
	if m.To[0] != u.Email || !strings.Contains(m.Subject, "Planner") || !strings.Contains(m.Text, "http://planner.test") {
		t.Fatalf("mail: %+v", m)
	}
	link := linkFrom(t, m, "/password/reset")

	rec = c.get(link)
	if rec.Code != http.StatusOK {
		t.Fatalf("reset form: %d", rec.Code)
	}
	if v, _ := doc(t, rec).Find(`input[name="token"]`).Attr("value"); v != tokenOf(t, link) {
		t.Fatalf("reset form carries token %q", v)
	}
	// The token and password are read from the body only.
	rec = c.post("/password/reset?token="+url.QueryEscape(tokenOf(t, link))+"&new_password="+newPassword, url.Values{})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("token from the query string: %d", rec.Code)
	}
	rec = c.post("/password/reset", url.Values{"token": {tokenOf(t, link)}, "new_password": {goodPassword}})
	if rec.Code != http.StatusUnprocessableEntity || testid(t, rec, "error-new_password") == "" {
		t.Fatalf("the current password again: %d", rec.Code)
	}
	rec = c.post("/password/reset", url.Values{"token": {tokenOf(t, link)}, "new_password": {newPassword}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("reset: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	// Every session ended; the old password is dead, the new one works.
	if rec := elsewhere.get("/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("another browser still signed in: %d", rec.Code)
	}
	if rec := api.api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("API token still works: %d", rec.Code)
	}
	if rec := app.client().post("/login", url.Values{"email": {u.Email}, "password": {goodPassword}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("old password: %d", rec.Code)
	}
	app.client().login(u.Email, newPassword)
	// Used once: the link is dead.
	rec = c.post("/password/reset", url.Values{"token": {tokenOf(t, link)}, "new_password": {"yet-another-passphrase"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid or has expired") {
		t.Fatalf("replayed link: %d", rec.Code)
	}
	assertAudit(t, app, models.ActionPasswordResetReq, 1)
	assertAudit(t, app, models.ActionPasswordReset, 1)
	if got, _ := models.NewUsers(app.db).ByID(context.Background(), u.ID); got.EmailVerifiedAt == nil {
		t.Error("following the reset link did not count as verifying the address")
	}
}

// TestResetTokenRefusals: a reset token replayed, expired, used after a
// password change, tampered to name another account, or of another
// purpose fails on the page and in the API, and changes nothing.
func TestResetTokenRefusals(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	app := newTestApp(t, func(c *Config) {
		c.Clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	keys := account.LinkKeys(app.cfg.SecretKeys)
	ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	bob := app.createUser("bob@example.com", goodPassword, models.RoleUser)
	c := app.client()
	reset := func(tok string) *httptest.ResponseRecorder {
		return c.api("POST", "/api/user/password/reset", "", map[string]any{"token": tok, "new_password": newPassword})
	}
	unchanged := func(u *models.User) {
		t.Helper()
		got, _ := models.NewUsers(app.db).ByID(context.Background(), u.ID)
		if got.PasswordHash != u.PasswordHash {
			t.Fatalf("%s's password changed", u.Email)
		}
	}

	// Expired: 30 minutes and one second later.
	tok := account.ResetToken(keys, ada, now)
	advance(account.ResetLinkTTL + time.Second)
	wantDetail(t, reset(tok), http.StatusBadRequest, "Invalid or expired reset token")
	unchanged(ada)

	// Tampered to name Bob: the MAC no longer matches.
	tok = account.ResetToken(keys, ada, now)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	binary.BigEndian.PutUint64(raw[1:9], uint64(bob.ID))
	wantDetail(t, reset(base64.RawURLEncoding.EncodeToString(raw)), http.StatusBadRequest, "Invalid or expired reset token")
	unchanged(bob)

	// A verification token is no reset token; garbage neither.
	wantDetail(t, reset(account.VerifyToken(keys, ada, now)), http.StatusBadRequest, "Invalid or expired reset token")
	wantDetail(t, reset("not-a-token"), http.StatusBadRequest, "Invalid or expired reset token")
	unchanged(ada)

	// Made, then the password changed on the account page: dead.
	tok = account.ResetToken(keys, ada, now)
	other := app.client()
	other.login(ada.Email, goodPassword)
	if rec := other.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"changed-the-passphrase"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("password change: %d", rec.Code)
	}
	changed, _ := models.NewUsers(app.db).ByID(context.Background(), ada.ID)
	wantDetail(t, reset(tok), http.StatusBadRequest, "Invalid or expired reset token")
	unchanged(changed)

	// Good once, then replayed: dead.
	tok = account.ResetToken(keys, changed, now)
	if rec := reset(tok); rec.Code != http.StatusOK {
		t.Fatalf("a good token: %d %s", rec.Code, rec.Body.String())
	}
	wantDetail(t, reset(tok), http.StatusBadRequest, "Invalid or expired reset token")

	// Two uses of one token at once: exactly one wins.
	fresh, _ := models.NewUsers(app.db).ByID(context.Background(), bob.ID)
	tok = account.ResetToken(keys, fresh, now)
	codes := make([]int, 4)
	parallel(4, func(i int) {
		codes[i] = app.client().api("POST", "/api/user/password/reset", "", map[string]any{"token": tok, "new_password": newPassword}).Code
	})
	ok := 0
	for _, code := range codes {
		if code == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("concurrent uses of one token: %v, want exactly one 200", codes)
	}
}

// TestForgotAnswerIdentical: the forgot-password answer for an unknown
// and a known email is the same status, body and headers (apart from the
// request id), on the page and in the API; and an address gets at most
// MailCap reset mails an hour, with the same answer beyond.
func TestForgotAnswerIdentical(t *testing.T) {
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.get("/password/forgot")
	strip := func(rec *httptest.ResponseRecorder) (int, string, http.Header) {
		h := rec.Header().Clone()
		h.Del(echoRequestID)
		return rec.Code, rec.Body.String(), h
	}
	same := func(what string, a, b *httptest.ResponseRecorder) {
		t.Helper()
		ac, ab, ah := strip(a)
		bc, bb, bh := strip(b)
		if ac != bc || ab != bb {
			t.Fatalf("%s: known %d, unknown %d; bodies equal: %v", what, ac, bc, ab == bb)
		}
		if len(ah) != len(bh) {
			t.Fatalf("%s: headers differ:\n%v\n%v", what, ah, bh)
		}
		for k := range ah {
			if strings.Join(ah[k], ",") != strings.Join(bh[k], ",") {
				t.Fatalf("%s: header %s differs: %q vs %q", what, k, ah[k], bh[k])
			}
		}
	}
	known := c.post("/password/forgot", url.Values{"email": {"ada@example.com"}})
	unknown := c.post("/password/forgot", url.Values{"email": {"nobody@example.com"}})
	if known.Code != http.StatusOK {
		t.Fatalf("forgot: %d", known.Code)
	}
	same("page", known, unknown)
	known = c.api("POST", "/api/user/password/forgot", "", map[string]any{"email": "ada@example.com"})
	unknown = c.api("POST", "/api/user/password/forgot", "", map[string]any{"email": "nobody@example.com"})
	if known.Code != http.StatusAccepted {
		t.Fatalf("API forgot: %d", known.Code)
	}
	same("API", known, unknown)

	// Two mails so far; one more is queued, then the cap holds, with the
	// same answer.
	for i := 0; i < 3; i++ {
		if rec := c.post("/password/forgot", url.Values{"email": {"ada@example.com"}}); rec.Code != http.StatusOK {
			t.Fatalf("forgot %d: %d", i, rec.Code)
		}
	}
	var n int64
	app.db.Model(&models.OutboxMail{}).Where("to_addr = ?", "ada@example.com").Count(&n)
	if n != account.MailCap {
		t.Fatalf("%d reset mails queued for one address, want the cap %d", n, account.MailCap)
	}
	app.db.Model(&models.OutboxMail{}).Where("to_addr = ?", "nobody@example.com").Count(&n)
	if n != 0 {
		t.Fatal("a mail was queued for an unknown address")
	}
	// The audit stores typed addresses only when they are an account's.
	entries, _ := models.NewAudit(app.db).List(context.Background(), models.AuditFilter{Action: models.ActionPasswordResetReq})
	for _, e := range entries {
		if strings.Contains(e.Target+e.ActorEmail, "nobody") {
			t.Fatalf("audit stored an unknown address: %+v", e)
		}
	}
}

// TestVerificationByMail: sign-up mails a link; until it is followed the
// pages show a notice with a resend button (capped) and the API says
// email_verified false; the link's GET only shows a button, its POST
// verifies.
func TestVerificationByMail(t *testing.T) {
	app := newTestApp(t)
	srv := withMail(t, app)
	c := app.client()
	if rec := c.post("/signup", url.Values{"email": {"eve@example.com"}, "password": {goodPassword}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("signup: %d", rec.Code)
	}
	m := srv.Wait(t, 1, 10*time.Second)[0]
	link := linkFrom(t, m, "/account/verify")
	if rec := c.get("/events"); testid(t, rec, "unverified") == "" {
		t.Fatal("no unverified notice")
	}
	tok := c.token("eve@example.com", goodPassword)
	if rec := c.api("GET", "/api/user/me", tok, nil); !strings.Contains(rec.Body.String(), `"email_verified":false`) {
		t.Fatalf("me: %s", rec.Body.String())
	}
	// Resend, up to the cap (the sign-up's mail counts).
	for i := 0; i < account.MailCap; i++ {
		rec := c.post("/account/verify/resend", nil)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("resend %d: %d", i, rec.Code)
		}
		flash := testid(t, c.get("/account"), "flash")
		wantLimit := i >= account.MailCap-1
		if strings.Contains(flash, "several") != wantLimit {
			t.Fatalf("resend %d: flash %q", i, flash)
		}
	}
	srv.Wait(t, account.MailCap, 10*time.Second)
	// The GET changes nothing; the POST verifies.
	rec := c.get(link)
	if rec.Code != http.StatusOK {
		t.Fatalf("verify page: %d", rec.Code)
	}
	if got, _ := models.NewUsers(app.db).ByEmail(context.Background(), "eve@example.com"); got.EmailVerifiedAt != nil {
		t.Fatal("a GET verified the address")
	}
	if rec := c.post("/account/verify", url.Values{"token": {tokenOf(t, link)}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("verify: %d", rec.Code)
	}
	if rec := c.get("/events"); testid(t, rec, "unverified") != "" {
		t.Fatal("notice still shown")
	}
	if rec := c.api("GET", "/api/user/me", tok, nil); !strings.Contains(rec.Body.String(), `"email_verified":true`) {
		t.Fatalf("me: %s", rec.Body.String())
	}
	assertAudit(t, app, models.ActionEmailVerified, 1)
	if rec := c.post("/account/verify", url.Values{"token": {"forged"}}); rec.Code != http.StatusBadRequest {
		t.Fatalf("a forged token: %d", rec.Code)
	}
}

// TestRequireVerified: with PLANNER_REQUIRE_VERIFIED, an unverified user
// may not create events (a clear 403 page; 403 JSON in the API) until the
// address is verified.
func TestRequireVerified(t *testing.T) {
	app := newTestApp(t, func(c *Config) { c.RequireVerified = true })
	u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.login(u.Email, goodPassword)
	tok := c.token(u.Email, goodPassword)
	rec := c.get("/events/new")
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "confirm your email address") {
		t.Fatalf("new event page: %d %.300s", rec.Code, rec.Body.String())
	}
	if rec := c.post("/events", eventForm("Launch")); rec.Code != http.StatusForbidden {
		t.Fatalf("create on the page: %d", rec.Code)
	}
	wantDetail(t, c.api("POST", "/api/event/new", tok, map[string]any{"title": "Launch"}), http.StatusForbidden, msgVerifyFirstAPI)
	if n := countEvents(t, app.db); n != 0 {
		t.Fatalf("%d events created", n)
	}
	if _, err := models.NewUsers(app.db).MarkEmailVerified(context.Background(), u.ID, u.Email, time.Now()); err != nil {
		t.Fatal(err)
	}
	if rec := c.get("/events/new"); rec.Code != http.StatusOK {
		t.Fatalf("verified: %d", rec.Code)
	}
	if rec := c.api("POST", "/api/event/new", tok, map[string]any{"title": "Launch"}); rec.Code != http.StatusOK {
		t.Fatalf("verified, API: %d", rec.Code)
	}
}

const echoRequestID = "X-Request-Id"

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestLogsCarryNoLinkTokens: the reset and verification flows (pages and
// API, the mail worker included) log no token and no address, at debug
// level.
func TestLogsCarryNoLinkTokens(t *testing.T) {
	app, logs := newLoggedApp(t, newTestApp(t).db)
	srv := withMailLog(t, app, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	const email = "secret-person@example.com"
	c := app.client()
	if rec := c.post("/signup", url.Values{"email": {email}, "password": {goodPassword}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", rec.Code)
	}
	c.post("/password/forgot", url.Values{"email": {email}})
	c.api("POST", "/api/user/password/forgot", "", map[string]any{"email": email})
	msgs := srv.Wait(t, 3, 10*time.Second)
	var tokens []string
	for _, m := range msgs {
		for _, l := range m.Links() {
			if tok := tokenOf(t, l); tok != "" {
				tokens = append(tokens, tok)
				u, _ := url.Parse(l)
				c.get(u.RequestURI())
			}
		}
	}
	c.post("/account/verify", url.Values{"token": {tokens[0]}})
	c.api("POST", "/api/user/password/reset", "", map[string]any{"token": tokens[1], "new_password": newPassword})
	out := logs.String()
	if !strings.Contains(out, "path=/password/reset") || !strings.Contains(out, "mail sent") {
		t.Fatalf("the requests and mails were not logged:\n%s", out)
	}
	for _, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Errorf("the log contains a link token")
		}
	}
	if strings.Contains(out, email) || strings.Contains(out, newPassword) {
		t.Errorf("the log contains the address or the password")
	}
}

// TestForgotTakesTheSameTime: the known and the unknown address do the
// same work, so neither answer is markedly slower (medians of interleaved
// runs; the bound is loose, to catch a different kind of work such as a
// hash or a mail server call, not noise).
func TestForgotTakesTheSameTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	app := newTestApp(t)
	app.createUser("ada@example.com", goodPassword, models.RoleUser)
	c := app.client()
	c.get("/password/forgot")
	// Known addresses stay under the mail cap: a fresh one each time.
	for i := 0; i < 30; i++ {
		app.createUser(fmt.Sprintf("known-%d@example.com", i), goodPassword, models.RoleUser)
	}
	var known, unknown []time.Duration
	for i := 0; i < 30; i++ {
		for _, email := range []string{fmt.Sprintf("known-%d@example.com", i), fmt.Sprintf("unknown-%d@example.com", i)} {
			start := time.Now()
			if rec := c.post("/password/forgot", url.Values{"email": {email}}); rec.Code != http.StatusOK {
				t.Fatalf("forgot: %d", rec.Code)
			}
			if strings.HasPrefix(email, "known") {
				known = append(known, time.Since(start))
			} else {
				unknown = append(unknown, time.Since(start))
			}
		}
	}
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	k, u := median(known), median(unknown)
	if k > 4*u || u > 4*k {
		t.Fatalf("median forgot-password time: known %v, unknown %v", k, u)
	}
	t.Logf("median: known %v, unknown %v", k, u)
}

// TestHostileRecoveryInput: NUL bytes, invalid UTF-8, huge values and
// wrong types on the new routes are refused cleanly (never a 500), on
// both databases.
func TestHostileRecoveryInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		app := newTestAppOn(t, db)
		u := app.createUser("ada@example.com", goodPassword, models.RoleUser)
		c := app.client()
		tok := c.token(u.Email, goodPassword)
		for _, email := range []string{"ada\x00@example.com", "ad\xffa@example.com", strings.Repeat("a", 5000) + "@example.com", ""} {
			if rec := c.post("/password/forgot", url.Values{"email": {email}}); rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("page forgot %q: %d", email[:min(len(email), 20)], rec.Code)
			}
			if rec := c.api("POST", "/api/user/password/forgot", "", map[string]any{"email": email}); rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("API forgot %q: %d", email[:min(len(email), 20)], rec.Code)
			}
		}
		for _, bad := range []string{"\x00", "\xff\xfe", strings.Repeat("A", 10000), "A%00B", ""} {
			if rec := c.post("/password/reset", url.Values{"token": {bad}, "new_password": {newPassword}}); rec.Code != http.StatusBadRequest {
				t.Errorf("page reset: %d", rec.Code)
			}
			if rec := c.api("POST", "/api/user/password/reset", "", map[string]any{"token": bad, "new_password": newPassword}); rec.Code != http.StatusBadRequest {
				t.Errorf("API reset: %d", rec.Code)
			}
			if rec := c.post("/account/verify", url.Values{"token": {bad}}); rec.Code != http.StatusBadRequest {
				t.Errorf("verify: %d", rec.Code)
			}
		}
		for _, body := range []string{`{"email": 5}`, `{"token": [], "new_password": {}}`, `[]`} {
			for _, path := range []string{"/api/user/password/forgot", "/api/user/password/reset"} {
				if rec := c.api("POST", path, "", body); rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusBadRequest {
					t.Errorf("%s %s: %d", path, body, rec.Code)
				}
			}
		}
		for _, id := range []string{"0", "-1", "99999999999999999999", "1e3", "%00"} {
			if rec := c.api("DELETE", "/api/user/sessions/"+id, tok, nil); rec.Code != http.StatusNotFound {
				t.Errorf("DELETE session %q: %d", id, rec.Code)
			}
		}
	})
}
