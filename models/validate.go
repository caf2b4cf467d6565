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
	// U+FFFD is what NormalizeEmail's lower-casing makes of bytes that
	// were not UTF-8: no real address has it.
	if len(email) > 254 || !utf8.ValidString(email) || strings.ContainsRune(email, utf8.RuneError) {
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

// storableText reports whether s could be stored in (and so match) a text
// column: valid UTF-8 without NUL. PostgreSQL refuses a NUL in any text
// parameter with an error, so a lookup or search for such a value is
// answered as "no match" before it reaches the database.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
