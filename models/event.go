package models

import "time"

// Visibility values of an event.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
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
	Tags        string     `gorm:"size:400;not null;default:''"`
	Location    string     `gorm:"size:200;not null;default:''"`
	StartsAt    *time.Time `gorm:"index:idx_events_visibility_start,priority:2"`
	EndsAt      *time.Time
	Visibility  string    `gorm:"size:10;not null;default:public;index:idx_events_visibility_start,priority:1"`
	CreatedAt   time.Time `gorm:"not null;index"`
	UpdatedAt   time.Time `gorm:"not null"`
}

// EventTag is one tag of one event, indexed by tag for the tag filter.
type EventTag struct {
	EventID uint   `gorm:"primaryKey;index:idx_event_tags_tag,priority:2"`
	Tag     string `gorm:"primaryKey;size:30;index:idx_event_tags_tag,priority:1"`
	Event   Event  `gorm:"constraint:OnDelete:CASCADE"`
}
