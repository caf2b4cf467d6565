package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrRSVPClosed means the event's owner closed RSVPs: nobody new may join
// (those who already did keep their place and may still cancel).
var ErrRSVPClosed = errors.New("rsvps are closed")

// RSVP is one user's answer to one event: going, or waiting for a seat.
// Cancelling deletes the row; the waitlist is kept in id order, which under
// the event row's lock is the order people joined it.
type RSVP struct {
	ID        uint      `gorm:"primaryKey"`
	EventID   uint      `gorm:"not null;uniqueIndex:idx_rsvps_pair,priority:1;index:idx_rsvps_queue,priority:1"`
	Event     Event     `gorm:"constraint:OnDelete:CASCADE"`
	UserID    uint      `gorm:"not null;uniqueIndex:idx_rsvps_pair,priority:2;index:idx_rsvps_user,priority:1"`
	User      User      `gorm:"constraint:OnDelete:CASCADE"`
	Status    string    `gorm:"size:12;not null;index:idx_rsvps_queue,priority:2;index:idx_rsvps_user,priority:2"`
	CreatedAt time.Time `gorm:"not null"` // when they answered
	UpdatedAt time.Time `gorm:"not null"` // when the status began (a promotion moves it)
}

// TableName keeps GORM from guessing at the plural of an initialism.
func (RSVP) TableName() string { return "rsvps" }

// Attendee is one RSVP with the person's name and email, for the owner's
// list of attendees.
type Attendee struct {
	UserID    uint
	Name      string
	Email     string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RSVPResult is what an RSVP or a cancellation did.
type RSVPResult struct {
	Status   string // the caller's status afterwards: going, waitlisted or ""
	Changed  bool   // false when the caller already had that status
	Promoted []uint // users moved from the waitlist to going, first waiter first
}

// RSVPActor is who asks, for the audit entry written in the same
// transaction.
type RSVPActor struct {
	User *User
	IP   string
}

// lockEvent makes a read of events take the row lock on PostgreSQL, so
// RSVPs and edits of one event queue for it; SQLite's immediate
// transactions already run one writer at a time.
func lockEvent(tx *gorm.DB) *gorm.DB {
	if isPostgres(tx) {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// rsvpState is the part of an event an RSVP decides on.
type rsvpState struct {
	ID            uint
	Capacity      *int
	RSVPOpen      bool `gorm:"column:rsvp_open"`
	GoingCount    int
	WaitlistCount int
}

func lockRSVPState(tx *gorm.DB, eventID uint) (*rsvpState, error) {
	var st rsvpState
	err := lockEvent(tx).Model(&Event{}).Select("id, capacity, rsvp_open, going_count, waitlist_count").
		Where("id = ?", eventID).Take(&st).Error
	return &st, err
}

// RSVP answers "going" for u: a seat when there is one, else a place at the
// end of the waitlist. Asking again changes nothing. The event row is
// locked first, so the count of those going never passes the capacity
// however many ask at once.
func (s *Events) RSVP(ctx context.Context, eventID uint, actor RSVPActor) (RSVPResult, error) {
	var res RSVPResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res = RSVPResult{}
		st, err := lockRSVPState(tx, eventID)
		if err != nil {
			return err
		}
		var mine RSVP
		err = tx.Where("event_id = ? AND user_id = ?", eventID, actor.User.ID).Take(&mine).Error
		if err == nil {
			res.Status = mine.Status
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if !st.RSVPOpen {
			return ErrRSVPClosed
		}
		status, counter := RSVPGoing, "going_count"
		if st.Capacity != nil && st.GoingCount >= *st.Capacity {
			status, counter = RSVPWaitlisted, "waitlist_count"
		}
		now := s.db.NowFunc()
		row := RSVP{EventID: eventID, UserID: actor.User.ID, Status: status, CreatedAt: now, UpdatedAt: now}
		if err := tx.Omit("Event", "User").Create(&row).Error; err != nil {
			return err
		}
		if err := bumpCounts(tx, eventID, counter, 1); err != nil {
			return err
		}
		res.Status, res.Changed = status, true
		if err := NewAudit(tx).Record(ctx, rsvpEntry(actor, ActionRSVP, eventID, status)); err != nil {
			return err
		}
		if status != RSVPGoing {
			return nil
		}
		return queueSeatMail(ctx, tx, s.rsvpMail, MailRSVPGoing, eventID, actor.User)
	})
	return res, translate("rsvp", err)
}

// CancelRSVP withdraws u's RSVP. When a seat frees up, the first waiter
// takes it in the same transaction. Cancelling without an RSVP changes
// nothing.
func (s *Events) CancelRSVP(ctx context.Context, eventID uint, actor RSVPActor) (RSVPResult, error) {
	var res RSVPResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res = RSVPResult{}
		st, err := lockRSVPState(tx, eventID)
		if err != nil {
			return err
		}
		was, err := cancelLocked(ctx, tx, st, actor.User.ID)
		if err != nil || was == "" {
			return err
		}
		res.Changed = true
		if err := NewAudit(tx).Record(ctx, rsvpEntry(actor, ActionRSVPCancelled, eventID, was)); err != nil {
			return err
		}
		res.Promoted, err = fillFromWaitlist(ctx, tx, &Event{ID: eventID, Capacity: st.Capacity,
			GoingCount: st.GoingCount, WaitlistCount: st.WaitlistCount}, s.rsvpMail)
		return err
	})
	return res, translate("cancel rsvp", err)
}

// cancelLocked deletes userID's RSVP to the locked event and updates st and
// the event's counts; it returns the status the RSVP had ("" for none).
func cancelLocked(ctx context.Context, tx *gorm.DB, st *rsvpState, userID uint) (string, error) {
	var mine RSVP
	err := tx.WithContext(ctx).Where("event_id = ? AND user_id = ?", st.ID, userID).Take(&mine).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if err := tx.Delete(&RSVP{}, mine.ID).Error; err != nil {
		return "", err
	}
	counter := "going_count"
	if mine.Status == RSVPGoing {
		st.GoingCount--
	} else {
		counter = "waitlist_count"
		st.WaitlistCount--
	}
	return mine.Status, bumpCounts(tx, st.ID, counter, -1)
}

// queueSeatMail queues the mail of a seat taken at event eventID by to,
// in tx, when mail composes it.
func queueSeatMail(ctx context.Context, tx *gorm.DB, mail RSVPMail, kind string, eventID uint, to *User) error {
	if mail == nil {
		return nil
	}
	var e Event
	if err := tx.WithContext(ctx).Omit("Creator").First(&e, eventID).Error; err != nil {
		return err
	}
	m, err := mail(kind, &e, to)
	if err != nil {
		return fmt.Errorf("compose %s mail: %w", kind, err)
	}
	return NewOutbox(tx).Enqueue(ctx, m)
}

// fillFromWaitlist promotes waiters, first first, while the locked event e
// (its capacity and counts as they stand in this transaction) has seats,
// with an audit entry and, when mail composes it, a mail for each. It
// returns who was promoted.
func fillFromWaitlist(ctx context.Context, tx *gorm.DB, e *Event, mail RSVPMail) ([]uint, error) {
	var promoted []uint
	for e.WaitlistCount > 0 && (e.Capacity == nil || e.GoingCount < *e.Capacity) {
		var next RSVP
		err := tx.WithContext(ctx).Where("event_id = ? AND status = ?", e.ID, RSVPWaitlisted).Order("id").Take(&next).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		err = tx.Model(&RSVP{}).Where("id = ?", next.ID).
			UpdateColumns(map[string]any{"status": RSVPGoing, "updated_at": tx.NowFunc()}).Error
		if err != nil {
			return nil, err
		}
		e.GoingCount++
		e.WaitlistCount--
		promoted = append(promoted, next.UserID)
		var who User
		if err := tx.Select("id, email, name").Where("id = ?", next.UserID).Take(&who).Error; err != nil {
			return nil, err
		}
		entry := AuditEntry{ActorEmail: who.Email, ActorID: idText(next.UserID), Action: ActionRSVP,
			Target: fmt.Sprintf("event %d", e.ID), Outcome: "promoted"}
		if err := NewAudit(tx).Record(ctx, entry); err != nil {
			return nil, err
		}
		if err := queueSeatMail(ctx, tx, mail, MailRSVPPromoted, e.ID, &who); err != nil {
			return nil, err
		}
	}
	if len(promoted) == 0 {
		return nil, nil
	}
	err := tx.Model(&Event{}).Where("id = ?", e.ID).UpdateColumns(map[string]any{
		"going_count":    gorm.Expr("going_count + ?", len(promoted)),
		"waitlist_count": gorm.Expr("waitlist_count - ?", len(promoted)),
	}).Error
	return promoted, err
}

// bumpCounts moves one of the event's RSVP counters by delta, leaving
// updated_at (a change of the event itself) alone.
func bumpCounts(tx *gorm.DB, eventID uint, counter string, delta int) error {
	return tx.Model(&Event{}).Where("id = ?", eventID).UpdateColumn(counter, gorm.Expr(counter+" + ?", delta)).Error
}

// cancelAllOf withdraws every RSVP of userID (a user being deleted),
// promoting waiters where seats free up, so no count is left stale.
func cancelAllOf(ctx context.Context, tx *gorm.DB, userID uint) error {
	var eventIDs []uint
	if err := tx.WithContext(ctx).Model(&RSVP{}).Where("user_id = ?", userID).Order("event_id").Pluck("event_id", &eventIDs).Error; err != nil {
		return err
	}
	for _, id := range eventIDs {
		st, err := lockRSVPState(tx, id)
		if err != nil {
			return err
		}
		if _, err := cancelLocked(ctx, tx, st, userID); err != nil {
			return err
		}
		// The user store has no mailer: seats freed by a deleted account
		// are given without a mail (the event page shows it).
		_, err = fillFromWaitlist(ctx, tx, &Event{ID: id, Capacity: st.Capacity, GoingCount: st.GoingCount,
			WaitlistCount: st.WaitlistCount}, nil)
		if err != nil {
			return err
		}
	}
	return nil
}

func rsvpEntry(actor RSVPActor, action string, eventID uint, outcome string) AuditEntry {
	return AuditEntry{ActorEmail: actor.User.Email, ActorID: idText(actor.User.ID), Action: action,
		Target: fmt.Sprintf("event %d", eventID), IP: actor.IP, Outcome: outcome}
}

func idText(id uint) string { return fmt.Sprintf("%d", id) }

// MyRSVP returns userID's status for the event: going, waitlisted or "".
func (s *Events) MyRSVP(ctx context.Context, eventID, userID uint) (string, error) {
	m, err := s.MyRSVPs(ctx, userID, []uint{eventID})
	return m[eventID], err
}

// MyRSVPs returns userID's status for each of the events that has one, in
// one indexed query (for a page of a list).
func (s *Events) MyRSVPs(ctx context.Context, userID uint, eventIDs []uint) (map[uint]string, error) {
	out := map[uint]string{}
	if len(eventIDs) == 0 {
		return out, nil
	}
	var rows []RSVP
	err := s.db.WithContext(ctx).Select("event_id, status").Where("user_id = ? AND event_id IN ?", userID, eventIDs).Find(&rows).Error
	if err != nil {
		return nil, translate("read rsvps", err)
	}
	for _, r := range rows {
		out[r.EventID] = r.Status
	}
	return out, nil
}

// Attendees lists the event's RSVPs: going first, then the waitlist, each
// in the order they reached it. limit bounds the list (0 = all).
func (s *Events) Attendees(ctx context.Context, eventID uint, limit int) ([]Attendee, error) {
	q := s.db.WithContext(ctx).Table("rsvps").
		Select("rsvps.user_id, users.name, users.email, rsvps.status, rsvps.created_at, rsvps.updated_at").
		Joins("JOIN users ON users.id = rsvps.user_id").Where("rsvps.event_id = ?", eventID).
		Order(clause.Expr{SQL: "CASE WHEN rsvps.status = ? THEN 0 ELSE 1 END, rsvps.updated_at, rsvps.id", Vars: []any{RSVPGoing}})
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []Attendee
	err := q.Scan(&out).Error
	if out == nil {
		out = []Attendee{}
	}
	return out, translate("list attendees", err)
}

// MineQuery selects the events a user owns or answered.
type MineQuery struct {
	UserID      uint
	OnlyGoing   bool      // attended means going (the calendar feed), not waitlisted
	UpcomingNow time.Time // when set, only events starting then or later, soonest first
	Limit       int
}

// Mine lists the events q.UserID created or RSVPed to: the "My events" page,
// the home page's next events and the calendar feed. Without UpcomingNow,
// newest start first, undated last.
func (s *Events) Mine(ctx context.Context, q MineQuery) ([]Event, error) {
	statuses := []string{RSVPGoing, RSVPWaitlisted}
	if q.OnlyGoing {
		statuses = statuses[:1]
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 1000
	}
	tx := eventQuery(ctx, s.db).
		Where("(events.creator_id = ? OR events.id IN (SELECT event_id FROM rsvps WHERE user_id = ? AND status IN ?))",
			q.UserID, q.UserID, statuses)
	if !q.UpcomingNow.IsZero() {
		tx = tx.Where("events.starts_at >= ?", q.UpcomingNow.UTC()).Order("events.starts_at, events.id")
	} else {
		tx = tx.Order("CASE WHEN events.starts_at IS NULL THEN 1 ELSE 0 END, events.starts_at DESC, events.id DESC")
	}
	out, err := readEvents(tx.Limit(q.Limit))
	if out == nil {
		out = []Event{}
	}
	return out, translate("list my events", err)
}

// SetShareGen turns the event's share link on (a new generation, so any
// earlier link stays dead) or off (0), and returns the generation.
func (s *Events) SetShareGen(ctx context.Context, eventID uint, on bool) (int, error) {
	var gen int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e Event
		if err := lockEvent(tx).Select("id, share_gen").First(&e, eventID).Error; err != nil {
			return err
		}
		gen = 0
		if on {
			gen = abs(e.ShareGen) + 1
		} else if e.ShareGen > 0 {
			gen = -e.ShareGen // off, remembering the generation so it is never reused
		} else {
			gen = e.ShareGen
		}
		return tx.Model(&Event{}).Where("id = ?", eventID).UpdateColumn("share_gen", gen).Error
	})
	return gen, translate("set share link", err)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// SetTimezone changes the zone a user reads times in ("" = the default).
func (s *Users) SetTimezone(ctx context.Context, id uint, zone string) error {
	zone = strings.TrimSpace(zone)
	if zone != "" && !ValidTimezone(zone) {
		return fmt.Errorf("set time zone: invalid zone %q", zone)
	}
	return s.update(ctx, "set time zone", id, map[string]any{"timezone": zone})
}

// RotateCalendar moves the user's calendar feed token on: the old feed
// address stops working.
func (s *Users) RotateCalendar(ctx context.Context, id uint) error {
	return s.update(ctx, "rotate calendar token", id, map[string]any{"calendar_gen": gorm.Expr("calendar_gen + 1")})
}
