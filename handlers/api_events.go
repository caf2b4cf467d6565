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
	events   eventStore
	rsvps    rsvpStore
	queued   mailQueued
	cache    *publicCache
	baseURL  string
	clock    models.Clock
	timezone *time.Location // the default zone
}

// NewAPIEvents returns the API's event routes; cache serves anonymous
// reads.
func NewAPIEvents(cfg Config, events eventStore, rsvps rsvpStore, cache *publicCache) *APIEvents {
	return &APIEvents{events: events, rsvps: rsvps, queued: cfg.MailQueued, cache: cache, baseURL: cfg.BaseURL.String(),
		clock: cfg.Clock, timezone: cfg.Timezone}
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
	Timezone    *string   `json:"timezone"`
	Capacity    *int      `json:"capacity"` // 0 removes the limit
	RSVPOpen    *bool     `json:"rsvp_open"`
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
	set(&in.Timezone, b.Timezone)
	if b.Tags != nil {
		in.Tags = *b.Tags
	}
	if b.Capacity != nil {
		in.Capacity = nil
		if *b.Capacity != 0 {
			n := *b.Capacity
			in.Capacity = &n
		}
	}
	if b.RSVPOpen != nil {
		in.RSVPClosed = !*b.RSVPOpen
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
	Timezone    string   `json:"timezone"`
	Capacity    *int     `json:"capacity"`
	RSVPOpen    bool     `json:"rsvp_open"`
	GoingCount  int      `json:"going_count"`
	Waitlist    int      `json:"waitlist_count"`
	MyRSVP      *string  `json:"my_rsvp"` // going, waitlisted or null (always null for anonymous callers)
}

// toJSON shapes e for viewer: the creator's email only for the creator
// and admins; myRSVP is the viewer's answer ("" for none). def is the zone
// of events made before zones existed.
func toJSON(e *models.Event, viewer *models.User, myRSVP string, def *time.Location) EventJSON {
	out := EventJSON{
		ID: e.ID, CreatorName: e.Creator.Name, Title: e.Title, Image: e.Image, Description: e.Description,
		Tags: e.TagList(), Location: e.Location, Visibility: e.Visibility,
		CreatedAt: apiTime(e.CreatedAt), UpdatedAt: apiTime(e.UpdatedAt),
		Timezone: eventZone(e, def).String(), Capacity: e.Capacity, RSVPOpen: e.RSVPOpen,
		GoingCount: e.GoingCount, Waitlist: e.WaitlistCount,
	}
	if myRSVP != "" {
		out.MyRSVP = &myRSVP
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
		mine := map[uint]string{}
		if v != nil {
			ids := make([]uint, len(page.Events))
			for i := range page.Events {
				ids[i] = page.Events[i].ID
			}
			if mine, err = h.rsvps.MyRSVPs(c.Request().Context(), v.ID, ids); err != nil {
				return nil, "", err
			}
		}
		out := make([]EventJSON, 0, len(page.Events))
		for i := range page.Events {
			out = append(out, toJSON(&page.Events[i], v, mine[page.Events[i].ID], h.timezone))
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
		return h.eventJSON(c, e)
	})
}

// eventJSON is e for the caller, with their RSVP.
func (h *APIEvents) eventJSON(c echo.Context, e *models.Event) (EventJSON, string, error) {
	v, mine := viewer(c), ""
	if v != nil {
		var err error
		if mine, err = h.events.MyRSVP(c.Request().Context(), e.ID, v.ID); err != nil {
			return EventJSON{}, "", err
		}
	}
	return toJSON(e, v, mine, h.timezone), "", nil
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
	if in.Timezone == "" {
		in.Timezone = h.timezone.String()
	}
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
	in, problems := b.over(e.Input())
	if err := h.check(in, problems); err != nil {
		return err
	}
	updated, promoted, err := h.events.UpdatePromoting(c.Request().Context(), e.ID, in)
	if err != nil {
		return err
	}
	if len(promoted) > 0 {
		h.queued.wake()
	}
	out, _, err := h.eventJSON(c, updated)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
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

// RSVP answers going for the caller (or joins the waitlist when full) and
// returns the event as the caller now sees it.
func (h *APIEvents) RSVP(c echo.Context) error {
	e, err := loadEvent(c, h.events, errEventNotFound)
	if err != nil {
		return err
	}
	u := viewer(c)
	res, err := h.rsvps.RSVP(c.Request().Context(), e.ID, models.RSVPActor{User: u, IP: c.RealIP()})
	if errors.Is(err, models.ErrRSVPClosed) {
		return errRSVPClosed
	}
	if err != nil {
		return err
	}
	if res.Changed && res.Status == models.RSVPGoing {
		h.queued.wake()
	}
	return h.answerEvent(c, e.ID)
}

// CancelRSVP withdraws the caller's RSVP (the first waiter gets the seat)
// and returns the event as the caller now sees it.
func (h *APIEvents) CancelRSVP(c echo.Context) error {
	e, err := loadEvent(c, h.events, errEventNotFound)
	if err != nil {
		return err
	}
	res, err := h.rsvps.CancelRSVP(c.Request().Context(), e.ID, models.RSVPActor{User: viewer(c), IP: c.RealIP()})
	if err != nil {
		return err
	}
	if len(res.Promoted) > 0 {
		h.queued.wake()
	}
	return h.answerEvent(c, e.ID)
}

// answerEvent reads the event again (its counts moved) and answers it.
func (h *APIEvents) answerEvent(c echo.Context, id uint) error {
	e, err := h.events.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out, _, err := h.eventJSON(c, e)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// AttendeeJSON is one RSVP as the owner sees it.
type AttendeeJSON struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Status      string `json:"status"`
	AnsweredAt  string `json:"answered_at"`
	StatusSince string `json:"status_since"`
}

// Attendees answers the event's RSVPs for its owner and admins: going,
// then the waitlist in order.
func (h *APIEvents) Attendees(c echo.Context) error {
	e := eventOf(c)
	list, err := h.rsvps.Attendees(c.Request().Context(), e.ID, 0)
	if err != nil {
		return err
	}
	out := struct {
		Going    []AttendeeJSON `json:"going"`
		Waitlist []AttendeeJSON `json:"waitlist"`
	}{Going: []AttendeeJSON{}, Waitlist: []AttendeeJSON{}}
	for _, a := range list {
		j := AttendeeJSON{Name: a.Name, Email: a.Email, Status: a.Status, AnsweredAt: apiTime(a.CreatedAt), StatusSince: apiTime(a.UpdatedAt)}
		if a.Status == models.RSVPGoing {
			out.Going = append(out.Going, j)
		} else {
			out.Waitlist = append(out.Waitlist, j)
		}
	}
	return c.JSON(http.StatusOK, out)
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
