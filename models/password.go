package models

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

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

// ErrBusy means too many password hashes are running or waiting; the caller
// should answer 503 with Retry-After instead of queueing without bound.
var ErrBusy = errors.New("password hashing is busy")

// Hasher runs bcrypt with a bound on how many hashes run at once and how many
// wait, so a flood of sign-ins cannot starve every other request of CPU.
//
// It also keeps failed sign-ins equally slow whatever the account: the
// comparison for an unknown email runs against a dummy hash at the floor
// cost, and a failed comparison against a real hash made at a lower cost
// is topped up to the floor (see Compare). The floor starts at the
// configured cost and is raised to the highest cost stored (RaiseFloor,
// at start) and to any higher cost met since, so restarting at a lower
// cost than the stored hashes tells no one which emails exist.
type Hasher struct {
	cost  int
	slots chan struct{} // one token per hash running
	line  chan struct{} // one token per hash running or waiting
	base  []byte        // a cost-4 hash of a password nobody knows, for dummies
	floor atomic.Int32  // what every failed comparison costs
	work  atomic.Int64  // bcrypt work done by comparisons, in cost-4 units
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
	if cost < bcrypt.MinCost {
		cost = bcrypt.DefaultCost // what bcrypt itself does with such a cost
	}
	if cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("make dummy hash: %w", bcrypt.InvalidCostError(cost))
	}
	base, err := dummyBase()
	if err != nil {
		return nil, fmt.Errorf("make dummy hash: %w", err)
	}
	h := &Hasher{
		cost:  cost,
		slots: make(chan struct{}, slots),
		line:  make(chan struct{}, slots+queue),
		base:  base,
	}
	h.floor.Store(int32(cost))
	return h, nil
}

// RaiseFloor makes every failed comparison cost at least what one against
// a hash of cost does: call it at start with the highest cost stored.
func (h *Hasher) RaiseFloor(cost int) {
	if cost > bcrypt.MaxCost {
		cost = bcrypt.MaxCost
	}
	for {
		cur := h.floor.Load()
		if int32(cost) <= cur || h.floor.CompareAndSwap(cur, int32(cost)) {
			return
		}
	}
}

// Floor is the cost every failed comparison spends.
func (h *Hasher) Floor() int { return int(h.floor.Load()) }

// Work is the bcrypt work comparisons have done, in units of one comparison
// at the minimum cost (a comparison at cost c is 2^(c-4) units): what tests
// compare instead of timings.
func (h *Hasher) Work() int64 { return h.work.Load() }

// dummyBase makes a hash that matches no password at the minimum cost:
// what a comparison costs is the cost written in the hash, not the cost it
// was made with, so dummies of any cost are this hash with other digits
// (making one at cost 12 itself would spend a quarter of a second).
func dummyBase() ([]byte, error) {
	secret := make([]byte, 32) // a password nobody knows, forgotten at once
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return bcrypt.GenerateFromPassword(secret, bcrypt.MinCost)
}

// dummy returns the dummy hash at cost: "$2a$04$<salt and hash>" with the
// two digits after the version replaced.
func (h *Hasher) dummy(cost int) []byte {
	return []byte(fmt.Sprintf("%s%02d%s", h.base[:4], cost, h.base[6:]))
}

// compare runs one bcrypt comparison and counts its work.
func (h *Hasher) compare(hash, password []byte) error {
	if cost, err := bcrypt.Cost(hash); err == nil {
		h.work.Add(1 << (cost - bcrypt.MinCost))
	}
	return bcrypt.CompareHashAndPassword(hash, password)
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

// Hash takes a place in line (or returns ErrBusy at once), hashes password
// and gives the place back: the whole of what storing a new password needs.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	t, err := h.Enter()
	if err != nil {
		return "", err
	}
	defer t.Leave()
	return t.Hash(ctx, password)
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
	// bcrypt runs on an OS thread of its own at a lower priority: when the
	// cores are busy, the kernel runs the threads answering other requests
	// first, so a flood of sign-ins slows sign-ins, not reads (serve also
	// gives Go a processor per slot beyond the request workers'). The
	// goroutine never unlocks its thread, so the thread ends with it (Go
	// does not reuse a thread a goroutine exited locked to) and nothing
	// else ever runs at the lowered priority.
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		lowerThreadPriority()
		f()
	}()
	<-done
	return nil
}

// hashNice is the nice value of the threads bcrypt runs on: at 10 the
// kernel's fair scheduler weighs such a thread at about a tenth of a
// normal one, so on a core other requests keep busy a hash takes longer,
// and on an idle core just as long.
const hashNice = 10

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
// disabled account) is compared against a dummy at the floor cost; a failed
// comparison against a hash of a lower cost is followed by dummy ones at
// each cost from it up to the floor (2^c + 2^c + 2^(c+1) + … = 2^floor), so
// every failure costs the same and says nothing about which emails exist.
func (t *Ticket) Compare(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	h := []byte(hash)
	floor := t.h.Floor()
	cost := floor
	if hash == "" {
		h = t.h.dummy(floor)
	} else if c, err := bcrypt.Cost(h); err == nil {
		cost = c
		t.h.RaiseFloor(c) // a stored hash above the floor: raise it for everyone
	}
	var cmpErr error
	rerr := t.run(ctx, func() {
		cmpErr = t.h.compare(h, []byte(password))
		if cmpErr != nil {
			for c := cost; c < floor; c++ {
				_ = t.h.compare(t.h.dummy(c), []byte(password))
			}
		}
	})
	if rerr != nil {
		return false, false, rerr
	}
	if hash == "" || cmpErr != nil {
		return false, false, nil
	}
	return true, cost != t.h.cost, nil
}
