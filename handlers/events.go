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
	UpdatePromoting(ctx context.Context, id uint, in models.EventInput) (*models.Event, []uint, error)
	Delete(ctx context.Context, id uint) error
	DeleteAudited(ctx context.Context, id uint, entry models.AuditEntry) error
	CountByCreator(ctx context.Context, creatorID uint) (int64, error)
	MyRSVP(ctx context.Context, eventID, userID uint) (string, error)
}

// Events serves the event pages, the home page's upcoming events included.
type Events struct {
	events   eventStore
	lists    eventLister // the list pages' reads: events, or pages kept of it
	rsvps    rsvpStore
	timezone *time.Location // the default zone
	clock    models.Clock
	secrets  derivedSecrets
	queued   mailQueued
	baseURL  string
	secure   bool // Secure cookies (the flash)
	cal      calendarWriter
}

// NewEvents returns the event pages; cfg gives the default time zone, the
// keys share links are derived from and the public origin. lists answers
// the home page's and the events list's reads (a pageLists over events, or
// events itself).
func NewEvents(cfg Config, events eventStore, rsvps rsvpStore, lists eventLister) *Events {
	return &Events{events: events, lists: lists, rsvps: rsvps, timezone: cfg.Timezone, clock: cfg.Clock,
		secrets: derivedSecrets{keys: cfg.SecretKeys}, queued: cfg.MailQueued, baseURL: cfg.BaseURL.String(), secure: cfg.Secure(), cal: newCalendarWriter(cfg)}
}

// viewer returns the signed-in user, or nil.
func viewer(c echo.Context) *models.User {
	if p := principalOf(c); p != nil {
		return p.User
	}
	return nil
}

// homeEvents is how many upcoming events the home page shows.
const homeEvents = 5

// Home renders the landing page with the next upcoming public events.
func (h *Events) Home(c echo.Context) error {
	list, err := h.lists.List(c.Request().Context(), models.EventQuery{
		Order: models.OrderUpcoming, Limit: homeEvents, Now: h.clock.Now(),
	})
	if err != nil {
		return err
	}
	upcoming := make([]views.EventView, 0, len(list.Events))
	for i := range list.Events {
		upcoming = append(upcoming, h.view(&list.Events[i], viewer(c)))
	}
	mine, err := h.myNext(c, homeEvents)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Home(page(c, "Planner"), upcoming, mine))
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
	list, err := h.lists.List(c.Request().Context(), q)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, "That page link is not valid. Start again from the first page.")
	}
	if err != nil {
		return err
	}
	l := views.EventList{Q: q.Q, Tag: q.Tag}
	for i := range list.Events {
		e := &list.Events[i]
		name, id := "No date", "undated"
		switch {
		case e.StartsAt != nil && !e.StartsAt.Before(list.Now): // as the listing split them
			name, id = "Upcoming", "upcoming"
		case e.StartsAt != nil:
			name, id = "Past", "past"
		}
		if n := len(l.Groups); n == 0 || l.Groups[n-1].ID != id {
			l.Groups = append(l.Groups, views.EventGroup{Name: name, ID: id})
		}
		g := &l.Groups[len(l.Groups)-1]
		g.Events = append(g.Events, h.view(e, q.Viewer))
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

// Show renders one event, or its iCalendar file for /events/{id}.ics (one
// route: Echo's :id would otherwise swallow the suffix). A private event
// opens to anyone with its share link's key (?key=).
func (h *Events) Show(c echo.Context) error {
	idText, ics := strings.CutSuffix(c.Param("id"), ".ics")
	key := c.QueryParam("key")
	e, err := loadEventID(c, idText, h.events, echo.ErrNotFound, h.keyOK(key))
	if err != nil {
		return err
	}
	if ics {
		return h.eventICS(c, e)
	}
	v, err := h.fullView(c, e, key)
	if err != nil {
		return err
	}
	p := page(c, e.Title)
	if v.Image != "" {
		p.Scripts = []string{"event-page.js"} // takes a broken image out of the page
	}
	return render(c, http.StatusOK, views.Event(p, v))
}

// keyOK checks a share link's key against the event it claims to open.
func (h *Events) keyOK(key string) func(*models.Event) bool {
	if key == "" {
		return nil
	}
	return func(e *models.Event) bool { return h.secrets.ShareKeyOK(e.ID, e.ShareGen, key) }
}

// fullView is the event page's view: the list view plus the caller's RSVP,
// the share link for its owner and the key the page was opened with (so
// its forms and calendar link carry it on).
func (h *Events) fullView(c echo.Context, e *models.Event, key string) (views.EventView, error) {
	u := viewer(c)
	v := h.view(e, u)
	if u != nil {
		status, err := h.events.MyRSVP(c.Request().Context(), e.ID, u.ID)
		if err != nil {
			return v, err
		}
		v.MyRSVP = status
	}
	if key != "" && h.secrets.ShareKeyOK(e.ID, e.ShareGen, key) && !e.VisibleTo(u) {
		v.Key = key
	}
	v.ICSURL = v.URL() + ".ics"
	if v.Key != "" {
		v.ICSURL += "?key=" + url.QueryEscape(v.Key)
	}
	if e.EditableBy(u) && e.Visibility == models.VisibilityPrivate {
		v.Shareable = true
		if e.ShareGen > 0 {
			v.ShareURL = h.baseURL + v.URL() + "?key=" + h.secrets.ShareKey(e.ID, e.ShareGen)
		}
	}
	return v, nil
}

// eventFields is the event form of the create and edit pages. Unknown
// fields (creator, id) are never read.
type eventFields struct {
	Title       string `form:"title"`
	Image       string `form:"image"`
	Description string `form:"description"`
	Tags        string `form:"tags"`
	Location    string `form:"location"`
	StartsAt    string `form:"starts_at"`
	EndsAt      string `form:"ends_at"`
	Visibility  string `form:"visibility"`
	Timezone    string `form:"timezone"`
	Capacity    string `form:"capacity"`
	RSVP        string `form:"rsvp"` // "closed", else open
	formState
}

// eventFormPage is one of the two pages the event form is on; flash is
// the notice the event's page shows once the form is saved.
type eventFormPage struct{ title, action, submit, flash string }

var newEventPage = eventFormPage{title: "New event", action: "/events", submit: "Create event", flash: "event_created"}

func editEventPage(e *models.Event) eventFormPage {
	return eventFormPage{title: "Edit event", action: fmt.Sprintf("/events/%d/edit", e.ID), submit: "Save changes", flash: "event_updated"}
}

// New renders the empty event form.
func (h *Events) New(c echo.Context) error {
	return h.form(c, http.StatusOK, newEventPage, &eventFields{Visibility: models.VisibilityPublic,
		Timezone: viewerZone(viewer(c), h.timezone).String(), RSVP: "open"})
}

// Create stores an event whose creator is the signed-in user, whatever the
// form says, and goes to its page.
func (h *Events) Create(c echo.Context) error {
	return h.save(c, newEventPage, func(ctx context.Context, in models.EventInput) (uint, error) {
		e, err := h.events.Create(ctx, viewer(c).ID, in)
		if err != nil {
			return 0, err
		}
		return e.ID, nil
	})
}

// Edit renders the form filled with the event, for its owner or an admin.
func (h *Events) Edit(c echo.Context) error {
	e := eventOf(c)
	zone := eventZone(e, h.timezone)
	f := &eventFields{Title: e.Title, Image: e.Image, Description: e.Description, Location: e.Location,
		Tags: strings.Join(e.TagList(), ", "), Visibility: e.Visibility, Timezone: zone.String(),
		StartsAt: formTime(e.StartsAt, zone), EndsAt: formTime(e.EndsAt, zone), RSVP: "open"}
	if e.Capacity != nil {
		f.Capacity = strconv.Itoa(*e.Capacity)
	}
	if !e.RSVPOpen {
		f.RSVP = "closed"
	}
	return h.form(c, http.StatusOK, editEventPage(e), f)
}

// Update saves the form over the event.
func (h *Events) Update(c echo.Context) error {
	e := eventOf(c)
	return h.save(c, editEventPage(e), func(ctx context.Context, in models.EventInput) (uint, error) {
		_, promoted, err := h.events.UpdatePromoting(ctx, e.ID, in)
		if err == nil && len(promoted) > 0 {
			h.queued.wake()
		}
		return e.ID, err
	})
}

// save reads the submitted form and, when it is valid, stores it with
// store and goes to the event's page; else it shows the form again.
func (h *Events) save(c echo.Context, at eventFormPage, store func(ctx context.Context, in models.EventInput) (uint, error)) error {
	var f eventFields
	bindForm(c, &f)
	in := h.input(&f)
	if !f.valid() {
		return h.form(c, http.StatusUnprocessableEntity, at, &f)
	}
	id, err := store(c.Request().Context(), in)
	if err != nil {
		return err
	}
	setFlash(c, h.secure, at.flash)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/events/%d", id))
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
	setFlash(c, h.secure, "event_deleted")
	return c.Redirect(http.StatusSeeOther, "/events")
}

// loadEvent finds the event named in the path for the caller: notFound
// for a bad id, a missing event and one the caller may not see alike.
func loadEvent(c echo.Context, events eventStore, notFound error) (*models.Event, error) {
	return loadEventID(c, c.Param("id"), events, notFound, nil)
}

// loadEventID is loadEvent for an id given as text. keyOK, when set, lets
// a holder of the event's share link see a private event.
func loadEventID(c echo.Context, idText string, events eventStore, notFound error, keyOK func(*models.Event) bool) (*models.Event, error) {
	id, err := strconv.ParseUint(idText, 10, 32)
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
	ok, err := canSee(c, events, e, keyOK)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound
	}
	return e, nil
}

// canSee is who may see an event: anyone a public one; a private one its
// owner and admins, whoever holds its share link, and whoever answered it
// (through the link) and has not cancelled, so an attendee keeps seeing
// the event they go to after the link is rotated.
func canSee(c echo.Context, events eventStore, e *models.Event, keyOK func(*models.Event) bool) (bool, error) {
	v := viewer(c)
	if e.VisibleTo(v) || (keyOK != nil && keyOK(e)) {
		return true, nil
	}
	if v == nil {
		return false, nil
	}
	status, err := events.MyRSVP(c.Request().Context(), e.ID, v.ID)
	return status != "", err
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

func (h *Events) form(c echo.Context, status int, at eventFormPage, f *eventFields) error {
	zone := h.timezone
	if name := strings.TrimSpace(f.Timezone); models.ValidTimezone(name) {
		zone = zoneOr(name, h.timezone)
	}
	hints := views.TimeHints{Zone: zone.String(), Shown: map[string]string{}}
	for name, value := range map[string]string{"starts_at": f.StartsAt, "ends_at": f.EndsAt} {
		if t, err := parseLocal(value, zone); err == nil && t != nil {
			hints.Shown[name] = formatWhen(t, nil, zone) + " " + zoneLabel(*t, zone)
		}
	}
	return render(c, status, views.EventForm(page(c, at.title), viewForm(f), at.action, at.submit, commonZones, hints))
}

// input reads the form into an event input, with a message per bad field.
func (h *Events) input(f *eventFields) models.EventInput {
	in := models.EventInput{Title: f.Title, Image: f.Image, Description: f.Description,
		Tags: strings.Split(f.Tags, ","), Location: f.Location, Visibility: f.Visibility,
		Timezone: strings.TrimSpace(f.Timezone), RSVPClosed: f.RSVP == "closed"}
	if in.Timezone == "" {
		in.Timezone = h.timezone.String()
	}
	zone := h.timezone
	if models.ValidTimezone(in.Timezone) {
		zone = zoneOr(in.Timezone, h.timezone)
	}
	if c := strings.TrimSpace(f.Capacity); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			n = -1 // Validate's message
		}
		in.Capacity = &n
	}
	for _, t := range []struct {
		name, value string
		dst         **time.Time
	}{{"starts_at", f.StartsAt, &in.StartsAt}, {"ends_at", f.EndsAt, &in.EndsAt}} {
		at, err := parseLocal(t.value, zone)
		if errors.Is(err, errNoSuchTime) {
			f.fail(t.name, fmt.Sprintf("%s does not exist in %s: the clocks skip it that day. Pick another time.",
				strings.Replace(strings.TrimSpace(t.value), "T", " ", 1), zone))
			continue
		}
		if err != nil {
			f.fail(t.name, "Enter a date and time like 2031-03-01 18:00")
			continue
		}
		*t.dst = at
	}
	in.Normalize()
	for k, msg := range in.Validate() {
		f.fail(k, msg)
	}
	return in
}

// formTime formats a stored time for a datetime-local input in zone.
func formTime(t *time.Time, zone *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(zone).Format("2006-01-02T15:04")
}

// view turns an event into what the pages show: its times in its own
// zone, and in the viewer's when that differs.
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
		SignedIn:    viewer != nil,
		RSVPOpen:    e.RSVPOpen,
		Going:       e.GoingCount,
		Waiting:     e.WaitlistCount,
		SeatsLeft:   e.SeatsLeft(),
	}
	if e.Capacity != nil {
		v.Capacity = *e.Capacity
	}
	if e.StartsAt != nil {
		zone := eventZone(e, h.timezone)
		v.When = formatWhen(e.StartsAt, e.EndsAt, zone)
		v.Zone = zoneLabel(*e.StartsAt, zone)
		v.StartsISO = e.StartsAt.UTC().Format(time.RFC3339)
		s := e.StartsAt.In(zone)
		v.Month, v.Day, v.Weekday = s.Format("Jan"), s.Format("2"), s.Format("Mon")
		if mine := viewerZone(viewer, h.timezone); mine.String() != zone.String() {
			v.ViewerWhen = formatWhen(e.StartsAt, e.EndsAt, mine)
			v.ViewerZone = zoneLabel(*e.StartsAt, mine)
		}
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
	return out
}
