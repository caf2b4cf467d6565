package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// pageSize is how many events a page of the list shows.
const pageSize = 20

// eventStore is what the event pages, the API and the admin ask of the
// events (*models.Events).
type eventStore interface {
	List(ctx context.Context, q models.EventQuery) (models.EventPage, error)
	Get(ctx context.Context, id uint) (*models.Event, error)
	Create(ctx context.Context, creatorID uint, in models.EventInput) (*models.Event, error)
	Update(ctx context.Context, id uint, in models.EventInput) (*models.Event, error)
	Delete(ctx context.Context, id uint) error
	DeleteAudited(ctx context.Context, id uint, entry models.AuditEntry) error
	CountByCreator(ctx context.Context, creatorID uint) (int64, error)
}

// Events serves the event pages.
type Events struct {
	events   eventStore
	timezone *time.Location
	clock    models.Clock
}

// NewEvents returns the event pages; cfg gives the time zone forms are read
// and dates shown in.
func NewEvents(cfg Config, events eventStore) *Events {
	return &Events{events: events, timezone: cfg.Timezone, clock: cfg.Clock}
}

// viewer returns the signed-in user, or nil.
func viewer(c echo.Context) *models.User {
	if p := principalOf(c); p != nil {
		return p.User
	}
	return nil
}

// Index lists the events the caller may see: upcoming soonest first, then
// past and undated ones; searchable, filterable by tag, paged by cursor.
func (h *Events) Index(c echo.Context) error {
	if !models.PlainLine(c.QueryParam("q")) || !models.PlainLine(c.QueryParam("tag")) {
		return echo.NewHTTPError(http.StatusBadRequest, "Search terms and tags must be plain text.")
	}
	q := models.EventQuery{
		Viewer: viewer(c),
		Q:      boundedParam(c.QueryParam("q"), 200),
		Tag:    boundedParam(c.QueryParam("tag"), models.MaxTagLen),
		Order:  models.OrderBrowse,
		Limit:  pageSize,
		After:  c.QueryParam("after"),
		Before: c.QueryParam("before"),
		Now:    h.clock.Now(),
	}
	list, err := h.events.List(c.Request().Context(), q)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, "That page link is not valid. Start again from the first page.")
	}
	if err != nil {
		return err
	}
	l := views.EventList{Q: q.Q, Tag: q.Tag}
	for i := range list.Events {
		l.Events = append(l.Events, h.view(&list.Events[i], q.Viewer))
	}
	l.NextURL, l.PrevURL = pageURLs("/events", map[string]string{"q": q.Q, "tag": q.Tag}, list.Next, list.Prev)
	return render(c, http.StatusOK, views.Events(page(c, "Events"), l))
}

// pageURLs builds a list's Next and Previous links (after and before
// cursors) at path, keeping its non-empty filters; an empty cursor gives no
// link.
func pageURLs(path string, filters map[string]string, next, prev string) (nextURL, prevURL string) {
	link := func(key, cursor string) string {
		if cursor == "" {
			return ""
		}
		v := url.Values{key: {cursor}}
		for k, f := range filters {
			if f != "" {
				v.Set(k, f)
			}
		}
		return path + "?" + v.Encode()
	}
	return link("after", next), link("before", prev)
}

// boundedParam trims a query parameter and cuts it to max runes, so a huge
// search term costs nothing.
func boundedParam(s string, max int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max])
	}
	return s
}

// Show renders one event.
func (h *Events) Show(c echo.Context) error {
	e, err := loadEvent(c, h.events, echo.ErrNotFound)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Event(page(c, e.Title), h.view(e, viewer(c))))
}

// New renders the empty event form.
func (h *Events) New(c echo.Context) error {
	f := views.Form{Values: map[string]string{"visibility": models.VisibilityPublic}}
	return h.form(c, http.StatusOK, "New event", f, "/events", "Create event")
}

// Create stores an event whose creator is the signed-in user, whatever the
// form says, and goes to its page.
func (h *Events) Create(c echo.Context) error {
	in, f := h.parse(c)
	if !f.Valid() {
		return h.form(c, http.StatusUnprocessableEntity, "New event", f, "/events", "Create event")
	}
	e, err := h.events.Create(c.Request().Context(), viewer(c).ID, in)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/events/%d", e.ID))
}

// Edit renders the form filled with the event, for its owner or an admin.
func (h *Events) Edit(c echo.Context) error {
	e := eventOf(c)
	f := views.Form{Values: map[string]string{
		"title": e.Title, "image": e.Image, "description": e.Description, "location": e.Location,
		"tags": strings.Join(e.TagList(), ", "), "visibility": e.Visibility,
		"starts_at": h.formTime(e.StartsAt), "ends_at": h.formTime(e.EndsAt),
	}}
	return h.form(c, http.StatusOK, "Edit event", f, fmt.Sprintf("/events/%d/edit", e.ID), "Save changes")
}

// Update saves the form over the event.
func (h *Events) Update(c echo.Context) error {
	e := eventOf(c)
	in, f := h.parse(c)
	if !f.Valid() {
		return h.form(c, http.StatusUnprocessableEntity, "Edit event", f, fmt.Sprintf("/events/%d/edit", e.ID), "Save changes")
	}
	if _, err := h.events.Update(c.Request().Context(), e.ID, in); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/events/%d", e.ID))
}

// ConfirmDelete asks before deleting.
func (h *Events) ConfirmDelete(c echo.Context) error {
	e := eventOf(c)
	return render(c, http.StatusOK, views.EventDelete(page(c, "Delete event"), h.view(e, viewer(c))))
}

// Delete removes the event. An admin deleting someone else's event leaves
// an audit entry.
func (h *Events) Delete(c echo.Context) error {
	e := eventOf(c)
	if err := deleteEvent(c, h.events, e); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/events")
}

// loadEvent finds the event named in the path for the caller: notFound
// for a bad id, a missing event and one the caller may not see alike.
func loadEvent(c echo.Context, events eventStore, notFound error) (*models.Event, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 32)
	if err != nil || id == 0 {
		return nil, notFound
	}
	e, err := events.Get(c.Request().Context(), uint(id))
	if errors.Is(err, models.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if !e.VisibleTo(viewer(c)) {
		return nil, notFound
	}
	return e, nil
}

// eventKey is where ownerOrAdmin keeps the event it loaded.
const eventKey = "planner.event"

// ownerOrAdmin is the rule for changing an event: it loads the event in
// the path and lets only its owner or an admin through, answering notFound
// when the caller may not even see it and forbidden when they may see but
// not change it. The handler behind it reads the event with eventOf.
func ownerOrAdmin(events eventStore, notFound, forbidden error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			e, err := loadEvent(c, events, notFound)
			if err != nil {
				return err
			}
			if !e.EditableBy(viewer(c)) {
				return forbidden
			}
			c.Set(eventKey, e)
			return next(c)
		}
	}
}

// eventOf returns the event ownerOrAdmin loaded.
func eventOf(c echo.Context) *models.Event { return c.Get(eventKey).(*models.Event) }

// OwnerOrAdmin guards the pages that change an event: the 404 page for an
// event the caller may not see, the 403 page for one they may not change.
func (h *Events) OwnerOrAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return ownerOrAdmin(h.events, echo.ErrNotFound, errForbidden)(next)
}

// deleteEvent deletes e for the caller; an admin deleting someone else's
// event leaves an audit entry naming the event and its creator.
func deleteEvent(c echo.Context, events eventStore, e *models.Event) error {
	ctx := c.Request().Context()
	u := viewer(c)
	if u.ID == e.CreatorID {
		return events.Delete(ctx, e.ID)
	}
	return events.DeleteAudited(ctx, e.ID, models.AuditEntry{ActorEmail: u.Email, ActorID: idString(u.ID),
		Action: models.ActionEventDeletedAdmin, Target: fmt.Sprintf("event %d %q by %s", e.ID, e.Title, e.Creator.Email),
		IP: c.RealIP(), Outcome: models.OutcomeSuccess})
}

func (h *Events) form(c echo.Context, status int, title string, f views.Form, action, submit string) error {
	return render(c, status, views.EventForm(page(c, title), f, action, submit, h.timezone.String()))
}

// parse reads the event form into an input, with a message per bad field.
// Unknown fields (creator, id) are never read.
func (h *Events) parse(c echo.Context) (models.EventInput, views.Form) {
	fields := []string{"title", "image", "description", "tags", "location", "starts_at", "ends_at", "visibility"}
	f := views.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, k := range fields {
		f.Values[k] = c.FormValue(k)
	}
	in := models.EventInput{
		Title:       f.Values["title"],
		Image:       f.Values["image"],
		Description: f.Values["description"],
		Tags:        strings.Split(f.Values["tags"], ","),
		Location:    f.Values["location"],
		Visibility:  f.Values["visibility"],
	}
	for _, k := range []string{"starts_at", "ends_at"} {
		t, err := parseLocal(f.Values[k], h.timezone)
		if err != nil {
			f.Errors[k] = "Enter a date and time like 2031-03-01 18:00"
			continue
		}
		if k == "starts_at" {
			in.StartsAt = t
		} else {
			in.EndsAt = t
		}
	}
	in.Normalize()
	for k, msg := range in.Validate() {
		if f.Errors[k] == "" {
			f.Errors[k] = msg
		}
	}
	return in, f
}

// parseLocal reads a datetime-local value in loc; "" is no time.
func parseLocal(s string, loc *time.Location) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			if t.Year() < 1900 || t.Year() > 9999 {
				break
			}
			return &t, nil
		}
	}
	return nil, errors.New("not a datetime-local value")
}

// formTime formats a stored time for a datetime-local input.
func (h *Events) formTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(h.timezone).Format("2006-01-02T15:04")
}

// view turns an event into what the pages show.
func (h *Events) view(e *models.Event, viewer *models.User) views.EventView {
	return eventView(e, viewer, h.timezone)
}

// eventView turns an event into what the pages show, dates in loc.
func eventView(e *models.Event, viewer *models.User, loc *time.Location) views.EventView {
	v := views.EventView{
		ID:          strconv.FormatUint(uint64(e.ID), 10),
		Title:       e.Title,
		Image:       e.Image,
		Description: e.Description,
		Location:    e.Location,
		Tags:        e.TagList(),
		CreatorName: e.Creator.Name,
		Private:     e.Visibility == models.VisibilityPrivate,
		CanEdit:     e.EditableBy(viewer),
	}
	if e.StartsAt != nil {
		v.When = formatWhen(e.StartsAt, e.EndsAt, loc)
		v.StartsISO = e.StartsAt.UTC().Format(time.RFC3339)
	}
	return v
}

// formatWhen shows a date range readably in loc: the end's date is left
// out when it is the same day.
func formatWhen(start, end *time.Time, loc *time.Location) string {
	s := start.In(loc)
	out := s.Format("Mon 2 Jan 2006, 15:04")
	if end != nil && !end.Equal(*start) {
		e := end.In(loc)
		if e.Year() == s.Year() && e.YearDay() == s.YearDay() {
			out += " – " + e.Format("15:04")
		} else {
			out += " – " + e.Format("Mon 2 Jan 2006, 15:04")
		}
	}
	return out + " " + s.Format("MST")
}
