package models

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Password length limits, in bytes. bcrypt ignores everything past 72 bytes,
// so longer passwords are refused rather than silently truncated.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// commonPasswordsText is the list of the 10,000 most common passwords; see
// common_passwords.md for where it comes from.
//
//go:embed common_passwords.txt
var commonPasswordsText []byte

// PasswordPolicy decides which passwords are acceptable.
type PasswordPolicy struct {
	common map[string]struct{}
}

// NewPasswordPolicy builds the policy, indexing the embedded common list once.
func NewPasswordPolicy() *PasswordPolicy {
	common := make(map[string]struct{}, 10000)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			common[strings.ToLower(w)] = struct{}{}
		}
	}
	return &PasswordPolicy{common: common}
}

// Check returns a message for the user when password is not acceptable for
// the account email, or "" when it is.
func (p *PasswordPolicy) Check(email, password string) string {
	switch {
	case len(password) < MinPasswordLen:
		return fmt.Sprintf("Password must be at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Sprintf("Password must be at most %d bytes", MaxPasswordLen)
	case email != "" && strings.EqualFold(strings.TrimSpace(password), NormalizeEmail(email)):
		return "Password must not be your email address"
	}
	if _, ok := p.common[strings.ToLower(password)]; ok {
		return "This password is too common; choose another"
	}
	return ""
}

// ErrBusy means too many password hashes are running or waiting, or a
// search waited for a scan slot as long as its request may last; the caller
// should answer 503 with Retry-After instead of queueing without bound.
var ErrBusy = errors.New("password hashing is busy")

// Hasher runs bcrypt with a bound on how many hashes run at once and how many
// wait, so a flood of sign-ins cannot starve every other request of CPU.
type Hasher struct {
	cost  int
	slots chan struct{} // one token per hash running
	line  chan struct{} // one token per hash running or waiting
	dummy []byte        // hash compared against for unknown accounts
}

// NewHasher returns a hasher at cost with slots concurrent hashes and at most
// queue more waiting.
func NewHasher(cost, slots, queue int) (*Hasher, error) {
	if slots < 1 {
		slots = 1
	}
	if queue < 0 {
		queue = 0
	}
	dummy, err := dummyHash(cost)
	if err != nil {
		return nil, fmt.Errorf("make dummy hash: %w", err)
	}
	return &Hasher{
		cost:  cost,
		slots: make(chan struct{}, slots),
		line:  make(chan struct{}, slots+queue),
		dummy: dummy,
	}, nil
}

// dummyHash returns a hash that matches no password and costs as much to
// compare against as a real one at cost. What a comparison costs is the
// cost written in the hash, not the cost it was made with, so it is made at
// the minimum cost and then given cost: making it at cost itself would
// spend a whole hash (a quarter of a second at cost 12) on every start.
func dummyHash(cost int) ([]byte, error) {
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost // what bcrypt itself does with such a cost
	}
	if cost > bcrypt.MaxCost {
		return nil, bcrypt.InvalidCostError(cost)
	}
	secret := make([]byte, 32) // a password nobody knows, forgotten at once
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword(secret, bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	// "$2a$04$<salt and hash>": the cost is the two digits after the version.
	return []byte(fmt.Sprintf("%s%02d%s", h[:4], cost, h[6:])), nil
}

// Ticket is a place in the hasher's line; Leave must be called once.
type Ticket struct {
	h *Hasher
}

// Enter takes a place in line without waiting, or returns ErrBusy.
func (h *Hasher) Enter() (*Ticket, error) {
	select {
	case h.line <- struct{}{}:
		return &Ticket{h: h}, nil
	default:
		return nil, ErrBusy
	}
}

// Leave gives the place in line back.
func (t *Ticket) Leave() { <-t.h.line }

func (t *Ticket) run(ctx context.Context, f func()) error {
	select {
	case t.h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.h.slots }()
	f()
	return nil
}

// Hash returns the bcrypt hash of password at the configured cost.
func (t *Ticket) Hash(ctx context.Context, password string) (string, error) {
	var hash []byte
	var err error
	if rerr := t.run(ctx, func() { hash, err = bcrypt.GenerateFromPassword([]byte(password), t.h.cost) }); rerr != nil {
		return "", rerr
	}
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(hash), nil
}

// Compare reports whether password matches hash, and whether the hash should
// be redone because the configured cost changed. An empty hash (an unknown or
// disabled account) is compared against a dummy, so every answer costs the
// same time and says nothing about which emails exist.
func (t *Ticket) Compare(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	h := []byte(hash)
	if hash == "" {
		h = t.h.dummy
	}
	var cmpErr error
	if rerr := t.run(ctx, func() { cmpErr = bcrypt.CompareHashAndPassword(h, []byte(password)) }); rerr != nil {
		return false, false, rerr
	}
	if hash == "" || cmpErr != nil {
		return false, false, nil
	}
	cost, err := bcrypt.Cost(h)
	return true, err == nil && cost != t.h.cost, nil
}
