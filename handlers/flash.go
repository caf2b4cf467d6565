package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Notices that name what they acted on ("Promoted ana@example.com to
// admin."). The cookie then carries the subject as text, so it also carries
// a MAC keyed by the caller's CSRF token: that token is a secret of the
// session, so whoever can plant a cookie (a sibling origin) cannot make
// Planner name anything, and a notice that fails the check falls back to
// the plain message of its key. Each text has one %s, the subject; templ
// escapes it like any other text.
var flashAbout = map[string]string{
	"user_promoted":    "Promoted %s to admin. Their sessions have ended.",
	"user_demoted":     "%s is no longer an admin. Their sessions have ended.",
	"user_disabled":    "Disabled %s. Their sessions have ended.",
	"user_enabled":     "Enabled %s: they can sign in again.",
	"sessions_revoked": "Sessions revoked for %s: every session and API token has ended.",
	"user_unlocked":    "Sign-in throttling cleared for %s.",
	"mfa_reset":        "Two-factor sign-in is off for %s. Their sessions have ended.",
	"user_deleted":     "Deleted %s and the events they created.",
	"event_deleted":    "Deleted the event “%s”.",
}

// maxFlashSubject bounds the subject kept in the cookie (titles are up to
// 200 characters, emails up to 254 bytes).
const maxFlashSubject = 256

// setFlashAbout is setFlash for a notice of flashAbout naming subject.
// Without a CSRF token in the context (not a page) it sets the plain
// notice.
func setFlashAbout(c echo.Context, secure bool, key, subject string) {
	tok, _ := c.Get(csrfContextKey).(string)
	if tok == "" || flashAbout[key] == "" {
		setFlash(c, secure, key)
		return
	}
	subject = truncateRunes(subject, maxFlashSubject)
	value := key + "|" + flashMAC(tok, key, subject) + "|" + subject
	c.SetCookie(&http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(value), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// flashAboutMessage reads a cookie value of setFlashAbout: the message
// naming its subject when the MAC holds for this session. A bad MAC gives
// the plain message of the key; a value of another shape is not ours.
func flashAboutMessage(c echo.Context, value string) (string, bool) {
	key, rest, ok := strings.Cut(value, "|")
	if !ok {
		return "", false
	}
	mac, subject, ok := strings.Cut(rest, "|")
	tok, _ := c.Get(csrfContextKey).(string)
	text := flashAbout[key]
	if !ok || text == "" || tok == "" || !hmac.Equal([]byte(mac), []byte(flashMAC(tok, key, subject))) {
		return flashMessages[key], true
	}
	return fmt.Sprintf(text, subject), true
}

func flashMAC(csrfToken, key, subject string) string {
	m := hmac.New(sha256.New, []byte(csrfToken))
	m.Write([]byte("planner flash v1\x00" + key + "\x00" + subject))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// truncateRunes cuts s to at most n characters, marking a cut with "…".
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
