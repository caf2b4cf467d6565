package models

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashCost checks that the dummy compared against for unknown
// accounts carries the configured cost (so it costs what a real comparison
// costs) and matches nothing, not even the text it was made from.
func TestDummyHashCost(t *testing.T) {
	for _, cost := range []int{4, 5, 12, 31} {
		h, err := dummyHash(cost)
		if err != nil {
			t.Fatalf("cost %d: %v", cost, err)
		}
		if got, err := bcrypt.Cost(h); err != nil || got != cost {
			t.Fatalf("cost %d: dummy %q has cost %d (%v)", cost, h, got, err)
		}
		if cost <= 6 { // comparing at higher costs takes seconds
			for _, pw := range []string{"planner: no such account", "", "password"} {
				if bcrypt.CompareHashAndPassword(h, []byte(pw)) == nil {
					t.Fatalf("cost %d: dummy matches %q", cost, pw)
				}
			}
		}
	}
	if _, err := dummyHash(32); err == nil {
		t.Fatal("cost 32 accepted")
	}
}
