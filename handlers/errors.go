package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// isAPI reports whether a path belongs to the JSON API, whose errors are
// JSON rather than pages.
func isAPI(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/")
}

// handleError is the one place errors become responses: JSON
// {"detail": ...} under /api, an HTML page elsewhere. Server errors are
// logged with the request id and shown without detail.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var je *jsonError
	if errors.As(err, &je) && isAPI(c.Request().URL.Path) {
		if werr := c.JSON(je.Status, je.Body); werr != nil {
			s.log.Error("writing error response", "err", werr)
		}
		return
	}
	status, detail := classify(err)
	busy := errors.Is(err, models.ErrBusy) || errors.Is(err, models.ErrTimeout)
	if busy && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", "1")
	}
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if errors.Is(err, models.ErrTimeout) {
		s.log.Warn("request deadline passed", "request_id", reqID, "method", c.Request().Method,
			"path", c.Request().URL.Path, "status", status, "err", err)
	} else if status >= 500 && !busy {
		s.log.Error("request failed", "request_id", reqID, "method", c.Request().Method,
			"path", c.Request().URL.Path, "status", status, "err", err)
	} else {
		s.log.Debug("request refused", "request_id", reqID, "status", status, "err", err)
	}

	var werr error
	switch {
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(status)
	case isAPI(c.Request().URL.Path):
		werr = c.JSON(status, map[string]any{"detail": detail})
	default:
		msg := pageMessage(status, detail)
		if hint := retryHint(c.Response().Header().Get("Retry-After")); hint != "" {
			msg += " " + hint
		}
		werr = render(c, status, views.ErrorPage(page(c, pageTitle(status)), status, msg))
	}
	if werr != nil {
		s.log.Error("writing error response", "request_id", reqID, "err", werr)
	}
}

// classify maps an error to a status and a message safe to show.
func classify(err error) (int, string) {
	var he *echo.HTTPError
	var je *jsonError
	switch {
	case errors.As(err, &je):
		d, _ := je.Body["detail"].(string)
		return je.Status, d
	case errors.As(err, &he):
		if he.Code >= 500 {
			return he.Code, http.StatusText(he.Code)
		}
		if msg, ok := he.Message.(string); ok && msg != "" {
			return he.Code, msg
		}
		return he.Code, http.StatusText(he.Code)
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, "Not found"
	case errors.Is(err, models.ErrBusy), errors.Is(err, models.ErrTimeout):
		return http.StatusServiceUnavailable, msgBusy
	default:
		return http.StatusInternalServerError, "Internal Server Error"
	}
}

func pageTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Page not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusTooManyRequests:
		return "Too many requests"
	case http.StatusRequestEntityTooLarge:
		return "Request too large"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// pageMessage is the sentence an error page shows. Echo's own messages are
// written for developers; people get plain words for the common cases.
func pageMessage(status int, detail string) string {
	switch status {
	case http.StatusNotFound:
		return "There is nothing here. It may have been deleted, or it may never have existed."
	case http.StatusForbidden:
		if detail == msgCSRF {
			// The one 403 that reloading mends: a stale form, or one sent
			// from another site.
			return "This form could not be accepted: it was opened in another session, or sent from another site. Go back, reload the page and try again."
		}
		return "Your account is not allowed to do that."
	case http.StatusMethodNotAllowed:
		return "That address does not accept this kind of request."
	case http.StatusRequestEntityTooLarge:
		return "What you sent is too large."
	case http.StatusInternalServerError:
		return "Something went wrong on our side. It has been logged; please try again."
	}
	return detail
}

// msgCSRF is the detail of a refused CSRF check, which the 403 page tells
// apart from a refusal of who the caller is.
const msgCSRF = "Invalid or missing CSRF token"

// errForbidden is the 403 every refused page action answers with.
var errForbidden = echo.NewHTTPError(http.StatusForbidden, "Operation not allowed")
