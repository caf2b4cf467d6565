package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
//
// A token's signature is verified once: the claims of every token that
// passed are kept (verified), keyed by the whole token string, so a browser
// or client sending the same token again costs a map lookup instead of an
// HMAC and a JSON decode. What changes with time or use is checked on
// every Parse all the same: expiry, not-before and issued-at against the
// clock, the issuer and the audience asked for; revocation is Sessions'.
// A token differing in any byte is another key, so a kept entry never
// vouches for a tampered token.
type Tokens struct {
	keys       []signingKey
	byID       map[string][]byte
	leeway     time.Duration
	now        func() time.Time
	validators map[string]*jwt.Validator // by audience
	verified   verifiedTokens
}

// maxVerifiedTokens bounds the kept verified tokens (a few MiB at most).
const maxVerifiedTokens = 8192

// verifiedTokens is the claims of tokens whose signature and shape were
// verified, by token string. It holds at most maxVerifiedTokens; past
// that an arbitrary entry makes room (an evicted token is verified again).
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]*Claims
}

func (v *verifiedTokens) get(raw string) (*Claims, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	c, ok := v.m[raw]
	return c, ok
}

func (v *verifiedTokens) put(raw string, c *Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]*Claims{}
	}
	for k := range v.m {
		if len(v.m) < maxVerifiedTokens {
			break
		}
		delete(v.m, k) // map order is random: an arbitrary entry
	}
	v.m[raw] = c
}

func (v *verifiedTokens) drop(raw string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, raw)
}

func (v *verifiedTokens) len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.m)
}

// NewTokens returns a token service for keys (at least one).
func NewTokens(keys [][]byte, now func() time.Time) (*Tokens, error) {
	if len(keys) == 0 {
		return nil, errors.New("tokens: no signing key")
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{byID: map[string][]byte{}, leeway: 5 * time.Second, now: now, validators: map[string]*jwt.Validator{}}
	for _, aud := range []string{AudienceWeb, AudienceAPI, AudienceMFA} {
		t.validators[aud] = t.newValidator(aud)
	}
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
// The signature of a token seen before is not checked again (see Tokens);
// everything else is, on every call.
func (t *Tokens) Parse(aud, raw string) (*Claims, error) {
	c, ok := t.verified.get(raw)
	if !ok {
		var err error
		if c, err = t.verify(raw); err != nil {
			return nil, err
		}
		t.verified.put(raw, c)
	}
	v := t.validators[aud]
	if v == nil {
		v = t.newValidator(aud)
	}
	if err := v.Validate(c); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			t.verified.drop(raw) // never valid again: make room
		}
		return nil, fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err)
	}
	cp := *c // callers get their own copy; the kept one stays as verified
	return &cp, nil
}

// verify checks raw's signature and algorithm and reads its claims, which
// must name a session, a token id and a user; the claims' times, issuer and
// audience are Parse's to check, on every use.
func (t *Tokens) verify(raw string) (*Claims, error) {
	c := &Claims{}
	_, err := jwt.ParseWithClaims(raw, c, t.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithoutClaimsValidation(),
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

// newValidator checks claims for aud: exp required, iat not in the future,
// our issuer, the audience, with the leeway, by the service's clock.
func (t *Tokens) newValidator(aud string) *jwt.Validator {
	return jwt.NewValidator(
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(aud),
		jwt.WithLeeway(t.leeway),
		jwt.WithTimeFunc(t.now),
	)
}

func (t *Tokens) key(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	if k, ok := t.byID[kid]; ok {
		return k, nil
	}
	return nil, errors.New("unknown signing key")
}
