package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Messages of the API contract, word for word.
const (
	msgNotAuthenticated = "Not authenticated"
	msgInvalidToken     = "Invalid or expired token"
	msgEventNotFound    = "Event with supplied ID does not exist"
	msgNotAllowed       = "Operation not allowed"
	msgUserExists       = "User with email provided exists already."
)

// jsonError is an API error whose body is not just {"detail": message}:
// OAuth errors and FastAPI-style validation errors. The error handler
// writes Body as it is.
type jsonError struct {
	Status int
	Body   map[string]any
}

func (e *jsonError) Error() string {
	return fmt.Sprintf("api error %d: %v", e.Status, e.Body["detail"])
}

// fieldError is one item of a 422 body, as FastAPI shapes it.
type fieldError struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

// invalid returns the 422 for the given problems, sorted for stable output.
func invalid(items ...fieldError) error {
	sort.SliceStable(items, func(i, j int) bool { return strings.Join(items[i].Loc, ".") < strings.Join(items[j].Loc, ".") })
	return &jsonError{Status: http.StatusUnprocessableEntity, Body: map[string]any{"detail": items}}
}

// invalidFields turns a field→message map (from a model's Validate) into
// 422 items located in where ("body" or "query").
func invalidFields(where string, errs map[string]string) error {
	items := make([]fieldError, 0, len(errs))
	for field, msg := range errs {
		items = append(items, fieldError{Loc: []string{where, field}, Msg: msg, Type: "value_error"})
	}
	return invalid(items...)
}

func missing(where, field string) fieldError {
	return fieldError{Loc: []string{where, field}, Msg: "field required", Type: "value_error.missing"}
}

// decodeJSON reads the request body as one JSON object into dst: malformed
// JSON is 400, a value of the wrong type is 422 naming the field, and
// unknown keys are ignored (clients may send more than we read). JSON is
// UTF-8 (RFC 8259): a body that is not is refused, where encoding/json
// would quietly turn the bad bytes into U+FFFD and store them.
func decodeJSON(c echo.Context, dst any) error {
	body, err := io.ReadAll(c.Request().Body) // bounded by the body limit
	if isTooLarge(err) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The body could not be read").SetInternal(err)
	}
	if !utf8.Valid(body) {
		return echo.NewHTTPError(http.StatusBadRequest, "Malformed JSON: the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err = dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return echo.NewHTTPError(http.StatusBadRequest, "Malformed JSON: unexpected data after the JSON object")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid(fieldError{Loc: []string{"body"}, Msg: "the body must be a JSON object", Type: "type_error.dict"})
		}
		return invalid(fieldError{Loc: []string{"body", typeErr.Field}, Msg: "must be " + jsonKind(typeErr.Type.Kind().String()), Type: "type_error"})
	case errors.Is(err, io.EOF):
		return echo.NewHTTPError(http.StatusBadRequest, "Malformed JSON: the body is empty")
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Malformed JSON: "+err.Error())
	}
}

// isTooLarge reports whether reading a body failed on the body limit: the
// BodyLimit middleware's reader (a body without Content-Length) or
// http.MaxBytesReader.
func isTooLarge(err error) bool {
	var maxBytes *http.MaxBytesError
	var he *echo.HTTPError
	return errors.As(err, &maxBytes) || errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string", "ptr":
		return "a string"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}
