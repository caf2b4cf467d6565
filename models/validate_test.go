package models_test

import (
	"strings"
	"testing"

	"github.com/planner/planner/models"
)

func TestNormalizeEmail(t *testing.T) {
	tests := map[string]string{
		"  Alice@Example.COM\t": "alice@example.com",
		"bob@example.com":       "bob@example.com",
		"":                      "",
	}
	for in, want := range tests {
		if got := models.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" // 255 bytes
	tests := []struct {
		email string
		ok    bool
	}{
		{"alice@example.com", true},
		{"a.b+tag@sub.example.co.uk", true},
		{"x@y.io", true},
		{"", false},
		{"alice", false},
		{"alice@", false},
		{"@example.com", false},
		{"alice@localhost", false}, // no dot in the domain
		{"alice@@example.com", false},
		{"Alice <alice@example.com>", false},
		{"<alice@example.com>", false},
		{"a b@example.com", false},
		{"alice@example.com,bob@example.com", false},
		{"alice@example..com", false},
		{"alice@example.com.", false},
		{"alice@example.com\n", false},
		{"\xff@example.com", false},
		{long, false},
		{long[:64] + "@" + strings.Repeat("b", 185) + ".com", true}, // 254 bytes
	}
	for _, tt := range tests {
		msg := models.CheckEmail(tt.email)
		if (msg == "") != tt.ok {
			t.Errorf("CheckEmail(%q) = %q, want ok=%v", tt.email, msg, tt.ok)
		}
	}
	if got := models.CheckEmail(""); got != "Enter your email address" {
		t.Errorf("CheckEmail(\"\") = %q", got)
	}
	if got := models.CheckEmail("nope"); got != "Enter a valid email address" {
		t.Errorf("CheckEmail(\"nope\") = %q", got)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name     string
		optional bool
		want     string
	}{
		{"", true, ""},
		{"", false, "Enter a display name"},
		{"Ann", false, ""},
		{"Zoë Ångström", false, ""},
		{strings.Repeat("é", 60), false, ""}, // 60 characters, 120 bytes
		{strings.Repeat("a", 60), true, ""},
		{strings.Repeat("a", 61), false, "Display name must be at most 60 characters"},
		{strings.Repeat("é", 61), true, "Display name must be at most 60 characters"},
		{"bell\a", false, "Display name must not contain control characters"},
		{"two\nlines", false, "Display name must not contain control characters"},
		{"tab\there", false, "Display name must not contain control characters"},
		{"nul\x00", true, "Display name must not contain control characters"},
		{"bad \xff byte", false, "Display name must be valid text"},
	}
	for _, tt := range tests {
		if got := models.CheckName(tt.name, tt.optional); got != tt.want {
			t.Errorf("CheckName(%q, %v) = %q, want %q", tt.name, tt.optional, got, tt.want)
		}
	}
}
