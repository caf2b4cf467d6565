package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// eventStmts are the event store's hand-written hot statements.
type eventStmts struct {
	version lazyStmt // read pool
	creator lazyStmt // read pool
	// insertEvent is the event's INSERT on the write pool: on SQLite the
	// row alone (its id is the connection's last insert rowid), on
	// PostgreSQL the row and its tags in one statement, returning the id.
	insertEvent lazyStmt
	// insertTags[n-1] inserts n tag rows at once (SQLite only).
	insertTags [MaxTags]lazyStmt
}

// maxCreateBatch bounds how many events one commit writes: enough that a
// burst of clients shares a handful of commits, few enough that one
// transaction holds the write lock for a few milliseconds at most.
const maxCreateBatch = 128

// createBatchTimeout bounds a batch's transaction on PostgreSQL. The
// committer runs on no caller's context (its batch belongs to many), so
// this is what keeps a stuck server from holding its callers forever.
const createBatchTimeout = 30 * time.Second

// createQueue gathers concurrent creates for group commit (see insert).
type createQueue struct {
	mu      sync.Mutex
	waiting []*createReq
	running bool // a committer goroutine is draining waiting
}

// createReq is one caller's event on its way to a commit.
type createReq struct {
	e    *Event
	tags []string
	done chan error // buffered: the committer never blocks on a caller
}

// insert stores a new event and its tags, fills in its id, times and
// creator (as Get would read them back), and returns only once the event
// is committed (or is known not to be).
//
// Creating is the API's hot write, and the price of a write is mostly its
// commit: on SQLite every transaction waits its turn for the one write
// connection, takes the write lock and appends its pages to the WAL; on
// PostgreSQL every commit waits for its WAL flush. So concurrent creates
// are committed as a group: each caller queues its event, one committer
// takes everything waiting (up to maxCreateBatch) and writes it in one
// transaction, and every caller learns its own outcome after that commit,
// never before it. The committer is a goroutine that runs while there is
// work and ends when the queue is empty, so an idle store holds none.
//
// Each event keeps its own outcome: if one event's statement fails (its
// creator deleted meanwhile, say), the transaction is rolled back and the
// batch written again without it; only its caller gets the error.
//
// A caller whose context ends while its event still waits in the queue
// takes it out and returns the context's error: that event is never
// written. Once the committer has taken it, the caller waits for the
// commit and reports what happened, whatever its context says: an
// acknowledged event is always committed, and an event that was written
// is never reported as failed.
func (s *Events) insert(ctx context.Context, e *Event, tags []string) error {
	r := &createReq{e: e, tags: tags, done: make(chan error, 1)}
	q := &s.creates
	q.mu.Lock()
	q.waiting = append(q.waiting, r)
	if !q.running {
		q.running = true
		go s.commitCreates()
	}
	q.mu.Unlock()
	var err error
	select {
	case err = <-r.done:
	case <-ctx.Done():
		q.mu.Lock()
		i := slices.Index(q.waiting, r)
		if i >= 0 {
			q.waiting = slices.Delete(q.waiting, i, i+1)
		}
		q.mu.Unlock()
		if i >= 0 {
			return ctx.Err() // never taken, so never written
		}
		err = <-r.done // in a transaction already: its outcome decides
	}
	if err != nil {
		return err
	}
	// The event is what was just written; only its creator's email and name
	// are read back, on the read pool and outside the batch. The event is
	// committed: the caller's context ending now must not turn that into
	// an error.
	ctx = context.WithoutCancel(ctx)
	creator, err := s.stmts.creator.get(ctx, s.db, readPool, "SELECT email, name FROM users WHERE id = "+param(s.db, 1))
	if err != nil {
		return err
	}
	e.Creator.ID = e.CreatorID
	return creator.QueryRowContext(ctx, e.CreatorID).Scan(&e.Creator.Email, &e.Creator.Name)
}

// commitCreates is the committer: it writes the waiting events, a batch
// per transaction, until none is left.
func (s *Events) commitCreates() {
	q := &s.creates
	for {
		q.mu.Lock()
		n := min(len(q.waiting), maxCreateBatch)
		if n == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		batch := q.waiting[:n:n]
		q.waiting = slices.Clone(q.waiting[n:]) // callers keep appending: never share the batch's array
		q.mu.Unlock()
		s.commitBatch(batch)
	}
}

// commitBatch writes batch in one transaction and tells every caller its
// outcome once the transaction is over. An event whose own statement fails
// is answered with that error and left out of the next attempt; an error of
// the transaction itself (begin, commit) is every remaining event's.
func (s *Events) commitBatch(batch []*createReq) {
	// On SQLite a context that can end would make the driver run every
	// statement on a goroutine of its own (see queryContext); the
	// transaction there is in-process and short.
	ctx := context.Background()
	if isPostgres(s.db) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, createBatchTimeout)
		defer cancel()
	}
	for len(batch) > 0 {
		failed, err := s.writeBatch(ctx, batch)
		switch {
		case err == nil:
			for _, r := range batch {
				r.done <- nil
			}
			return
		case failed < 0:
			for _, r := range batch {
				r.done <- err
			}
			return
		}
		batch[failed].done <- err
		batch = slices.Delete(batch, failed, failed+1)
	}
}

// writeBatch writes every event of batch and its tags in one transaction
// and commits it. On an event's own error it rolls back and returns that
// event's index; on any other error, -1.
func (s *Events) writeBatch(ctx context.Context, batch []*createReq) (int, error) {
	pool, err := writePool(s.db)
	if err != nil {
		return -1, err
	}
	// Statements are prepared before the transaction begins: on SQLite
	// the transaction holds the one write connection they are prepared on.
	insertEvent, err := s.insertEventStmt(ctx)
	if err != nil {
		return -1, err
	}
	pg := isPostgres(s.db)
	var tagStmts []*sql.Stmt
	if !pg {
		if tagStmts, err = s.insertTagStmts(ctx); err != nil {
			return -1, err
		}
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return -1, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	event := tx.StmtContext(ctx, insertEvent)
	defer event.Close()
	for i, r := range batch {
		e := r.e
		e.CreatedAt = s.db.NowFunc()
		e.UpdatedAt = e.CreatedAt
		if pg {
			err = s.insertPostgres(ctx, event, e, r.tags)
		} else {
			err = s.insertSQLite(ctx, tx, event, tagStmts, e, r.tags)
		}
		if err != nil {
			return i, s.translateDriver(err)
		}
	}
	return -1, tx.Commit()
}

// insertEventStmt prepares the event's INSERT. PostgreSQL writes the tags
// in the same statement (one round trip per event); SQLite, which has no
// INSERT in WITH, reads the id from the connection instead of RETURNING,
// which saves reading a result row.
func (s *Events) insertEventStmt(ctx context.Context) (*sql.Stmt, error) {
	insert := "INSERT INTO events (" + strings.Join(eventColumns, ", ") + ") VALUES (" + placeholders(s.db, len(eventColumns)) + ")"
	if isPostgres(s.db) {
		insert = "WITH e AS (" + insert + " RETURNING id), t AS (INSERT INTO event_tags (event_id, tag) SELECT e.id, tag FROM e, unnest(" +
			param(s.db, len(eventColumns)+1) + "::text[]) AS tag) SELECT id FROM e"
	}
	return s.stmts.insertEvent.get(ctx, s.db, writePool, insert)
}

// insertTagStmts are SQLite's tag INSERTs, the n-th writing n+1 rows.
func (s *Events) insertTagStmts(ctx context.Context) ([]*sql.Stmt, error) {
	stmts := make([]*sql.Stmt, MaxTags)
	for i := range stmts {
		var err error
		stmts[i], err = s.stmts.insertTags[i].get(ctx, s.db, writePool,
			"INSERT INTO event_tags (event_id, tag) VALUES "+strings.TrimSuffix(strings.Repeat("(?, ?), ", i+1), ", "))
		if err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

func eventArgs(e *Event) []any {
	return []any{e.CreatorID, e.Title, e.Image, e.Description, e.Tags, e.Location, e.StartsAt, e.EndsAt,
		e.Visibility, e.Timezone, e.Capacity, e.RSVPOpen, e.CreatedAt, e.UpdatedAt}
}

func (s *Events) insertPostgres(ctx context.Context, event *sql.Stmt, e *Event, tags []string) error {
	if tags == nil {
		tags = []string{} // an empty array, not NULL (which unnest also takes, but say what is meant)
	}
	return event.QueryRowContext(ctx, append(eventArgs(e), tags)...).Scan(&e.ID)
}

func (s *Events) insertSQLite(ctx context.Context, tx *sql.Tx, event *sql.Stmt, tagStmts []*sql.Stmt, e *Event, tags []string) error {
	res, err := event.ExecContext(ctx, eventArgs(e)...)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId() // the triggers' own inserts do not change it
	if err != nil {
		return err
	}
	e.ID = uint(id)
	for len(tags) > 0 { // one INSERT for the tags (Validate allows at most MaxTags)
		n := min(len(tags), MaxTags)
		args := make([]any, 0, 2*n)
		for _, t := range tags[:n] {
			args = append(args, e.ID, t)
		}
		if _, err := tx.StmtContext(ctx, tagStmts[n-1]).ExecContext(ctx, args...); err != nil {
			return err
		}
		tags = tags[n:]
	}
	return nil
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
