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
	"github.com/planner/planner/views"
)

// pageSize is how many events a page of the list shows.
const pageSize = 20

// Events serves the event pages.
type Events struct {
	cfg    Config
	events *models.Events
	audit  *models.Audit
	now    func() time.Time
}

func (h *Events) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
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
		Now:    h.clock(),
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
	e, err := h.load(c)
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
	e, err := h.loadEditable(c)
	if err != nil {
		return err
	}
	f := views.Form{Values: map[string]string{
		"title": e.Title, "image": e.Image, "description": e.Description, "location": e.Location,
		"tags": strings.Join(e.TagList(), ", "), "visibility": e.Visibility,
		"starts_at": h.formTime(e.StartsAt), "ends_at": h.formTime(e.EndsAt),
	}}
	return h.form(c, http.StatusOK, "Edit event", f, fmt.Sprintf("/events/%d/edit", e.ID), "Save changes")
}

// Update saves the form over the event.
func (h *Events) Update(c echo.Context) error {
	e, err := h.loadEditable(c)
	if err != nil {
		return err
	}
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
	e, err := h.loadEditable(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EventDelete(page(c, "Delete event"), h.view(e, viewer(c))))
}

// Delete removes the event. An admin deleting someone else's event leaves
// an audit entry.
func (h *Events) Delete(c echo.Context) error {
	e, err := h.loadEditable(c)
	if err != nil {
		return err
	}
	if err := deleteEvent(c, h.events, h.audit, e); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/events")
}

// loadEvent finds the event named in the path for the caller: notFound
// for a bad id, a missing event and one the caller may not see alike; with
// editable, forbidden for a visible event the caller may not change.
func loadEvent(c echo.Context, events *models.Events, editable bool, notFound, forbidden error) (*models.Event, error) {
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
	if editable && !e.EditableBy(viewer(c)) {
		return nil, forbidden
	}
	return e, nil
}

// deleteEvent deletes e for the caller; an admin deleting someone else's
// event leaves an audit entry naming the event and its creator.
func deleteEvent(c echo.Context, events *models.Events, audit *models.Audit, e *models.Event) error {
	ctx := c.Request().Context()
	if err := events.Delete(ctx, e.ID); err != nil {
		return err
	}
	if u := viewer(c); u.ID != e.CreatorID {
		target := fmt.Sprintf("event %d %q by %s", e.ID, e.Title, e.Creator.Email)
		_ = audit.Record(ctx, auditEntry(u, models.ActionEventDeletedAdmin, target, c.RealIP()))
	}
	return nil
}

func (h *Events) load(c echo.Context) (*models.Event, error) {
	return loadEvent(c, h.events, false, echo.ErrNotFound, errForbidden)
}

func (h *Events) loadEditable(c echo.Context) (*models.Event, error) {
	return loadEvent(c, h.events, true, echo.ErrNotFound, errForbidden)
}

func (h *Events) form(c echo.Context, status int, title string, f views.Form, action, submit string) error {
	return render(c, status, views.EventForm(page(c, title), f, action, submit, h.cfg.Timezone.String()))
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
		t, err := parseLocal(f.Values[k], h.cfg.Timezone)
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
	return t.In(h.cfg.Timezone).Format("2006-01-02T15:04")
}

// view turns an event into what the pages show.
func (h *Events) view(e *models.Event, viewer *models.User) views.EventView {
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
		v.When = formatWhen(e.StartsAt, e.EndsAt, h.cfg.Timezone)
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
