package handlers

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// serveAtLocalhost runs an app whose PLANNER_BASE_URL is the loopback
// address it listens on, as http://localhost:<port>: WebAuthn needs the RP
// ID to be a domain (not an IP) and the page a secure context, which
// localhost is.
func serveAtLocalhost(t *testing.T, db *gorm.DB, edit ...func(*Config)) (*testApp, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	app := newTestAppOn(t, db, append([]func(*Config){func(c *Config) { c.BaseURL, _ = url.Parse(base) }}, edit...)...)
	srv := httptest.NewUnstartedServer(app.e)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return app, base
}

// TestBrowserPasskeys registers a passkey in real Chromium through the
// DevTools virtual authenticator (CTAP2, internal, with user
// verification), signs in with it and no password, and shows that a
// passkey of one user cannot sign in as another.
func TestBrowserPasskeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		clock := &testClock{now: time.Now()}
		app, base := serveAtLocalhost(t, db, func(c *Config) { c.Clock = clock.Now })
		ada := app.createUser("ada@example.com", goodPassword, models.RoleUser)
		bob := app.createUser("bob@example.com", goodPassword, models.RoleUser)
		ctx := browser(t)
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			t.Fatalf("WebAuthn.enable: %v", err)
		}
		auth, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
				Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true,
				HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		if err != nil {
			t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
		}
		step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, actions...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		location := func() string {
			t.Helper()
			u, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimPrefix(u, base)
		}
		signIn := func(u *models.User) {
			t.Helper()
			step("sign in "+u.Email,
				chromedp.Navigate(base+"/login"),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), u.Email),
				chromedp.SendKeys(chromedp.ID("password"), goodPassword),
				chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="logout"]`)),
			)
		}
		signOut := func() {
			t.Helper()
			step("sign out", chromedp.Click(chromedp.CSS(`[data-testid="logout"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-link"]`)))
		}
		register := func(u *models.User, name string) {
			t.Helper()
			signIn(u)
			step("add a passkey for "+u.Email,
				chromedp.Navigate(base+"/account/passkeys"),
				chromedp.WaitEnabled(chromedp.CSS(`[data-testid="passkey-add"]`)),
				chromedp.SendKeys(chromedp.ID("name"), name),
				chromedp.Click(chromedp.CSS(`[data-testid="passkey-add"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="passkey-name"]`)),
			)
			got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="passkey-name"]`)))
			if err != nil || strings.TrimSpace(got) != name {
				t.Fatalf("passkey listed as %q (%v)", got, err)
			}
			signOut()
		}

		register(ada, "Ada's laptop")
		var keys []models.Passkey
		if err := db.Order("id").Find(&keys).Error; err != nil || len(keys) != 1 || keys[0].UserID != ada.ID {
			t.Fatalf("stored passkeys: %+v (%v)", keys, err)
		}
		assertAudit(t, app, models.ActionPasskeyAdded, 1)

		// Sign in with the passkey: no email, no password.
		step("sign in with the passkey",
			chromedp.Navigate(base+"/login?next=%2Faccount"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="passkey-login"]`)),
			chromedp.Click(chromedp.CSS(`[data-testid="passkey-login"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="account-email"]`)),
		)
		if loc := location(); loc != "/account" {
			t.Fatalf("after the passkey sign-in at %q", loc)
		}
		email, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="account-email"]`)))
		if err != nil || email != ada.Email {
			t.Fatalf("signed in as %q (%v)", email, err)
		}
		if u := userState2(t, db, ada.ID); u.LastSignInAt == nil {
			t.Fatal("the passkey sign-in was not recorded")
		}
		// Fifteen minutes later a security setting asks again; the passkey
		// confirms it is Ada and returns to the page.
		clock.Add(StepUpAge + time.Minute)
		step("step-up with the passkey",
			chromedp.Navigate(base+"/account/sessions"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="passkey-login"]`)),
			chromedp.Click(chromedp.CSS(`[data-testid="passkey-login"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="this-device"]`)),
		)
		if loc := location(); loc != "/account/sessions" {
			t.Fatalf("after the step-up at %q", loc)
		}
		signOut()

		register(bob, "Bob's phone")
		creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth.AuthenticatorID})
		if err != nil || len(creds.Credentials) != 2 {
			t.Fatalf("authenticator credentials: %d (%v)", len(creds.Credentials), err)
		}
		owner := map[string]uint{}
		if err := db.Find(&keys).Error; err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			owner[k.CredentialID] = k.UserID
		}
		var adaCred, bobHandle string
		for _, c := range creds.Credentials {
			id := base64.RawURLEncoding.EncodeToString(c.CredentialID)
			switch owner[id] {
			case ada.ID:
				adaCred = id
			case bob.ID:
				bobHandle = base64.RawURLEncoding.EncodeToString(c.UserHandle)
			}
		}
		if adaCred == "" || bobHandle == "" {
			t.Fatalf("credentials do not match the stored passkeys: %v", owner)
		}

		// Ada's passkey, answering with Bob's user handle (which the
		// signature does not cover), must not sign anyone in.
		step("open the sign-in page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="passkey-login"]`)))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(async () => {
			const P = window.plannerPasskeys, form = document.getElementById("passkey-login");
			const opts = P.getOptions(await P.post(form, "/login/passkey/options"));
			opts.publicKey.allowCredentials = [{type: "public-key", id: P.toBuf(%q)}];
			const enc = P.encodeAssertion(await navigator.credentials.get(opts));
			enc.response.userHandle = %q;
			try { await P.post(form, "/login/passkey", {credential: enc}); return "accepted"; }
			catch (e) { return e.message; }
		})()`, adaCred, bobHandle), chromedp.EvalAwaitPromise))
		if err != nil || !strings.Contains(got, "400") {
			t.Fatalf("Ada's passkey with Bob's handle: %q (%v)", got, err)
		}
		step("still signed out", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-submit"]`)))

		// Removing the passkey ends its use: the authenticator still holds
		// it, the site no longer accepts it.
		signIn(ada)
		step("remove Ada's passkey",
			chromedp.Navigate(base+"/account/passkeys"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="passkey-delete"]`)),
			chromedp.Click(chromedp.CSS(`[data-testid="passkey-delete"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="no-passkeys"]`)),
		)
		assertAudit(t, app, models.ActionPasskeyRemoved, 1)
		signOut()
		step("back to the sign-in page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="passkey-login"]`)))
		got, err = chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(async () => {
			const P = window.plannerPasskeys, form = document.getElementById("passkey-login");
			const opts = P.getOptions(await P.post(form, "/login/passkey/options"));
			opts.publicKey.allowCredentials = [{type: "public-key", id: P.toBuf(%q)}];
			const enc = P.encodeAssertion(await navigator.credentials.get(opts));
			try { await P.post(form, "/login/passkey", {credential: enc}); return "accepted"; }
			catch (e) { return e.message; }
		})()`, adaCred), chromedp.EvalAwaitPromise))
		if err != nil || !strings.Contains(got, "400") {
			t.Fatalf("a removed passkey: %q (%v)", got, err)
		}
	})
}
