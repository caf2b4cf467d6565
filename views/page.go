// Package views holds Planner's templ components and the view models they
// take. Views import nothing of ours: handlers translate models into these
// types, and views never touch the database or the request.
package views

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// Page is what every page's layout needs.
type Page struct {
	Title  string
	CSRF   string // token for forms; every POST form carries it as _csrf
	User   *User  // nil when nobody is signed in
	Flash  string // one-time notice shown at the top of the page
	Assets string // version tag appended to asset URLs for cache busting
	// Styles and Scripts are extra assets (names under /static) a page
	// loads: stylesheets after the site's own, scripts deferred.
	Styles, Scripts []string
}

// User is the signed-in user as the layout shows them.
type User struct {
	Name  string
	Email string
	Admin bool
	// Unverified is set while the email address is not confirmed: every
	// page then shows a notice with a button to resend the link.
	Unverified bool
}

// Asset returns the URL of a file under /static, versioned so browsers may
// cache it for a long time.
func (p Page) Asset(name string) string {
	u := "/static/" + name
	if p.Assets != "" {
		u += "?v=" + p.Assets
	}
	return u
}

// Form holds a submitted form's values and its per-field errors, so a
// failed submission re-renders with the input kept and a message beside each
// bad field. Passwords are never put in Values.
type Form struct {
	Values map[string]string
	Errors map[string]string
	// Message is an error about the whole form (such as a failed sign-in),
	// and Hint what to do about it (such as when to try again).
	Message string
	Hint    string
}

// Value returns the submitted value of field.
func (f Form) Value(field string) string { return f.Values[field] }

// Error returns the message for field, or "".
func (f Form) Error(field string) string { return f.Errors[field] }

// HasError reports whether field has a message.
func (f Form) HasError(field string) bool { return f.Errors[field] != "" }

// ErrorFields lists the fields with a message, in a stable order.
func (f Form) ErrorFields() []string {
	names := make([]string, 0, len(f.Errors))
	for name, msg := range f.Errors {
		if msg != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func errorCount(f Form) string {
	if n := len(f.ErrorFields()); n != 1 {
		return fmt.Sprintf("these %d fields", n)
	}
	return "this field"
}

// invalid is the ARIA attributes of field name: marked invalid and
// described by its message when it has one.
func invalid(f Form, name string) templ.Attributes {
	if !f.HasError(name) {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": name + "-error"}
}

// Valid reports whether the form has no errors at all.
func (f Form) Valid() bool { return len(f.Errors) == 0 && f.Message == "" }

func queryEscape(s string) string { return url.QueryEscape(s) }

// withNext adds a next parameter to path when next is set, so moving between
// the sign-in and sign-up forms keeps where the user was going.
func withNext(path, next string) string {
	if next == "" {
		return path
	}
	return path + "?next=" + url.QueryEscape(next)
}

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// codeSpans splits Markdown text at its backticks: the even parts are
// text, the odd ones code. An unmatched backtick stays as text.
func codeSpans(s string) []string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 { // an odd number of backticks: the last one is literal
		last := parts[len(parts)-2] + "`" + parts[len(parts)-1]
		parts = append(parts[:len(parts)-2], last)
	}
	return parts
}
