package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
)

// APIEvents serves /api/event: the tutorial's event routes.
type APIEvents struct {
	events  eventStore
	cache   *publicCache
	baseURL string
	clock   models.Clock
}

// NewAPIEvents returns the API's event routes; cache serves anonymous
// reads.
func NewAPIEvents(cfg Config, events eventStore, cache *publicCache) *APIEvents {
	return &APIEvents{events: events, cache: cache, baseURL: cfg.BaseURL.String(), clock: cfg.Clock}
}

// eventBody is what create and PUT read: only the fields a client may set.
// Pointers tell "absent or null" (nil) from a value, which PUT leaves
// unchanged; id, creator, times and unknown keys are never read.
type eventBody struct {
	Title       *string   `json:"title"`
	Image       *string   `json:"image"`
	Description *string   `json:"description"`
	Tags        *[]string `json:"tags"`
	Location    *string   `json:"location"`
	StartsAt    *string   `json:"starts_at"`
	EndsAt      *string   `json:"ends_at"`
	Visibility  *string   `json:"visibility"`
}

// over applies the body's fields over in, with a problem per bad time.
func (b eventBody) over(in models.EventInput) (models.EventInput, []fieldError) {
	var problems []fieldError
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Title, b.Title)
	set(&in.Image, b.Image)
	set(&in.Description, b.Description)
	set(&in.Location, b.Location)
	set(&in.Visibility, b.Visibility)
	if b.Tags != nil {
		in.Tags = *b.Tags
	}
	for _, f := range []struct {
		name string
		src  *string
		dst  **time.Time
	}{{"starts_at", b.StartsAt, &in.StartsAt}, {"ends_at", b.EndsAt, &in.EndsAt}} {
		if f.src == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(*f.src))
		if err != nil {
			problems = append(problems, fieldError{Loc: []string{"body", f.name},
				Msg: "must be an RFC 3339 date-time such as 2031-03-01T18:00:00Z", Type: "value_error.datetime"})
			continue
		}
		*f.dst = &t
	}
	in.Normalize()
	return in, problems
}

// EventJSON is an event as the API shows it. cmd/planner-baseline encodes
// the very same type, so make bench compares like with like.
type EventJSON struct {
	ID          uint     `json:"id"`
	Creator     *string  `json:"creator"`
	CreatorName string   `json:"creator_name"`
	Title       string   `json:"title"`
	Image       string   `json:"image"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Location    string   `json:"location"`
	StartsAt    *string  `json:"starts_at"`
	EndsAt      *string  `json:"ends_at"`
	Visibility  string   `json:"visibility"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// toJSON shapes e for viewer: the creator's email only for the creator
// and admins.
func toJSON(e *models.Event, viewer *models.User) EventJSON {
	out := EventJSON{
		ID: e.ID, CreatorName: e.Creator.Name, Title: e.Title, Image: e.Image, Description: e.Description,
		Tags: e.TagList(), Location: e.Location, Visibility: e.Visibility,
		CreatedAt: apiTime(e.CreatedAt), UpdatedAt: apiTime(e.UpdatedAt),
	}
	if e.EditableBy(viewer) {
		email := e.Creator.Email
		out.Creator = &email
	}
	if e.StartsAt != nil {
		s := apiTime(*e.StartsAt)
		out.StartsAt = &s
	}
	if e.EndsAt != nil {
		s := apiTime(*e.EndsAt)
		out.EndsAt = &s
	}
	return out
}

// List answers GET /api/event/: public events plus the caller's private
// ones (every one for admins), by id or upcoming first, a page at a time
// with the next page in an absolute Link header.
func (h *APIEvents) List(c echo.Context) error {
	v := viewer(c)
	q := models.EventQuery{Viewer: v, AllPrivate: v != nil && v.IsAdmin(), Order: models.OrderID, Limit: 50, Now: h.clock.Now()}
	params := c.QueryParams()
	var problems []fieldError
	if s, ok := params["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > models.MaxPageSize {
			problems = append(problems, fieldError{Loc: []string{"query", "limit"},
				Msg: fmt.Sprintf("must be a whole number from 1 to %d", models.MaxPageSize), Type: "value_error.number"})
		}
		q.Limit = n
	}
	switch params.Get("upcoming") {
	case "", "0", "false":
	case "1", "true":
		q.Order = models.OrderUpcoming
	default:
		problems = append(problems, fieldError{Loc: []string{"query", "upcoming"}, Msg: "must be 1 or 0", Type: "type_error.bool"})
	}
	q.Q, q.Tag, q.After = params.Get("q"), params.Get("tag"), params.Get("cursor")
	if len([]rune(q.Q)) > 200 {
		problems = append(problems, fieldError{Loc: []string{"query", "q"}, Msg: "must be at most 200 characters", Type: "value_error.any_str.max_length"})
	}
	if len([]rune(q.Tag)) > models.MaxTagLen {
		problems = append(problems, fieldError{Loc: []string{"query", "tag"}, Msg: fmt.Sprintf("must be at most %d characters", models.MaxTagLen), Type: "value_error.any_str.max_length"})
	}
	for _, p := range []struct{ name, value string }{{"q", q.Q}, {"tag", q.Tag}} {
		if !models.PlainLine(p.value) {
			problems = append(problems, fieldError{Loc: []string{"query", p.name},
				Msg: "must be plain text (valid UTF-8, no control characters)", Type: "value_error.str"})
		}
	}
	if len(problems) > 0 {
		return invalid(problems...)
	}
	// Anonymous callers all get the same answer for the same page.
	key := ""
	if q.Order == models.OrderID {
		key = listCacheKey(q)
	}
	return h.cache.respond(c, key, func() (any, string, error) {
		page, err := h.events.List(c.Request().Context(), q)
		if errors.Is(err, models.ErrBadCursor) {
			return nil, "", invalid(fieldError{Loc: []string{"query", "cursor"}, Msg: "invalid cursor", Type: "value_error"})
		}
		if err != nil {
			return nil, "", err
		}
		out := make([]EventJSON, 0, len(page.Events))
		for i := range page.Events {
			out = append(out, toJSON(&page.Events[i], v))
		}
		if page.Next == "" {
			return out, "", nil
		}
		next := url.Values{}
		next.Set("limit", strconv.Itoa(q.Limit))
		next.Set("cursor", page.Next)
		for _, k := range []string{"q", "tag"} {
			if params.Get(k) != "" {
				next.Set(k, params.Get(k))
			}
		}
		if q.Order == models.OrderUpcoming {
			next.Set("upcoming", "1")
		}
		return out, fmt.Sprintf(`<%s/api/event/?%s>; rel="next"`, h.baseURL, next.Encode()), nil
	})
}

// Get answers one event, 404 alike for missing and invisible. Anonymous
// callers are served from the public cache.
func (h *APIEvents) Get(c echo.Context) error {
	return h.cache.respond(c, eventCacheKey(c.Param("id")), func() (any, string, error) {
		e, err := loadEvent(c, h.events, errEventNotFound)
		if err != nil {
			return nil, "", err
		}
		return toJSON(e, viewer(c)), "", nil
	})
}

// Create stores a new event whose creator is the caller.
func (h *APIEvents) Create(c echo.Context) error {
	var b eventBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Title == nil {
		return invalid(missing("body", "title"))
	}
	in, problems := b.over(models.EventInput{})
	if err := h.check(in, problems); err != nil {
		return err
	}
	e, err := h.events.Create(c.Request().Context(), viewer(c).ID, in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/event/%d", e.ID))
	return c.JSON(http.StatusOK, map[string]any{"message": "Event created successfully", "id": e.ID})
}

// Update changes the fields the body carries; absent and null ones stay,
// and tags replace the list. Checked in order: 401 (middleware), 404, 403,
// then the body.
func (h *APIEvents) Update(c echo.Context) error {
	e := eventOf(c)
	var b eventBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	base := models.EventInput{Title: e.Title, Image: e.Image, Description: e.Description, Tags: e.TagList(),
		Location: e.Location, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Visibility: e.Visibility}
	in, problems := b.over(base)
	if err := h.check(in, problems); err != nil {
		return err
	}
	updated, err := h.events.Update(c.Request().Context(), e.ID, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toJSON(updated, viewer(c)))
}

// Delete removes the event.
func (h *APIEvents) Delete(c echo.Context) error {
	e := eventOf(c)
	if err := deleteEvent(c, h.events, e); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"message": "Event deleted successfully."})
}

func (h *APIEvents) check(in models.EventInput, problems []fieldError) error {
	errs := in.Validate()
	for _, p := range problems {
		delete(errs, p.Loc[1]) // the time's own message says more
	}
	if len(problems) == 0 && len(errs) == 0 {
		return nil
	}
	for f, msg := range errs {
		problems = append(problems, fieldError{Loc: []string{"body", f}, Msg: msg, Type: "value_error"})
	}
	return invalid(problems...)
}

var (
	errEventNotFound  = echo.NewHTTPError(http.StatusNotFound, msgEventNotFound)
	errEventForbidden = echo.NewHTTPError(http.StatusForbidden, msgNotAllowed)
)

// OwnerOrAdmin guards the API's event changes: 404 for an event the
// caller may not see, 403 for one they may not change.
func (h *APIEvents) OwnerOrAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return ownerOrAdmin(h.events, errEventNotFound, errEventForbidden)(next)
}
