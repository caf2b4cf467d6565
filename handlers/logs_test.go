package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/planner/planner/models"
)

// TestLogsCarryNoSecrets drives sign-up, sign-ins (good, bad and forged),
// a password change, searches and API calls through an app logging at
// debug level, and checks that no password, token, cookie, search term or
// email reaches the log, while the requests themselves are logged.
func TestLogsCarryNoSecrets(t *testing.T) {
	app, logs := newLoggedApp(t, newTestApp(t).db)
	const (
		email    = "secret-person@example.com"
		password = "hunter2-correct-horse"
		newPass  = "a-brand-new-passphrase"
		search   = "confidential-search-term"
	)
	c := app.client()
	if rec := c.post("/signup", url.Values{"email": {email}, "password": {password}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", rec.Code)
	}
	cookie := c.session()
	csrf := c.jar[csrfCookie].Value
	c.get("/events?q=" + search + "&tag=" + search)
	c.post("/account/password", url.Values{"current_password": {"wrong-" + password}, "new_password": {newPass}})
	c.post("/account/password", url.Values{"current_password": {password}, "new_password": {newPass}})

	api := app.client()
	api.api("POST", "/api/user/signin", "", url.Values{"username": {email}, "password": {"wrong-" + newPass}})
	tok := api.token(email, newPass)
	api.api("GET", "/api/event/?q="+search, tok, nil)
	api.api("POST", "/api/event/new", tok, map[string]any{"title": search})
	api.api("GET", "/api/user/me", tok+"tampered", nil)
	api.api("POST", "/api/user/signin", "", url.Values{"username": {"nobody-" + email}, "password": {password}})
	app.createUser("someone@example.com", goodPassword, models.RoleUser)

	out := logs.String()
	if !strings.Contains(out, "path=/api/user/signin") || !strings.Contains(out, "path=/events") {
		t.Fatalf("the requests were not logged:\n%s", out)
	}
	for name, secret := range map[string]string{
		"password": password, "new password": newPass, "session cookie": cookie, "CSRF token": csrf,
		"API token": tok, "search term": search, "email": email, "token signature": tok[strings.LastIndex(tok, ".")+1:],
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
