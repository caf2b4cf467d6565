package models

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Visibility values of an event.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Limits of an event's fields, from the spec.
const (
	MaxTitleLen       = 200
	MaxDescriptionLen = 5000
	MaxLocationLen    = 200
	MaxImageLen       = 2048
	MaxTags           = 10
	MaxTagLen         = 30
)

// Event is something a user plans. Tags are kept twice on purpose: joined in
// Tags for reading an event in one row, and one row each in EventTag so the
// tag filter uses an index instead of scanning every event.
type Event struct {
	ID          uint       `gorm:"primaryKey"`
	CreatorID   uint       `gorm:"not null;index:idx_events_creator,priority:1"`
	Creator     User       `gorm:"constraint:OnDelete:CASCADE"`
	Title       string     `gorm:"size:200;not null"`
	Image       string     `gorm:"size:2048;not null;default:''"`
	Description string     `gorm:"size:5000;not null;default:''"`
	Tags        string     `gorm:"size:400;not null;default:''"` // comma-joined, normalised
	Location    string     `gorm:"size:200;not null;default:''"`
	StartsAt    *time.Time `gorm:"index:idx_events_start,priority:1;index:idx_events_creator,priority:2"`
	EndsAt      *time.Time
	Visibility  string `gorm:"size:10;not null;default:public;index"`
	// Timezone is the IANA zone the event's times are entered and shown
	// in; "" (events made before zones existed) means PLANNER_TIMEZONE.
	Timezone string `gorm:"size:64;not null;default:''"`
	// Capacity bounds how many may be going; nil is no limit.
	Capacity  *int
	RSVPOpen  bool      `gorm:"column:rsvp_open;not null;default:true"`
	CreatedAt time.Time `gorm:"not null;index"`
	UpdatedAt time.Time `gorm:"not null"`
	// GoingCount and WaitlistCount count the event's RSVPs. They are
	// written only by the RSVP store, under the event row's lock and in the
	// RSVP's transaction, so they are exact and an RSVP bumps the events
	// version like any other change an event's JSON shows.
	GoingCount    int `gorm:"not null;default:0"`
	WaitlistCount int `gorm:"not null;default:0"`
	// Sequence is the iCalendar SEQUENCE: it rises with every change of
	// the event (not with RSVPs).
	Sequence int `gorm:"not null;default:0"`
	// ShareGen is the generation of the event's share link: positive when
	// the link is on, else off (minus the last generation, so none is ever
	// reused). The link's key is derived from it and the secret keys
	// (nothing secret is stored); rotating moves it on, so an old link
	// never works again.
	ShareGen int `gorm:"not null;default:0"`
}

// RSVPStatus values.
const (
	RSVPGoing      = "going"
	RSVPWaitlisted = "waitlisted"
)

// Bounds of an event's capacity.
const (
	MinCapacity = 1
	MaxCapacity = 100000
)

// SeatsLeft is how many more people may be going, or -1 without a limit.
func (e *Event) SeatsLeft() int {
	if e.Capacity == nil {
		return -1
	}
	return max(0, *e.Capacity-e.GoingCount)
}

// TagList returns the event's tags as a slice (never nil).
func (e *Event) TagList() []string {
	if e.Tags == "" {
		return []string{}
	}
	return strings.Split(e.Tags, ",")
}

// VisibleTo reports whether a viewer may see the event: public events to
// anyone, private ones to their creator and admins. viewer may be nil.
func (e *Event) VisibleTo(viewer *User) bool {
	if e.Visibility == VisibilityPublic {
		return true
	}
	return viewer != nil && (viewer.ID == e.CreatorID || viewer.IsAdmin())
}

// EditableBy reports whether viewer may change or delete the event.
func (e *Event) EditableBy(viewer *User) bool {
	return viewer != nil && (viewer.ID == e.CreatorID || viewer.IsAdmin())
}

// EventTag is one tag of one event, indexed by tag for the tag filter.
type EventTag struct {
	EventID uint   `gorm:"primaryKey;index:idx_event_tags_tag,priority:2"`
	Tag     string `gorm:"primaryKey;size:30;index:idx_event_tags_tag,priority:1"`
	Event   Event  `gorm:"constraint:OnDelete:CASCADE"`
}

// EventInput is what a client may set on an event. Nothing else (id,
// creator, times) can be set through it, whatever a form or body contains.
type EventInput struct {
	Title       string
	Image       string
	Description string
	Tags        []string
	Location    string
	StartsAt    *time.Time
	EndsAt      *time.Time
	Visibility  string
	Timezone    string // IANA name; "" = the default zone
	Capacity    *int   // nil = no limit
	RSVPClosed  bool   // the zero value keeps RSVPs open, as the spec's default
}

// Normalize trims text, lower-cases and de-duplicates tags, defaults the
// visibility and keeps times in UTC to the second.
func (in *EventInput) Normalize() {
	in.Title = strings.TrimSpace(in.Title)
	in.Image = strings.TrimSpace(in.Image)
	in.Description = strings.TrimSpace(in.Description)
	in.Location = strings.TrimSpace(in.Location)
	in.Visibility = strings.ToLower(strings.TrimSpace(in.Visibility))
	if in.Visibility == "" {
		in.Visibility = VisibilityPublic
	}
	in.Tags = NormalizeTags(in.Tags)
	in.Timezone = strings.TrimSpace(in.Timezone)
	in.StartsAt, in.EndsAt = utcSecond(in.StartsAt), utcSecond(in.EndsAt)
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func utcSecond(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}

// NormalizeTags trims and lower-cases tags, dropping empty ones and
// duplicates, keeping the first order.
func NormalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if utf8.ValidString(t) { // else left for Validate to refuse, not turned into U+FFFD
			t = strings.ToLower(t)
		}
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// Validate returns a message per invalid field (keys are the field names
// of the spec), or an empty map. Call Normalize first.
func (in EventInput) Validate() map[string]string {
	errs := map[string]string{}
	switch n := utf8.RuneCountInString(in.Title); {
	case n == 0:
		errs["title"] = "Enter a title"
	case n > MaxTitleLen:
		errs["title"] = fmt.Sprintf("Title must be at most %d characters", MaxTitleLen)
	case !PlainLine(in.Title):
		errs["title"] = "Title must be plain text on one line"
	}
	if in.Image != "" {
		if msg := checkImageURL(in.Image); msg != "" {
			errs["image"] = msg
		}
	}
	if utf8.RuneCountInString(in.Description) > MaxDescriptionLen {
		errs["description"] = fmt.Sprintf("Description must be at most %d characters", MaxDescriptionLen)
	} else if !plainText(in.Description) {
		errs["description"] = "Description must be plain text"
	}
	if utf8.RuneCountInString(in.Location) > MaxLocationLen {
		errs["location"] = fmt.Sprintf("Location must be at most %d characters", MaxLocationLen)
	} else if !PlainLine(in.Location) {
		errs["location"] = "Location must be plain text on one line"
	}
	if len(in.Tags) > MaxTags {
		errs["tags"] = fmt.Sprintf("At most %d tags", MaxTags)
	}
	for _, t := range in.Tags {
		if utf8.RuneCountInString(t) > MaxTagLen {
			errs["tags"] = fmt.Sprintf("Each tag must be at most %d characters", MaxTagLen)
			break
		}
		if !PlainLine(t) || strings.Contains(t, ",") {
			errs["tags"] = "Tags must be plain words without commas"
			break
		}
	}
	for field, t := range map[string]*time.Time{"starts_at": in.StartsAt, "ends_at": in.EndsAt} {
		if t != nil && !InYearRange(*t) {
			errs[field] = "The date must be between the years 1 and 9999 (UTC)"
		}
	}
	if _, bad := errs["ends_at"]; !bad && in.StartsAt != nil && in.EndsAt != nil && in.EndsAt.Before(*in.StartsAt) {
		errs["ends_at"] = "The end must not be before the start"
	}
	if in.Visibility != VisibilityPublic && in.Visibility != VisibilityPrivate {
		errs["visibility"] = "Visibility must be public or private"
	}
	if in.Timezone != "" && !ValidTimezone(in.Timezone) {
		errs["timezone"] = "Time zone must be an IANA name such as Europe/Berlin"
	}
	if in.Capacity != nil && (*in.Capacity < MinCapacity || *in.Capacity > MaxCapacity) {
		errs["capacity"] = fmt.Sprintf("Capacity must be a whole number from %d to %d, or empty for no limit", MinCapacity, MaxCapacity)
	}
	return errs
}

// InYearRange reports whether an instant's UTC year is within 1–9999:
// what both databases store and RFC 3339 can write. Outside it, SQLite
// keeps a text it cannot read back and PostgreSQL refuses or shifts it.
func InYearRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

func checkImageURL(s string) string {
	if len(s) > MaxImageLen {
		return fmt.Sprintf("Image URL must be at most %d characters", MaxImageLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !PlainLine(s) || strings.ContainsAny(s, " \"'<>") {
		return "Image must be an http or https URL"
	}
	return ""
}

// PlainLine reports whether s is text a person could type on one line:
// valid UTF-8 without control characters. Search terms and tags that are
// not can match nothing stored, and titles that are not are refused.
func PlainLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// plainText is PlainLine that also allows line breaks and tabs.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// Events is the store of events.
type Events struct {
	db    *gorm.DB
	stmts eventStmts
	// creates is the queue of the group commit (see insert).
	creates createQueue
	// The search's bounds (fewMatches, searchWindow, scanWindow); tests
	// shrink them.
	few, window, scanWindow int
	// rsvpMail composes the mail of a seat taken (see SetRSVPMail); nil
	// sends none.
	rsvpMail RSVPMail
}

// NewEvents returns the event store backed by db.
func NewEvents(db *gorm.DB) *Events {
	return &Events{db: db, few: fewMatches, window: searchWindow, scanWindow: scanWindow}
}

// RSVPMail composes the mail telling to that they have a seat at e: kind
// is MailRSVPGoing (they just answered) or MailRSVPPromoted (a seat freed
// up for them on the waitlist). It must not touch the database.
type RSVPMail func(kind string, e *Event, to *User) (OutboxMail, error)

// SetRSVPMail makes the store queue mail for every seat taken, in the
// outbox, in the transaction that takes it: no seat without its mail, no
// mail without its seat. Set it once, before the store is used.
func (s *Events) SetRSVPMail(m RSVPMail) { s.rsvpMail = m }

// Create stores a new event by creator. in must be normalised and valid.
func (s *Events) Create(ctx context.Context, creatorID uint, in EventInput) (*Event, error) {
	e := &Event{CreatorID: creatorID}
	in.Capacity = copyInt(in.Capacity)
	apply(e, in)
	err := s.insert(ctx, e, in.Tags)
	if err != nil {
		return nil, translate("create event", err)
	}
	return e, nil
}

func apply(e *Event, in EventInput) {
	e.Title, e.Image, e.Description, e.Location = in.Title, in.Image, in.Description, in.Location
	e.Tags = strings.Join(in.Tags, ",")
	e.StartsAt, e.EndsAt, e.Visibility = in.StartsAt, in.EndsAt, in.Visibility
	e.Timezone, e.Capacity, e.RSVPOpen = in.Timezone, in.Capacity, !in.RSVPClosed
}

// Input is the event as an EventInput, the base a partial update starts from.
func (e *Event) Input() EventInput {
	return EventInput{Title: e.Title, Image: e.Image, Description: e.Description, Tags: e.TagList(),
		Location: e.Location, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Visibility: e.Visibility,
		Timezone: e.Timezone, Capacity: e.Capacity, RSVPClosed: !e.RSVPOpen}
}

// ValidTimezone reports whether name is an IANA zone this program knows
// ("UTC" included; "Local", whose meaning depends on the machine, not).
func ValidTimezone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 || !PlainLine(name) {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

func saveTags(tx *gorm.DB, eventID uint, tags []string) error {
	if err := tx.Where("event_id = ?", eventID).Delete(&EventTag{}).Error; err != nil {
		return err
	}
	return insertTags(tx, eventID, tags)
}

func insertTags(tx *gorm.DB, eventID uint, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]EventTag, len(tags))
	for i, t := range tags {
		rows[i] = EventTag{EventID: eventID, Tag: t}
	}
	return tx.Omit("Event").Create(&rows).Error
}

// Get returns the event with its creator, or ErrNotFound. Whether the
// caller may see it is the caller's question (Event.VisibleTo).
func (s *Events) Get(ctx context.Context, id uint) (*Event, error) {
	found, err := readEvents(eventQuery(ctx, s.db).Where("events.id = ?", id).Limit(1))
	if err == nil && len(found) == 0 {
		err = gorm.ErrRecordNotFound
	}
	if err != nil {
		return nil, translate("get event", err)
	}
	return &found[0], nil
}

// Update replaces every settable field of event id with in (normalised and
// valid) and returns the stored event.
func (s *Events) Update(ctx context.Context, id uint, in EventInput) (*Event, error) {
	e, _, err := s.UpdatePromoting(ctx, id, in)
	return e, err
}

// UpdatePromoting is Update, also returning the waiters a larger capacity
// (or none) gave a seat, first first, so they can be told.
func (s *Events) UpdatePromoting(ctx context.Context, id uint, in EventInput) (*Event, []uint, error) {
	var promoted []uint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var e Event
		if err := lockEvent(tx).First(&e, id).Error; err != nil {
			return err
		}
		apply(&e, in)
		e.Sequence++
		err := tx.Model(&e).Select(append(eventUpdated, "sequence", "updated_at")).Updates(&e).Error
		if err != nil {
			return err
		}
		if err := saveTags(tx, id, in.Tags); err != nil {
			return err
		}
		// A larger capacity (or none) lets waiters in at once.
		promoted, err = fillFromWaitlist(ctx, tx, &e, s.rsvpMail)
		return err
	})
	if err != nil {
		return nil, nil, translate("update event", err)
	}
	e, err := s.Get(ctx, id)
	return e, promoted, err
}

// Delete removes event id (its tags go with it).
func (s *Events) Delete(ctx context.Context, id uint) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("event_id = ?", id).Delete(&EventTag{}).Error; err != nil {
			return err
		}
		if err := tx.Where("event_id = ?", id).Delete(&RSVP{}).Error; err != nil {
			return err
		}
		return oneRow(tx.Delete(&Event{}, id))
	})
	return translate("delete event", err)
}

// DeleteAudited removes event id and appends entry to the audit log in the
// same transaction: if the entry cannot be written, the event stays.
func (s *Events) DeleteAudited(ctx context.Context, id uint, entry AuditEntry) error {
	return InTx(ctx, s.db, func(tx Tx) error {
		if err := tx.Events.Delete(ctx, id); err != nil {
			return err
		}
		return tx.Audit.Record(ctx, entry)
	})
}
