package handlers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// rsvpStore is what the RSVP pages and API ask of the events
// (*models.Events).
type rsvpStore interface {
	RSVP(ctx context.Context, eventID uint, actor models.RSVPActor) (models.RSVPResult, error)
	CancelRSVP(ctx context.Context, eventID uint, actor models.RSVPActor) (models.RSVPResult, error)
	Attendees(ctx context.Context, eventID uint, limit int) ([]models.Attendee, error)
	MyRSVPs(ctx context.Context, userID uint, eventIDs []uint) (map[uint]string, error)
	Mine(ctx context.Context, q models.MineQuery) ([]models.Event, error)
	SetShareGen(ctx context.Context, eventID uint, on bool) (int, error)
}

// mailQueued wakes the mail worker after a change that may have queued a
// seat mail (the store queues it in the change's transaction); nil when
// there is no worker to wake.
type mailQueued func()

// wake calls q when it is set.
func (q mailQueued) wake() {
	if q != nil {
		q()
	}
}

// errRSVPClosed is the answer to an RSVP when the owner closed them.
var errRSVPClosed = echo.NewHTTPError(http.StatusConflict, "RSVPs are closed for this event.")

// rsvpTarget loads the event of an RSVP form: the share link's key comes
// in the body (never the query string), so someone holding the link can
// answer a private event.
func (h *Events) rsvpTarget(c echo.Context) (*models.Event, string, error) {
	form, _ := postForm(c)
	key := form.Get("key")
	e, err := loadEventID(c, c.Param("id"), h.events, echo.ErrNotFound, h.keyOK(key))
	return e, key, err
}

// back is the event's page, with the key when it was opened through the
// share link.
func (h *Events) back(e *models.Event, key string) string {
	u := fmt.Sprintf("/events/%d", e.ID)
	if key != "" && h.secrets.ShareKeyOK(e.ID, e.ShareGen, key) {
		u += "?key=" + url.QueryEscape(key)
	}
	return u
}

// RSVP answers "going" for the signed-in user: a seat, or the waitlist
// when the event is full; then back to the event's page.
func (h *Events) RSVP(c echo.Context) error {
	e, key, err := h.rsvpTarget(c)
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
	setFlash(c, h.secure, "rsvp_"+res.Status)
	return c.Redirect(http.StatusSeeOther, h.back(e, key))
}

// CancelRSVP withdraws the signed-in user's RSVP; the first waiter gets
// the seat.
func (h *Events) CancelRSVP(c echo.Context) error {
	e, key, err := h.rsvpTarget(c)
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
	setFlash(c, h.secure, "rsvp_cancelled")
	if e.Visibility == models.VisibilityPrivate && !e.EditableBy(viewer(c)) && !h.secrets.ShareKeyOK(e.ID, e.ShareGen, key) {
		return c.Redirect(http.StatusSeeOther, "/events") // no longer theirs to see
	}
	return c.Redirect(http.StatusSeeOther, h.back(e, key))
}

// attendeeRows bounds the attendees page; the CSV has everyone.
const attendeeRows = 1000

// Attendees lists who is going, then the waitlist, for the owner and admins.
func (h *Events) Attendees(c echo.Context) error {
	e := eventOf(c)
	list, err := h.rsvps.Attendees(c.Request().Context(), e.ID, attendeeRows)
	if err != nil {
		return err
	}
	zone := viewerZone(viewer(c), h.timezone)
	v := views.AttendeeList{Event: h.view(e, viewer(c)), Zone: zone.String()}
	for _, a := range list {
		row := views.AttendeeView{Name: a.Name, Email: a.Email, Status: a.Status,
			Answered: a.CreatedAt.In(zone).Format("2 Jan 2006, 15:04"), Since: a.UpdatedAt.In(zone).Format("2 Jan 2006, 15:04")}
		if a.Status == models.RSVPGoing {
			v.Going = append(v.Going, row)
		} else {
			v.Waiting = append(v.Waiting, row)
		}
	}
	v.Truncated = len(list) == attendeeRows
	return render(c, http.StatusOK, views.Attendees(page(c, "Attendees: "+e.Title), v))
}

// AttendeesCSV downloads the attendees. A cell a spreadsheet would read as
// a formula (starting with =, +, -, @, a tab or a carriage return) gets a
// leading apostrophe, so a name like =HYPERLINK(...) stays text.
func (h *Events) AttendeesCSV(c echo.Context) error {
	e := eventOf(c)
	list, err := h.rsvps.Attendees(c.Request().Context(), e.ID, 0)
	if err != nil {
		return err
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	hd.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="event-%d-attendees.csv"`, e.ID))
	hd.Set(echo.HeaderCacheControl, "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"status", "name", "email", "answered_at", "status_since"})
	for _, a := range list {
		_ = w.Write([]string{a.Status, csvCell(a.Name), csvCell(a.Email),
			a.CreatedAt.UTC().Format(time.RFC3339), a.UpdatedAt.UTC().Format(time.RFC3339)})
	}
	w.Flush()
	return w.Error()
}

// csvCell neutralises a cell a spreadsheet would run as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Share turns the private event's share link on (or makes a new one: the
// old link dies) or off; then back to the event's page, which shows it.
func (h *Events) Share(c echo.Context) error {
	e := eventOf(c)
	if e.Visibility != models.VisibilityPrivate {
		return echo.NewHTTPError(http.StatusBadRequest, "Share links are for private events: everyone can see a public one.")
	}
	form, _ := postForm(c)
	on := form.Get("action") != "off"
	if _, err := h.rsvps.SetShareGen(c.Request().Context(), e.ID, on); err != nil {
		return err
	}
	flash := "share_on"
	if !on {
		flash = "share_off"
	}
	setFlash(c, h.secure, flash)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/events/%d", e.ID))
}

// Mine is "My events": the events the user created or answered, upcoming
// first (soonest first), then past and undated ones.
func (h *Events) Mine(c echo.Context) error {
	u := viewer(c)
	list, err := h.rsvps.Mine(c.Request().Context(), models.MineQuery{UserID: u.ID, Limit: 500})
	if err != nil {
		return err
	}
	ids := make([]uint, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	status, err := h.rsvps.MyRSVPs(c.Request().Context(), u.ID, ids)
	if err != nil {
		return err
	}
	now := h.clock.Now()
	var v views.MyEvents
	for i := range list {
		ev := h.view(&list[i], u)
		ev.MyRSVP = status[list[i].ID]
		if list[i].StartsAt != nil && !list[i].StartsAt.Before(now) {
			v.Upcoming = append([]views.EventView{ev}, v.Upcoming...) // listed latest first
		} else {
			v.Past = append(v.Past, ev)
		}
	}
	return render(c, http.StatusOK, views.Mine(page(c, "My events"), v))
}

// myNext is the signed-in user's next few events for the home page.
func (h *Events) myNext(c echo.Context, n int) ([]views.EventView, error) {
	u := viewer(c)
	if u == nil {
		return nil, nil
	}
	list, err := h.rsvps.Mine(c.Request().Context(), models.MineQuery{UserID: u.ID, UpcomingNow: h.clock.Now(), Limit: n})
	if err != nil {
		return nil, err
	}
	ids := make([]uint, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	status, err := h.rsvps.MyRSVPs(c.Request().Context(), u.ID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]views.EventView, 0, len(list))
	for i := range list {
		v := h.view(&list[i], u)
		v.MyRSVP = status[list[i].ID]
		out = append(out, v)
	}
	return out, nil
}
