package handlers

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// rsvpMailer composes the seat mails (models.RSVPMail): "you're going" and
// "a seat opened up", with the event as an .ics attachment. The store
// queues them in the outbox in the RSVP's transaction.
type rsvpMailer struct {
	base     *url.URL
	timezone *time.Location
	cal      calendarWriter
}

func newRSVPMailer(cfg Config) rsvpMailer {
	return rsvpMailer{base: cfg.BaseURL, timezone: cfg.Timezone, cal: newCalendarWriter(cfg)}
}

// compose is the models.RSVPMail.
func (m rsvpMailer) compose(kind string, e *models.Event, to *models.User) (models.OutboxMail, error) {
	link := *m.base
	link.Path = fmt.Sprintf("/events/%d", e.ID)
	v := views.RSVPMailView{
		MailView: views.MailView{Site: SiteName, BaseURL: m.base.String(), Name: to.Name, Link: link.String()},
		Promoted: kind == models.MailRSVPPromoted, Title: e.Title, Location: e.Location,
	}
	if e.StartsAt != nil {
		zone := eventZone(e, m.timezone)
		v.When = formatWhen(e.StartsAt, e.EndsAt, zone) + " " + zoneLabel(*e.StartsAt, zone)
	}
	subject := "You're going: " + e.Title
	if v.Promoted {
		subject = "A seat opened up: you're going to " + e.Title
	}
	var tb, hb bytes.Buffer
	if err := views.RSVPMailText(v).Render(context.Background(), &tb); err != nil {
		return models.OutboxMail{}, err
	}
	if err := views.RSVPMailHTML(v).Render(context.Background(), &hb); err != nil {
		return models.OutboxMail{}, err
	}
	out := models.OutboxMail{Kind: kind, ToAddr: to.Email, Subject: strings.ReplaceAll(subject, "\n", " "),
		TextBody: tb.String(), HTMLBody: hb.String()}
	if e.StartsAt != nil {
		out.AttachmentName = fmt.Sprintf("event-%d.ics", e.ID)
		out.AttachmentType = "text/calendar; charset=utf-8; method=PUBLISH"
		out.Attachment = m.cal.calendar("", []models.Event{*e}).Serialize(ics.WithNewLine("\r\n"))
	}
	return out, nil
}
