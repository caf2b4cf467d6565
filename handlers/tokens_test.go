package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forge signs arbitrary claims with key under method, with kid set like a
// real token's unless kid is "".
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func validClaims(userID string, ver int, aud string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": "planner", "sub": userID, "aud": []string{aud},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": "j1", "sid": "s1", "ver": ver, "auth_time": now.Unix(),
	}
}

func TestTokensRoundTripAndRotation(t *testing.T) {
	old, newer := []byte("old-key-0123456789abcdefghijklmnopqrstuv"), []byte("new-key-0123456789abcdefghijklmnopqrstuv")
	a, err := NewTokens([][]byte{old}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := a.Issue(AudienceWeb, 7, 3, "sid-1", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// A new key is added in front: it signs from now on, the old one still verifies.
	b, _ := NewTokens([][]byte{newer, old}, nil)
	c, err := b.Parse(AudienceWeb, tok)
	if err != nil {
		t.Fatalf("token signed by a rotated-out key refused: %v", err)
	}
	if id, _ := c.UserID(); id != 7 || c.Ver != 3 || c.SID != "sid-1" || c.ID == "" {
		t.Fatalf("claims = %+v", c)
	}
	tok2, _ := b.Issue(AudienceWeb, 7, 3, "sid-1", now, now.Add(time.Hour))
	if _, err := a.Parse(AudienceWeb, tok2); err == nil {
		t.Fatal("token signed by a key the verifier does not have was accepted")
	}
	hdr, _, _ := strings.Cut(tok2, ".")
	parsed, _, _ := jwt.NewParser().ParseUnverified(tok2, jwt.MapClaims{})
	if parsed.Header["kid"] != KeyID(newer) || len(KeyID(newer)) != 8 {
		t.Fatalf("kid = %v (header %s), want %s", parsed.Header["kid"], hdr, KeyID(newer))
	}
	if _, err := b.Parse(AudienceAPI, tok); err == nil {
		t.Fatal("web token accepted as an API token")
	}
}

// TestForgedSessionCookiesRefused sends every kind of bad token as the
// session cookie: each must be treated as no session at all.
func TestForgedSessionCookiesRefused(t *testing.T) {
	app := newTestApp(t)
	u := app.createUser("victim@example.com", "correct-horse-battery", "user")
	uid := "1"
	if u.ID != 1 {
		t.Fatalf("unexpected id %d", u.ID)
	}
	kid := KeyID(testKey)
	expired := validClaims(uid, 1, AudienceWeb)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	noExp := validClaims(uid, 1, AudienceWeb)
	delete(noExp, "exp")
	wrongIss := validClaims(uid, 1, AudienceWeb)
	wrongIss["iss"] = "someone-else"
	future := validClaims(uid, 1, AudienceWeb)
	future["nbf"] = time.Now().Add(time.Hour).Unix()
	noSID := validClaims(uid, 1, AudienceWeb)
	delete(noSID, "sid")
	oldVer := validClaims(uid, 0, AudienceWeb)
	ghost := validClaims("999", 1, AudienceWeb)

	good := forge(t, jwt.SigningMethodHS256, testKey, kid, validClaims(uid, 1, AudienceWeb))
	parts := strings.Split(good, ".")
	tamperedClaims := validClaims("2", 1, AudienceWeb)
	tamperedPayload := strings.Split(forge(t, jwt.SigningMethodHS256, []byte("x"), kid, tamperedClaims), ".")[1]

	cases := map[string]string{
		"tampered payload":  parts[0] + "." + tamperedPayload + "." + parts[2],
		"tampered sig":      parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"expired":           forge(t, jwt.SigningMethodHS256, testKey, kid, expired),
		"unknown key":       forge(t, jwt.SigningMethodHS256, []byte("another-key-0123456789abcdefghijklmnop"), kid, validClaims(uid, 1, AudienceWeb)),
		"unknown kid":       forge(t, jwt.SigningMethodHS256, testKey, "deadbeef", validClaims(uid, 1, AudienceWeb)),
		"no kid":            forge(t, jwt.SigningMethodHS256, testKey, "", validClaims(uid, 1, AudienceWeb)),
		"alg none":          forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, validClaims(uid, 1, AudienceWeb)),
		"HS512":             forge(t, jwt.SigningMethodHS512, testKey, kid, validClaims(uid, 1, AudienceWeb)),
		"no exp":            forge(t, jwt.SigningMethodHS256, testKey, kid, noExp),
		"api audience":      forge(t, jwt.SigningMethodHS256, testKey, kid, validClaims(uid, 1, AudienceAPI)),
		"wrong issuer":      forge(t, jwt.SigningMethodHS256, testKey, kid, wrongIss),
		"not yet valid":     forge(t, jwt.SigningMethodHS256, testKey, kid, future),
		"no sid":            forge(t, jwt.SigningMethodHS256, testKey, kid, noSID),
		"old token version": forge(t, jwt.SigningMethodHS256, testKey, kid, oldVer),
		"deleted user":      forge(t, jwt.SigningMethodHS256, testKey, kid, ghost),
		"garbage":           "not.a.jwt",
	}
	// The control: a correctly forged token (we hold the key) is accepted,
	// so each refusal below is about the one thing that case changes.
	c := app.client()
	c.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: good}
	if rec := c.get("/account"); rec.Code != http.StatusOK {
		t.Fatalf("control token refused: %d", rec.Code)
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			c := app.client()
			c.jar[SessionCookie] = &http.Cookie{Name: SessionCookie, Value: tok}
			rec := c.get("/account")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Faccount" {
				t.Fatalf("status %d location %q, want 303 to sign-in", rec.Code, rec.Header().Get("Location"))
			}
			if ck := setCookie(rec, SessionCookie); ck == nil || ck.MaxAge >= 0 {
				t.Fatalf("bad session cookie not cleared: %v", ck)
			}
		})
	}
}
