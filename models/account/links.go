package account

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/planner/planner/models"
)

// ErrBadLink is every refused reset or verification token: malformed,
// expired, for another purpose, already used, or outdated by a password
// or email change. The answer does not say which.
var ErrBadLink = errors.New("the link is invalid or has expired")

// Lifetimes of the links the service mails.
const (
	ResetLinkTTL  = 30 * time.Minute
	VerifyLinkTTL = 48 * time.Hour
)

// Purposes of a link token: a reset token is never a verification token
// nor the other way round.
const (
	purposeReset  byte = 'R'
	purposeVerify byte = 'V'
)

// tokenMACSize is how much of the HMAC a link carries (128 bits).
const tokenMACSize = 16

// LinkKeys derives the keys of reset and verification links from the
// signing keys (the first signs, all verify), so that rotating the signing
// keys rotates them too, and no key is used for two things.
func LinkKeys(secrets [][]byte) [][]byte {
	out := make([][]byte, 0, len(secrets))
	for _, k := range secrets {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("planner account links v1"))
		out = append(out, m.Sum(nil))
	}
	return out
}

// linkToken is purpose, user id, expiry and a MAC over those and binding:
// for a reset, the user's current password hash and token version, so the
// token dies once the password changes (which also makes it single use:
// using it changes the password); for a verification, the email address.
// Nothing is stored: there is no table of live tokens to steal.
func linkToken(key []byte, purpose byte, userID uint, exp time.Time, binding string) string {
	b := make([]byte, 17, 17+tokenMACSize)
	b[0] = purpose
	binary.BigEndian.PutUint64(b[1:9], uint64(userID))
	binary.BigEndian.PutUint64(b[9:17], uint64(exp.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, linkMAC(key, b, binding)...))
}

func linkMAC(key, head []byte, binding string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(head)
	m.Write([]byte{0})
	m.Write([]byte(binding))
	return m.Sum(nil)[:tokenMACSize]
}

// parsedLink is a token's claims, not yet checked against the user.
type parsedLink struct {
	head   []byte
	mac    []byte
	userID uint
	exp    time.Time
}

// parseLink reads a token of purpose that has not expired at now; its MAC
// is checked by check once the user (and so the binding) is known.
func parseLink(raw string, purpose byte, now time.Time) (*parsedLink, error) {
	if len(raw) > 100 {
		return nil, ErrBadLink
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 17+tokenMACSize || b[0] != purpose {
		return nil, ErrBadLink
	}
	id := binary.BigEndian.Uint64(b[1:9])
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[9:17])), 0)
	if id == 0 || id > uint64(^uint(0)>>1) || !now.Before(exp) {
		return nil, ErrBadLink
	}
	return &parsedLink{head: b[:17], mac: b[17:], userID: uint(id), exp: exp}, nil
}

// check reports whether the token's MAC matches binding under any key.
func (p *parsedLink) check(keys [][]byte, binding string) bool {
	ok := false
	for _, k := range keys {
		if hmac.Equal(p.mac, linkMAC(k, p.head, binding)) {
			ok = true
		}
	}
	return ok
}

// ResetToken is the token a reset mail for u carries at now, made with the
// first of keys (LinkKeys): what the service mails, for tests and tools.
func ResetToken(keys [][]byte, u *models.User, now time.Time) string {
	return linkToken(keys[0], purposeReset, u.ID, now.Add(ResetLinkTTL), resetBinding(u))
}

// VerifyToken is the token a verification mail for u carries at now.
func VerifyToken(keys [][]byte, u *models.User, now time.Time) string {
	return linkToken(keys[0], purposeVerify, u.ID, now.Add(VerifyLinkTTL), u.Email)
}
