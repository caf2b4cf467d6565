package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
)

// TestKeptTokensAreCheckedOnEveryUse verifies a token (so its claims are
// kept), then presents it again with the wrong audience, tampered with,
// and after it expired: each is refused although the token was kept.
func TestKeptTokensAreCheckedOnEveryUse(t *testing.T) {
	now := time.Now()
	tokens, err := NewTokens([][]byte{testKey}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Issue(AudienceWeb, 7, 1, "sid-1", now, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err := tokens.Parse(AudienceWeb, tok)
		if err != nil {
			t.Fatalf("fresh token refused: %v", err)
		}
		c.SID = "changed by a caller" // the kept claims are not the caller's
	}
	if n := tokens.verified.len(); n != 1 {
		t.Fatalf("%d tokens kept, want 1", n)
	}
	if c, _ := tokens.Parse(AudienceWeb, tok); c == nil || c.SID != "sid-1" {
		t.Fatalf("kept claims changed through a caller's copy: %+v", c)
	}
	for _, aud := range []string{AudienceAPI, AudienceMFA, "someone-else"} {
		if _, err := tokens.Parse(aud, tok); err == nil {
			t.Errorf("kept web token accepted for audience %s", aud)
		}
	}
	head, rest, _ := strings.Cut(tok, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	// The first character changes: every bit of it counts, where the last
	// one of a base64url part may carry unused bits, so that flipping it
	// can decode to the very same bytes (and a valid signature).
	flip := func(s string) string {
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	for name, bad := range map[string]string{
		"signature": head + "." + payload + "." + flip(sig),
		"payload":   head + "." + flip(payload) + "." + sig,
		"header":    flip(head) + "." + payload + "." + sig,
		"suffix":    tok + "A",
	} {
		if _, err := tokens.Parse(AudienceWeb, bad); err == nil {
			t.Errorf("kept token with a tampered %s accepted", name)
		}
	}
	now = now.Add(time.Minute + tokens.leeway + time.Second)
	if _, err := tokens.Parse(AudienceWeb, tok); err == nil {
		t.Fatal("kept token accepted after it expired")
	}
	if n := tokens.verified.len(); n != 0 {
		t.Errorf("an expired token is still kept (%d kept)", n)
	}
}

// TestKeptTokensAreBounded verifies more distinct tokens than are kept.
func TestKeptTokensAreBounded(t *testing.T) {
	tokens, err := NewTokens([][]byte{testKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range maxVerifiedTokens + 50 {
		tok, err := tokens.Issue(AudienceAPI, 1, 1, fmt.Sprint("sid-", i), now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Parse(AudienceAPI, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := tokens.verified.len(); n > maxVerifiedTokens {
		t.Fatalf("%d tokens kept, bound %d", n, maxVerifiedTokens)
	}
}

// TestKeptTokensRevokedOnEveryInstance uses a browser session and an API
// token on both instances (so both keep them verified), then ends them
// through one instance: the other must refuse them at once.
func TestKeptTokensRevokedOnEveryInstance(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			a, b := instancesOn(t, dialect)
			a.createUser("ada@example.com", goodPassword, models.RoleUser)
			onA := a.client()
			onA.login("ada@example.com", goodPassword)
			onB := onA.on(b)
			cookie := onA.jar[SessionCookie]
			tok := onA.token("ada@example.com", goodPassword)
			for range 2 {
				for _, c := range []*client{onA, onB} {
					if rec := c.get("/account"); rec.Code != http.StatusOK {
						t.Fatalf("live session refused: %d", rec.Code)
					}
					if rec := c.api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusOK {
						t.Fatalf("live token refused: %d", rec.Code)
					}
				}
			}
			// Sign out on B: the browser drops the cookie; a thief replays it on A.
			if rec := onB.post("/logout", nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("logout: %d", rec.Code)
			}
			thief := a.client()
			thief.jar[SessionCookie] = cookie
			if rec := thief.get("/account"); rec.Code != http.StatusSeeOther {
				t.Fatalf("signed-out session still works on the other instance: %d", rec.Code)
			}
			if rec := thief.get("/events"); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `data-testid="logout"`) {
				t.Fatalf("signed-out session shows as signed in on /events: %d", rec.Code)
			}
			if rec := onB.api("POST", "/api/user/signout", tok, nil); rec.Code != http.StatusOK && rec.Code != http.StatusNoContent {
				t.Fatalf("api signout: %d %s", rec.Code, rec.Body.String())
			}
			if rec := onA.api("GET", "/api/user/me", tok, nil); rec.Code != http.StatusUnauthorized {
				t.Fatalf("revoked token still works on the other instance: %d", rec.Code)
			}
		})
	}
}
