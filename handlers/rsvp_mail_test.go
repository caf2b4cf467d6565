package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/mail/mailtest"
)

// calendarPart returns the text/calendar attachment of a received mail.
func calendarPart(t *testing.T, m mailtest.Message) (name, body string) {
	t.Helper()
	for _, a := range m.Attachments {
		if a.Type == "text/calendar" {
			return a.Name, a.Body
		}
	}
	t.Fatalf("no text/calendar attachment in %q (%d attachments)", m.Subject, len(m.Attachments))
	return "", ""
}

// TestRSVPMailsCarryTheEvent: through a real SMTP server, the guest who
// gets a seat and the waiter promoted by a cancellation each get a mail
// with the event as an .ics attachment that parses; joining the waitlist
// sends none.
func TestRSVPMailsCarryTheEvent(t *testing.T) {
	f := newPlanningFixture(t)
	srv := withMail(t, f.app)
	start := time.Date(2031, 6, 5, 17, 0, 0, 0, time.UTC)
	e := f.event(t, models.EventInput{Title: "Picnic", Location: "Park", StartsAt: &start, Capacity: intp(1), Timezone: "Europe/Paris"})
	path := fmt.Sprintf("/events/%d", e.ID)
	f.gc[0].post(path+"/rsvp", nil) // seat
	f.gc[1].post(path+"/rsvp", nil) // waits
	msgs := srv.Wait(t, 1, 10*time.Second)
	check := func(m mailtest.Message, to, subject string) {
		t.Helper()
		if len(m.To) != 1 || m.To[0] != to || m.Subject != subject {
			t.Errorf("mail to %v %q, want %s %q", m.To, m.Subject, to, subject)
		}
		if !strings.Contains(m.Text, "Thu 5 Jun 2031, 19:00 Europe/Paris (CEST)") || !strings.Contains(m.Text, "http://planner.test"+path) {
			t.Errorf("mail text:\n%s", m.Text)
		}
		name, body := calendarPart(t, m)
		if name != fmt.Sprintf("event-%d.ics", e.ID) {
			t.Errorf("attachment name %q", name)
		}
		cal, err := ics.ParseCalendar(strings.NewReader(body))
		if err != nil || len(cal.Events()) != 1 {
			t.Fatalf("attachment: %v\n%s", err, body)
		}
		if got, err := cal.Events()[0].GetStartAt(); err != nil || !got.Equal(start) {
			t.Errorf("attachment DTSTART %v %v", got, err)
		}
	}
	check(msgs[0], f.guests[0].Email, "You're going: Picnic")
	f.gc[0].post(path+"/rsvp/cancel", nil)
	msgs = srv.Wait(t, 2, 10*time.Second)
	check(msgs[1], f.guests[1].Email, "A seat opened up: you're going to Picnic")
	time.Sleep(100 * time.Millisecond)
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d mails; the waitlist place and the cancellation should send none", n)
	}
	var left []models.OutboxMail
	f.app.db.Where("sent_at IS NOT NULL").Find(&left)
	for _, m := range left {
		if m.Attachment != "" || m.TextBody != "" {
			t.Errorf("a sent mail kept its content: %+v", m)
		}
	}
}
