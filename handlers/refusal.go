package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
)

// Messages the spec fixes word for word.
const (
	msgBadCredentials = "Incorrect email or password"
	msgTooMany        = "Too many failed sign-ins. Try again later."
	msgBusy           = "The server is busy. Try again."
	msgEmailTaken     = "An account with this email already exists"
)

// refusal is a sign-in, sign-up or password check the accounts service
// turned down for a reason the caller is told: bad credentials, a throttled
// pair, or hashing saturated.
type refusal struct {
	status  int
	message string
	hint    string // when to try again, for the pages
}

// refuse classifies err and sets Retry-After where the spec asks for it.
// ok is false for errors that are not refusals; the caller returns those as
// they are.
func refuse(c echo.Context, err error) (r refusal, ok bool) {
	var te *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		return refusal{http.StatusUnauthorized, msgBadCredentials, ""}, true
	case errors.As(err, &te):
		c.Response().Header().Set("Retry-After", te.RetryAfter())
		return refusal{http.StatusTooManyRequests, msgTooMany, retryHint(te.RetryAfter())}, true
	case errors.Is(err, models.ErrBusy):
		c.Response().Header().Set("Retry-After", "1")
		return refusal{http.StatusServiceUnavailable, msgBusy, ""}, true
	}
	return refusal{}, false
}

// refuseAPI is refuse for the API: the OAuth invalid_grant body for bad
// credentials, {"detail": ...} for the rest, and err itself when it is no
// refusal.
func refuseAPI(c echo.Context, err error) error {
	r, ok := refuse(c, err)
	switch {
	case !ok:
		return err
	case r.status == http.StatusUnauthorized:
		return &jsonError{Status: r.status, Body: map[string]any{"detail": r.message, "error": "invalid_grant"}}
	default:
		return echo.NewHTTPError(r.status, r.message).SetInternal(err)
	}
}

// retryHint says in words when a Retry-After of seconds runs out: the
// spec's messages say "later", a person wants to know how much later.
func retryHint(seconds string) string {
	n, err := strconv.Atoi(seconds)
	switch {
	case err != nil || n <= 0:
		return ""
	case n == 1:
		return "You can try again in a second."
	case n < 90:
		return fmt.Sprintf("You can try again in %d seconds.", n)
	default:
		return fmt.Sprintf("You can try again in about %d minutes.", (n+59)/60)
	}
}
