package handlers

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safeNext returns next when it is a local path that cannot send the
// browser to another site, else "". A safe next starts with exactly one
// slash, has no backslash (browsers read "/\" as "//") and no control
// characters, and has no scheme or host once parsed.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !utf8.ValidString(next) {
		return ""
	}
	if next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return ""
	}
	for _, r := range next {
		if unicode.IsControl(r) {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return next
}

// nextOr returns the safe next, or fallback.
func nextOr(next, fallback string) string {
	if n := safeNext(next); n != "" {
		return n
	}
	return fallback
}
