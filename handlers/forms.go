package handlers

import (
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/views"
)

// formState is what every page form struct embeds: a message beside each
// bad field, keyed by the field's form name, and one about the whole form
// (such as a failed sign-in).
type formState struct {
	Errors  map[string]string
	Message string
	Hint    string // what to do about Message, such as when to try again
}

// fail sets the message of field, unless it already has one.
func (s *formState) fail(field, msg string) {
	if s.Errors == nil {
		s.Errors = map[string]string{}
	}
	if s.Errors[field] == "" {
		s.Errors[field] = msg
	}
}

// valid reports whether the form has no errors at all.
func (s *formState) valid() bool { return len(s.Errors) == 0 && s.Message == "" }

func (s *formState) state() *formState { return s }

// pageForm is a form struct: string fields tagged `form:"name"` (with
// ",secret" for passwords, which are never sent back) and formState.
type pageForm interface{ state() *formState }

// bindForm fills the tagged fields of f from the submitted form's body,
// never from the query string (see postForm).
func bindForm(c echo.Context, f pageForm) {
	form, _ := postForm(c)
	v := reflect.ValueOf(f).Elem()
	for _, field := range reflect.VisibleFields(v.Type()) {
		if name, _, ok := formTag(field); ok {
			v.FieldByIndex(field.Index).SetString(form.Get(name))
		}
	}
}

// viewForm is f as the views take it: the input kept (never a secret),
// and the messages.
func viewForm(f pageForm) views.Form {
	out := views.Form{Values: map[string]string{}, Errors: f.state().Errors, Message: f.state().Message, Hint: f.state().Hint}
	v := reflect.ValueOf(f).Elem()
	for _, field := range reflect.VisibleFields(v.Type()) {
		if name, secret, ok := formTag(field); ok && !secret {
			out.Values[name] = v.FieldByIndex(field.Index).String()
		}
	}
	return out
}

// formTag reads a string field's form tag.
func formTag(f reflect.StructField) (name string, secret, ok bool) {
	tag, found := f.Tag.Lookup("form")
	if !found || f.Type.Kind() != reflect.String {
		return "", false, false
	}
	name, opt, _ := strings.Cut(tag, ",")
	return name, opt == "secret", true
}
