package models

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"gorm.io/gorm"
)

// eventColumns are an event's stored columns after its id: the one list
// the hand-written insert, the update and the hot reads are built from,
// in the order their values and scans follow.
var eventColumns = []string{"creator_id", "title", "image", "description", "tags", "location",
	"starts_at", "ends_at", "visibility", "timezone", "capacity", "rsvp_open", "created_at", "updated_at"}

// eventCounters are the columns only the store writes (the RSVP counts,
// the calendar sequence, the share link's generation): read, never set
// by a client, and left at their defaults by an insert.
var eventCounters = []string{"going_count", "waitlist_count", "sequence", "share_gen"}

// eventUpdated are the columns a client may set, which an update writes
// (with updated_at): all but the creator and the times.
var eventUpdated = eventColumns[1 : len(eventColumns)-2 : len(eventColumns)-2]

// Events are read on the hot paths (the list, the event itself) without
// GORM's reflection: a fixed column list, a prepared statement and a
// hand-written scan. The creator comes along by join, but only the id,
// email and name the views need: never the password hash.
var eventSelect = "events.id, events." + strings.Join(eventColumns, ", events.") +
	", events." + strings.Join(eventCounters, ", events.") + ", COALESCE(creator.email, ''), COALESCE(creator.name, '')"

const eventCreatorJoin = "LEFT JOIN users creator ON creator.id = events.creator_id"

// readEvents selects events with tx's conditions (built on eventQuery) and
// scans them.
func readEvents(tx *gorm.DB) ([]Event, error) {
	rows, err := tx.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		out = append(out, Event{})
		if err := scanEvent(rows, &out[len(out)-1]); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// eventQuery starts a prepared read of events with their creators.
func eventQuery(ctx context.Context, db *gorm.DB) *gorm.DB {
	return prepared(ctx, db).Model(&Event{}).Select(eventSelect).Joins(eventCreatorJoin)
}

// scanEvent reads one row of eventSelect into e.
func scanEvent(rows *sql.Rows, e *Event) error {
	var starts, ends sql.NullTime
	var capacity sql.NullInt64
	err := rows.Scan(&e.ID, &e.CreatorID, &e.Title, &e.Image, &e.Description, &e.Tags, &e.Location,
		&starts, &ends, &e.Visibility, &e.Timezone, &capacity, &e.RSVPOpen, &e.CreatedAt, &e.UpdatedAt,
		&e.GoingCount, &e.WaitlistCount, &e.Sequence, &e.ShareGen, &e.Creator.Email, &e.Creator.Name)
	if err != nil {
		return err
	}
	e.Capacity = nil
	if capacity.Valid {
		n := int(capacity.Int64)
		e.Capacity = &n
	}
	e.Creator.ID = e.CreatorID
	e.StartsAt, e.EndsAt = nullTime(starts), nullTime(ends)
	return nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}
