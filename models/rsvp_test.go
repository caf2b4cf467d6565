package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

func mkCapped(t *testing.T, s *models.Events, creator uint, capacity int) *models.Event {
	t.Helper()
	in := models.EventInput{Title: "Capped", StartsAt: at(0), Capacity: &capacity}
	in.Normalize()
	e, err := s.Create(context.Background(), creator, in)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func counts(t *testing.T, s *models.Events, id uint) (going, waiting int) {
	t.Helper()
	e, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.GoingCount, e.WaitlistCount
}

// TestRSVPWaitlistAndPromotion: seats fill, the next people wait in order,
// a cancellation hands the seat to the first waiter in the same
// transaction, and every change leaves an audit entry.
func TestRSVPWaitlistAndPromotion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		owner := mkUser(t, db, "owner@example.com", models.RoleUser)
		e := mkCapped(t, s, owner.ID, 2)
		var users []*models.User
		for i := range 4 {
			users = append(users, mkUser(t, db, fmt.Sprintf("u%d@example.com", i), models.RoleUser))
		}
		want := []string{models.RSVPGoing, models.RSVPGoing, models.RSVPWaitlisted, models.RSVPWaitlisted}
		for i, u := range users {
			res, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: u, IP: "192.0.2.1"})
			if err != nil || res.Status != want[i] || !res.Changed {
				t.Fatalf("rsvp %d = %+v, %v; want %s", i, res, err, want[i])
			}
		}
		if res, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: users[2]}); err != nil || res.Changed || res.Status != models.RSVPWaitlisted {
			t.Errorf("second rsvp = %+v, %v; want unchanged waitlisted", res, err)
		}
		if g, w := counts(t, s, e.ID); g != 2 || w != 2 {
			t.Fatalf("counts %d/%d, want 2/2", g, w)
		}
		res, err := s.CancelRSVP(ctx, e.ID, models.RSVPActor{User: users[0]})
		if err != nil || !res.Changed || len(res.Promoted) != 1 || res.Promoted[0] != users[2].ID {
			t.Fatalf("cancel = %+v, %v; want users[2] promoted", res, err)
		}
		if st, _ := s.MyRSVP(ctx, e.ID, users[2].ID); st != models.RSVPGoing {
			t.Errorf("promoted user's status = %q", st)
		}
		if g, w := counts(t, s, e.ID); g != 2 || w != 1 {
			t.Fatalf("counts after cancel %d/%d, want 2/1", g, w)
		}
		// Cancelling a waitlist place promotes nobody.
		res, err = s.CancelRSVP(ctx, e.ID, models.RSVPActor{User: users[3]})
		if err != nil || !res.Changed || len(res.Promoted) != 0 {
			t.Fatalf("cancel waiter = %+v, %v", res, err)
		}
		if res, err := s.CancelRSVP(ctx, e.ID, models.RSVPActor{User: users[3]}); err != nil || res.Changed {
			t.Errorf("cancel again = %+v, %v; want nothing", res, err)
		}
		list, err := s.Attendees(ctx, e.ID, 0)
		if err != nil || len(list) != 2 || list[0].UserID != users[1].ID || list[1].UserID != users[2].ID {
			t.Fatalf("attendees %+v, %v", list, err)
		}
		entries, _ := models.NewAudit(db).List(ctx, models.AuditFilter{Action: models.ActionRSVP})
		if len(entries) != 5 { // 4 answers and 1 promotion
			t.Errorf("%d rsvp audit entries, want 5: %+v", len(entries), entries)
		}
		entries, _ = models.NewAudit(db).List(ctx, models.AuditFilter{Action: models.ActionRSVPCancelled})
		if len(entries) != 2 {
			t.Errorf("%d rsvp_cancelled audit entries, want 2", len(entries))
		}
	})
}

// TestRSVPClosedAndCapacityChanges: closed RSVPs refuse newcomers; raising
// the capacity promotes waiters at once; an edit bumps the sequence.
func TestRSVPClosedAndCapacityChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		owner := mkUser(t, db, "owner@example.com", models.RoleUser)
		e := mkCapped(t, s, owner.ID, 1)
		a, b, c := mkUser(t, db, "a@example.com", models.RoleUser), mkUser(t, db, "b@example.com", models.RoleUser),
			mkUser(t, db, "c@example.com", models.RoleUser)
		for _, u := range []*models.User{a, b, c} {
			if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: u}); err != nil {
				t.Fatal(err)
			}
		}
		in := e.Input()
		three := 3
		in.Capacity, in.RSVPClosed = &three, true
		got, promoted, err := s.UpdatePromoting(ctx, e.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(promoted) != 2 || promoted[0] != b.ID || promoted[1] != c.ID {
			t.Errorf("promoted %v, want [%d %d] in waitlist order", promoted, b.ID, c.ID)
		}
		if got.GoingCount != 3 || got.WaitlistCount != 0 || got.Sequence != e.Sequence+1 || got.RSVPOpen {
			t.Errorf("after raising capacity: %+v", got)
		}
		d := mkUser(t, db, "d@example.com", models.RoleUser)
		if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: d}); !errors.Is(err, models.ErrRSVPClosed) {
			t.Errorf("rsvp to a closed event: %v, want ErrRSVPClosed", err)
		}
		if res, err := s.CancelRSVP(ctx, e.ID, models.RSVPActor{User: a}); err != nil || !res.Changed {
			t.Errorf("cancel on a closed event = %+v, %v", res, err)
		}
		// Deleting a going user frees their seat for the next waiter.
		in.Capacity, in.RSVPClosed = &three, false
		if _, err := s.Update(ctx, e.ID, in); err != nil {
			t.Fatal(err)
		}
		for _, u := range []*models.User{a, d} {
			if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: u}); err != nil {
				t.Fatal(err)
			}
		}
		if g, w := counts(t, s, e.ID); g != 3 || w != 1 {
			t.Fatalf("counts %d/%d, want 3/1", g, w)
		}
		if err := models.NewUsers(db).Delete(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if g, w := counts(t, s, e.ID); g != 3 || w != 0 {
			t.Errorf("counts after deleting a going user %d/%d, want 3/0", g, w)
		}
		if st, _ := s.MyRSVP(ctx, e.ID, d.ID); st != models.RSVPGoing {
			t.Errorf("waiter after the deletion: %q, want going", st)
		}
		mine, err := s.Mine(ctx, models.MineQuery{UserID: d.ID})
		if err != nil || len(mine) != 1 || mine[0].ID != e.ID {
			t.Errorf("Mine(d) = %v, %v", mine, err)
		}
	})
}

// TestRSVPConcurrency: 64 people answer at once for 10 seats; exactly 10
// go and 54 wait, on SQLite and PostgreSQL, and then 64 cancellations and
// re-answers at once never push going past the capacity.
func TestRSVPConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		owner := mkUser(t, db, "owner@example.com", models.RoleUser)
		const n, capacity = 64, 10
		e := mkCapped(t, s, owner.ID, capacity)
		users := make([]*models.User, n)
		for i := range users {
			users[i] = mkUser(t, db, fmt.Sprintf("p%d@example.com", i), models.RoleUser)
		}
		run := func(f func(u *models.User) error) {
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for _, u := range users {
				wg.Go(func() {
					if err := f(u); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}
		var mu sync.Mutex
		going := 0
		run(func(u *models.User) error {
			res, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: u})
			if res.Status == models.RSVPGoing {
				mu.Lock()
				going++
				mu.Unlock()
			}
			return err
		})
		if going != capacity {
			t.Errorf("%d answers said going, want %d", going, capacity)
		}
		check := func(when string) {
			t.Helper()
			g, w := counts(t, s, e.ID)
			var rows []models.Attendee
			rows, err := s.Attendees(ctx, e.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			real := 0
			for _, r := range rows {
				if r.Status == models.RSVPGoing {
					real++
				}
			}
			if g > capacity || real != g || len(rows)-real != w {
				t.Errorf("%s: counts %d going/%d waiting, rows %d going of %d", when, g, w, real, len(rows))
			}
		}
		check("after 64 answers")
		run(func(u *models.User) error {
			if _, err := s.CancelRSVP(ctx, e.ID, models.RSVPActor{User: u}); err != nil {
				return err
			}
			_, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: u})
			return err
		})
		check("after 64 cancellations and answers")
		if g, w := counts(t, s, e.ID); g != capacity || w != n-capacity {
			t.Errorf("final counts %d/%d, want %d/%d", g, w, capacity, n-capacity)
		}
	})
}

// TestSeatMailsInTheRSVPTransaction: taking a seat queues a mail in the
// same transaction (joining the waitlist does not); a promotion queues one
// for the promoted user; a mail that cannot be composed undoes the RSVP.
func TestSeatMailsInTheRSVPTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := models.NewEvents(db)
		fail := false
		s.SetRSVPMail(func(kind string, e *models.Event, to *models.User) (models.OutboxMail, error) {
			if fail {
				return models.OutboxMail{}, errors.New("no template")
			}
			return models.OutboxMail{Kind: kind, ToAddr: to.Email, Subject: kind + " " + e.Title + " " + to.Name,
				TextBody: "t", AttachmentName: "event.ics", AttachmentType: "text/calendar", Attachment: "BEGIN:VCALENDAR"}, nil
		})
		owner := mkUser(t, db, "owner@example.com", models.RoleUser)
		e := mkCapped(t, s, owner.ID, 1)
		a, b, c := mkUser(t, db, "a@example.com", models.RoleUser), mkUser(t, db, "b@example.com", models.RoleUser),
			mkUser(t, db, "c@example.com", models.RoleUser)
		outbox := func() []models.OutboxMail {
			var out []models.OutboxMail
			if err := db.Order("id").Find(&out).Error; err != nil {
				t.Fatal(err)
			}
			return out
		}
		if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: a}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: b}); err != nil { // waits: no mail
			t.Fatal(err)
		}
		got := outbox()
		if len(got) != 1 || got[0].Kind != models.MailRSVPGoing || got[0].ToAddr != a.Email || got[0].Attachment != "BEGIN:VCALENDAR" {
			t.Fatalf("outbox after a seat and a wait: %+v", got)
		}
		if _, err := s.CancelRSVP(ctx, e.ID, models.RSVPActor{User: a}); err != nil {
			t.Fatal(err)
		}
		got = outbox()
		if len(got) != 2 || got[1].Kind != models.MailRSVPPromoted || got[1].ToAddr != b.Email ||
			got[1].Subject != "rsvp_promoted Capped "+b.Name {
			t.Fatalf("outbox after the promotion: %+v", got)
		}
		// A mail that cannot be made: no seat either.
		fail = true
		in := e.Input()
		in.Capacity = nil
		if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: a}); err != nil { // waits (full): no mail needed
			t.Fatal(err)
		}
		if _, _, err := s.UpdatePromoting(ctx, e.ID, in); err == nil {
			t.Fatal("an edit promoting a waiter succeeded without its mail")
		}
		if st, _ := s.MyRSVP(ctx, e.ID, a.ID); st != models.RSVPWaitlisted {
			t.Errorf("after the failed edit a is %q, want still waitlisted", st)
		}
		if _, err := s.RSVP(ctx, e.ID, models.RSVPActor{User: c}); err != nil { // full: waits, no mail
			t.Fatal(err)
		}
		fail = false
		if _, promoted, err := s.UpdatePromoting(ctx, e.ID, in); err != nil || len(promoted) != 2 {
			t.Fatalf("edit removing the limit: %v %v", promoted, err)
		}
		if got := outbox(); len(got) != 4 || got[2].ToAddr != a.Email || got[3].ToAddr != c.Email {
			t.Errorf("outbox after removing the limit: %+v", got)
		}
	})
}
