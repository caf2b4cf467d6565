package models_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/planner/planner/models"
	"golang.org/x/crypto/bcrypt"
)

func TestPasswordPolicy(t *testing.T) {
	p := models.NewPasswordPolicy()
	const email = "Alice@Example.com"
	tests := []struct {
		name, password string
		ok             bool
	}{
		{"7 bytes", "Xk3#pq9", false},
		{"empty", "", false},
		{"exactly 8 bytes", "Xk3#pq9z", true},
		{"exactly 72 bytes", strings.Repeat("Xk3#pq9z", 9), true},
		{"73 bytes", strings.Repeat("Xk3#pq9z", 9) + "!", false},
		{"multi-byte, 9 bytes in 4 characters", "äöü€", true},
		{"the email", "alice@example.com", false},
		{"the email in other case", "ALICE@EXAMPLE.COM", false},
		{"the email as typed", "Alice@Example.com", false},
		{"common: password", "password", false},
		{"common: 123456789", "123456789", false},
		{"common: qwerty123", "qwerty123", false},
		{"common, other case", "PassWord", false},
		{"common: iloveyou", "iloveyou", false},
		{"strong", "correct-horse-battery", true},
		{"strong 2", "Tr0ub4dor&3-staple", true},
	}
	for _, tt := range tests {
		msg := p.Check(email, tt.password)
		if (msg == "") != tt.ok {
			t.Errorf("%s: Check(%q) = %q, want ok=%v", tt.name, tt.password, msg, tt.ok)
		}
	}
	// Messages say what is wrong.
	for _, tt := range []struct{ password, want string }{
		{"short", "at least 8"},
		{strings.Repeat("a", 73), "at most 72"},
		{"alice@example.com", "email"},
		{"password", "common"},
	} {
		if msg := p.Check(email, tt.password); !strings.Contains(msg, tt.want) {
			t.Errorf("Check(%q) = %q, want it to mention %q", tt.password, msg, tt.want)
		}
	}
	// Without an email (not known yet) only length and the list count.
	if msg := p.Check("", "correct-horse-battery"); msg != "" {
		t.Errorf("Check without email = %q", msg)
	}
}

// TestCommonPasswordList checks the embedded list file: 10,000 entries, one
// per line, no duplicates, and every one of them refused by the policy.
func TestCommonPasswordList(t *testing.T) {
	f, err := os.Open("common_passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := models.NewPasswordPolicy()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := sc.Text()
		if w == "" || strings.TrimSpace(w) != w {
			t.Fatalf("line %d: empty or padded entry %q", len(seen)+1, w)
		}
		if seen[w] {
			t.Fatalf("duplicate entry %q", w)
		}
		seen[w] = true
		// Entries long enough to pass the length rule must be refused as common.
		if len(w) >= models.MinPasswordLen && len(w) <= models.MaxPasswordLen {
			if msg := p.Check("someone@example.com", w); msg == "" {
				t.Fatalf("common password %q accepted", w)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 10000 {
		t.Fatalf("list has %d entries, want 10000", len(seen))
	}
	for _, w := range []string{"password", "123456789", "qwerty123"} {
		if !seen[w] {
			t.Errorf("%q is not in the list", w)
		}
	}
}

func newHasher(t *testing.T, cost, slots, queue int) *models.Hasher {
	t.Helper()
	h, err := models.NewHasher(cost, slots, queue)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

func TestHasherRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 4, 2, 2)
	tk, err := h.Enter()
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Leave()

	hash, err := tk.Hash(ctx, "correct-horse-battery")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 4 {
		t.Fatalf("hash cost = %d, %v; want 4", cost, err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct-horse-battery")); err != nil {
		t.Fatalf("the hash is not a bcrypt hash of the password: %v", err)
	}

	tests := []struct {
		name, hash, password string
		ok, rehash           bool
	}{
		{"right password", hash, "correct-horse-battery", true, false},
		{"wrong password", hash, "correct-horse-battery!", false, false},
		{"empty password", hash, "", false, false},
		{"unknown account", "", "correct-horse-battery", false, false},
		{"unknown account, dummy's own password", "", "planner: no such account", false, false},
	}
	for _, tt := range tests {
		ok, rehash, err := tk.Compare(ctx, tt.hash, tt.password)
		if err != nil {
			t.Errorf("%s: Compare error %v", tt.name, err)
		}
		if ok != tt.ok || rehash != tt.rehash {
			t.Errorf("%s: Compare = ok %v rehash %v, want %v %v", tt.name, ok, rehash, tt.ok, tt.rehash)
		}
	}

	// A hash from another cost matches, and asks to be redone.
	old, err := bcrypt.GenerateFromPassword([]byte("correct-horse-battery"), 5)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := tk.Compare(ctx, string(old), "correct-horse-battery")
	if err != nil || !ok || !rehash {
		t.Errorf("Compare with a cost-5 hash = %v %v %v; want ok, rehash", ok, rehash, err)
	}
	ok, rehash, err = tk.Compare(ctx, string(old), "wrong-password-here")
	if err != nil || ok || rehash {
		t.Errorf("wrong password against a cost-5 hash = %v %v %v; want no match, no rehash", ok, rehash, err)
	}

	// bcrypt cannot hash more than 72 bytes: an error, not a truncated hash.
	if _, err := tk.Hash(ctx, strings.Repeat("a", 73)); err == nil {
		t.Error("Hash of 73 bytes succeeded")
	}
}

func TestHasherBadCost(t *testing.T) {
	if _, err := models.NewHasher(bcrypt.MaxCost+1, 1, 1); err == nil {
		t.Fatal("NewHasher with an impossible cost succeeded")
	}
}

func TestHasherBusy(t *testing.T) {
	tests := []struct{ slots, queue, places int }{
		{1, 0, 1},
		{1, 1, 2},
		{2, 3, 5},
		{0, -1, 1}, // at least one slot, never a negative queue
	}
	for _, tt := range tests {
		h := newHasher(t, 4, tt.slots, tt.queue)
		var held []*models.Ticket
		for i := 0; i < tt.places; i++ {
			tk, err := h.Enter()
			if err != nil {
				t.Fatalf("slots %d queue %d: Enter #%d: %v", tt.slots, tt.queue, i+1, err)
			}
			held = append(held, tk)
		}
		if _, err := h.Enter(); !errors.Is(err, models.ErrBusy) {
			t.Fatalf("slots %d queue %d: Enter with every place taken = %v, want ErrBusy", tt.slots, tt.queue, err)
		}
		held[0].Leave()
		tk, err := h.Enter()
		if err != nil {
			t.Fatalf("slots %d queue %d: Enter after Leave: %v", tt.slots, tt.queue, err)
		}
		if _, err := h.Enter(); !errors.Is(err, models.ErrBusy) {
			t.Fatalf("slots %d queue %d: a Leave freed more than one place", tt.slots, tt.queue)
		}
		tk.Leave()
		for _, tk := range held[1:] {
			tk.Leave()
		}
	}
}
