package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// eventStmts are the event store's hand-written hot statements.
type eventStmts struct {
	version     lazyStmt // read pool
	creator     lazyStmt // read pool
	insertEvent lazyStmt // write pool
	insertTag   lazyStmt // write pool
}

// insert stores a new event and its tags in one transaction, fills in
// its id, times and creator (as Get would read them back), with
// statements prepared once on the write pool. Creating is the API's hot
// write; on SQLite every write waits its turn for the one write
// connection, so what runs while holding it (GORM's reflection, compiling
// the SQL, and the triggers inside it, anew each time) decides how many
// events a second can be created at all.
func (s *Events) insert(ctx context.Context, e *Event, tags []string) error {
	ctx = queryContext(ctx, s.db)
	insertEvent, err := s.stmts.insertEvent.get(ctx, s.db, writePool, "INSERT INTO events ("+
		strings.Join(eventColumns, ", ")+") VALUES ("+placeholders(s.db, len(eventColumns))+") RETURNING id")
	if err != nil {
		return err
	}
	insertTag, err := s.stmts.insertTag.get(ctx, s.db, writePool,
		"INSERT INTO event_tags (event_id, tag) VALUES ("+placeholders(s.db, 2)+")")
	if err != nil {
		return err
	}
	pool, err := writePool(s.db)
	if err != nil {
		return err
	}
	now := s.db.NowFunc()
	e.CreatedAt, e.UpdatedAt = now, now
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	err = tx.StmtContext(ctx, insertEvent).QueryRowContext(ctx, e.CreatorID, e.Title, e.Image, e.Description, e.Tags,
		e.Location, e.StartsAt, e.EndsAt, e.Visibility, e.Timezone, e.Capacity, e.RSVPOpen, e.CreatedAt, e.UpdatedAt).Scan(&e.ID)
	if err != nil {
		return s.translateDriver(err)
	}
	tag := tx.StmtContext(ctx, insertTag)
	for _, t := range tags {
		if _, err := tag.ExecContext(ctx, e.ID, t); err != nil {
			return s.translateDriver(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// The event is what was just written; only its creator's email and name
	// are read back.
	creator, err := s.stmts.creator.get(ctx, s.db, readPool, "SELECT email, name FROM users WHERE id = "+param(s.db, 1))
	if err != nil {
		return err
	}
	e.Creator.ID = e.CreatorID
	return creator.QueryRowContext(ctx, e.CreatorID).Scan(&e.Creator.Email, &e.Creator.Name)
}

// translateDriver turns a driver error into GORM's (a duplicate key into
// gorm.ErrDuplicatedKey, ...), as GORM's own statements would have.
func (s *Events) translateDriver(err error) error {
	if t, ok := s.db.Dialector.(gorm.ErrorTranslator); ok {
		if terr := t.Translate(err); terr != err {
			return fmt.Errorf("%w: %w", terr, err)
		}
	}
	return err
}
