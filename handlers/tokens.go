package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token audiences: a browser session cookie and an API bearer token are
// never accepted in each other's place.
const (
	AudienceWeb = "planner-web"
	AudienceAPI = "planner-api"
	// AudienceMFA is the state between the password and the second factor
	// of a sign-in: never a session, never an API token.
	AudienceMFA = "planner-mfa"
	issuer      = "planner"
)

// Claims are the claims of every Planner token.
type Claims struct {
	jwt.RegisteredClaims
	// SID is the session id: kept across renewals of a browser session, so
	// revoking it kills every renewal; an API token's is its own.
	SID string `json:"sid"`
	// Ver is the user's token version when the token was issued.
	Ver int `json:"ver"`
	// AuthTime is when the user signed in, which caps renewals.
	AuthTime int64 `json:"auth_time,omitempty"`
}

// UserID returns the subject as a user id.
func (c *Claims) UserID() (uint, error) {
	id, err := strconv.ParseUint(c.Subject, 10, 64)
	if err != nil || id == 0 {
		return 0, errors.New("token subject is not a user id")
	}
	return uint(id), nil
}

type signingKey struct {
	id     string
	secret []byte
}

// Tokens issues and verifies HS256 JWTs with a list of keys: the first signs,
// all verify, and each is named in the token's kid header by a digest of the
// key itself, so adding or reordering keys never breaks live tokens.
type Tokens struct {
	keys   []signingKey
	byID   map[string][]byte
	leeway time.Duration
	now    func() time.Time
}

// NewTokens returns a token service for keys (at least one).
func NewTokens(keys [][]byte, now func() time.Time) (*Tokens, error) {
	if len(keys) == 0 {
		return nil, errors.New("tokens: no signing key")
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{byID: map[string][]byte{}, leeway: 5 * time.Second, now: now}
	for _, k := range keys {
		if len(k) == 0 {
			return nil, errors.New("tokens: empty signing key")
		}
		sk := signingKey{id: KeyID(k), secret: k}
		t.keys = append(t.keys, sk)
		t.byID[sk.id] = k
	}
	return t, nil
}

// KeyID is the kid of a key: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewID returns a random identifier for a session or token.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS has no entropy: nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Issue signs a token for user with audience aud, session sid and token
// version ver, valid until exp. authTime is when the user signed in.
func (t *Tokens) Issue(aud string, userID uint, ver int, sid string, authTime, exp time.Time) (string, error) {
	now := t.now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   strconv.FormatUint(uint64(userID), 10),
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        NewID(),
		},
		SID:      sid,
		Ver:      ver,
		AuthTime: authTime.Unix(),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = t.keys[0].id
	s, err := tok.SignedString(t.keys[0].secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Parse verifies raw for audience aud: signature by a known key (chosen by
// kid), algorithm HS256 only, issuer, audience, and exp (required), nbf and
// iat with a small leeway. It says nothing about revocation; see Sessions.
func (t *Tokens) Parse(aud, raw string) (*Claims, error) {
	c := &Claims{}
	_, err := jwt.ParseWithClaims(raw, c, t.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(aud),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return nil, err
	}
	if c.SID == "" || c.ID == "" {
		return nil, errors.New("token lacks sid or jti")
	}
	if _, err := c.UserID(); err != nil {
		return nil, err
	}
	return c, nil
}

func (t *Tokens) key(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	if k, ok := t.byID[kid]; ok {
		return k, nil
	}
	return nil, errors.New("unknown signing key")
}
