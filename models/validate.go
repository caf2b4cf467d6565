package models

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckEmail returns a message for the user when email (already normalised)
// is not a plain address, or "".
func CheckEmail(email string) string {
	if email == "" {
		return "Enter your email address"
	}
	if len(email) > 254 || !utf8.ValidString(email) {
		return "Enter a valid email address"
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "Enter a valid email address"
	}
	return ""
}

// CheckName returns a message when name (trimmed) is not a usable display
// name. Empty is allowed only when optional.
func CheckName(name string, optional bool) string {
	if name == "" {
		if optional {
			return ""
		}
		return "Enter a display name"
	}
	if !utf8.ValidString(name) {
		return "Display name must be valid text"
	}
	if utf8.RuneCountInString(name) > 60 {
		return "Display name must be at most 60 characters"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "Display name must not contain control characters"
		}
	}
	return ""
}
