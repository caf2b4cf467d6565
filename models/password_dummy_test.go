package models

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashCost checks that the dummy compared against for unknown
// accounts carries the cost asked for (so it costs what a real comparison
// costs) and matches nothing, not even the text it was made from.
func TestDummyHashCost(t *testing.T) {
	h, err := NewHasher(4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, cost := range []int{4, 5, 12, 31} {
		d := h.dummy(cost)
		if got, err := bcrypt.Cost(d); err != nil || got != cost {
			t.Fatalf("cost %d: dummy %q has cost %d (%v)", cost, d, got, err)
		}
		if cost <= 6 { // comparing at higher costs takes seconds
			for _, pw := range []string{"planner: no such account", "", "password"} {
				if bcrypt.CompareHashAndPassword(d, []byte(pw)) == nil {
					t.Fatalf("cost %d: dummy matches %q", cost, pw)
				}
			}
		}
	}
	if _, err := NewHasher(32, 1, 0); err == nil {
		t.Fatal("cost 32 accepted")
	}
}

// TestFailuresCostTheSameAfterACostChange plays the server restarted at a
// lower cost than its users' hashes (and the other way round): a failed
// comparison for an unknown account and for a real one must do the same
// bcrypt work, or timing tells which emails exist.
func TestFailuresCostTheSameAfterACostChange(t *testing.T) {
	ctx := context.Background()
	hashAt := func(cost int) string {
		b, err := bcrypt.GenerateFromPassword([]byte("correct-horse-battery"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	stored6, stored4 := hashAt(6), hashAt(4)
	failWork := func(h *Hasher, hash string) int64 {
		t.Helper()
		tk, err := h.Enter()
		if err != nil {
			t.Fatal(err)
		}
		defer tk.Leave()
		before := h.Work()
		ok, _, err := tk.Compare(ctx, hash, "wrong password")
		if err != nil || ok {
			t.Fatalf("Compare = %v, %v", ok, err)
		}
		return h.Work() - before
	}

	// Configured at 4, users stored at 6: the floor follows the database.
	h, err := NewHasher(4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.RaiseFloor(6) // what the app does at start with the highest stored cost
	unknown, known := failWork(h, ""), failWork(h, stored6)
	if unknown != known || known != 1<<2 {
		t.Errorf("cost-6 users, server at 4: unknown email %d units, wrong password %d; want 4 each", unknown, known)
	}

	// Configured at 6, a user still at 4: their failure is topped up.
	h, err = NewHasher(6, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	unknown, known = failWork(h, ""), failWork(h, stored4)
	if unknown != known {
		t.Errorf("cost-4 user, server at 6: unknown email %d units, wrong password %d", unknown, known)
	}

	// Without RaiseFloor, the first comparison against a higher stored
	// cost raises the floor for the unknown emails after it.
	h, err = NewHasher(4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	failWork(h, stored6)
	if unknown := failWork(h, ""); unknown != 1<<2 || h.Floor() != 6 {
		t.Errorf("after meeting a cost-6 hash: floor %d, unknown email %d units", h.Floor(), unknown)
	}

	// A right password is not padded, and asks for a rehash at the new cost.
	tk, _ := h.Enter()
	defer tk.Leave()
	ok, rehash, err := tk.Compare(ctx, stored4, "correct-horse-battery")
	if err != nil || !ok || rehash {
		t.Errorf("right password at the configured cost: ok %v rehash %v err %v", ok, rehash, err)
	}
	ok, rehash, err = tk.Compare(ctx, stored6, "correct-horse-battery")
	if err != nil || !ok || !rehash {
		t.Errorf("right password at another cost: ok %v rehash %v err %v", ok, rehash, err)
	}
}
