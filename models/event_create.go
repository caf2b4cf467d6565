package models

import (
	"context"
	"database/sql"
	"errors"
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
	// SQLite's batch statements (see writeBulk): the next event id, and
	// bulkEvents[k] and bulkTags[k] inserting 2^k events or tag rows.
	nextID     lazyStmt
	bulkEvents [bulkEventSizes]lazyStmt
	bulkTags   [bulkTagSizes]lazyStmt
	// PostgreSQL's batch statements (see writeBulkPostgres): ids for the
	// events, then every event and tag row in one statement.
	nextIDs lazyStmt
	bulk    lazyStmt
}

// The sizes of SQLite's batch statements are powers of two, so that a
// handful of prepared statements writes any batch in a few statements:
// events up to 2^7 = maxCreateBatch at once, tag rows up to 2^10.
const (
	bulkEventSizes = 8
	bulkTagSizes   = 11
)

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
	commits int  // batches taken so far, for the benchmarks' events per commit
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
// Each event keeps its own outcome. A batch is written in a few
// statements (writeBulk, writeBulkPostgres); if they fail (one event's
// creator deleted meanwhile, say), nothing of it is written and it is
// written again one statement per event (writeBatch), where a failing
// event is left out and only its caller gets the error.
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
	if e.Creator.ID != 0 {
		return nil // the batch read the creator too
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
		q.commits++
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
	bulk := s.writeBulk
	if isPostgres(s.db) {
		bulk = s.writeBulkPostgres
	}
	if err := bulk(ctx, batch); err == nil || !s.notWritten(err) {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	// One statement per event, which tells whose statement failed.
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

// notWritten reports whether a failed bulk write surely wrote nothing, so
// that writing its events again cannot store one twice. On SQLite (in the
// process, in a transaction) a failure always rolls back. On PostgreSQL
// only an error the server answered says so (the statement is its own
// transaction, and a refused one is rolled back); a lost connection or an
// expired context leaves the outcome unknown, and every caller is told
// the error instead of risking a second copy.
func (s *Events) notWritten(err error) bool {
	if !isPostgres(s.db) {
		return true
	}
	var refused interface{ SQLState() string } // *pgconn.PgError
	return errors.As(err, &refused)
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

// writeBulk writes batch on SQLite in a few statements: every event's row
// under an id chosen in the transaction, then every tag row. It is all or
// nothing: on any error the transaction is rolled back and the batch is
// written again one event at a time, which tells whose event failed.
//
// Few statements matter more than anything else here: the search index
// (FTS5) writes the terms it gathered to disk at the start of every
// statement that opens a statement journal, as an INSERT with triggers
// does. One statement per event is one index segment per event, most of
// the cost of a create; one statement for many events is one segment for
// them all.
func (s *Events) writeBulk(ctx context.Context, batch []*createReq) error {
	pool, err := writePool(s.db)
	if err != nil {
		return err
	}
	var tags [][2]any // (event index, tag)
	for i, r := range batch {
		for _, t := range r.tags {
			tags = append(tags, [2]any{i, t})
		}
	}
	// Prepared before the transaction holds the write connection.
	nextID, err := s.stmts.nextID.get(ctx, s.db, writePool, "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "+
		"COALESCE((SELECT max(id) FROM events), 0))")
	if err != nil {
		return err
	}
	eventChunks, tagChunks := powerChunks(len(batch), bulkEventSizes), powerChunks(len(tags), bulkTagSizes)
	eventStmts := map[int]*sql.Stmt{}
	for _, k := range eventChunks {
		cols := append([]string{"id"}, eventColumns...)
		if eventStmts[k], err = s.stmts.bulkEvents[k].get(ctx, s.db, writePool, "INSERT INTO events ("+strings.Join(cols, ", ")+") VALUES "+
			rowsOf(len(cols), 1<<k)); err != nil {
			return err
		}
	}
	tagStmts := map[int]*sql.Stmt{}
	for _, k := range tagChunks {
		if tagStmts[k], err = s.stmts.bulkTags[k].get(ctx, s.db, writePool, "INSERT INTO event_tags (event_id, tag) VALUES "+rowsOf(2, 1<<k)); err != nil {
			return err
		}
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// The ids AUTOINCREMENT would give, in order: the transaction holds
	// the write lock, so nothing else takes them meanwhile, and an id once
	// used (even by a deleted event) is never chosen again.
	var last int64
	if err := tx.StmtContext(ctx, nextID).QueryRowContext(ctx).Scan(&last); err != nil {
		return err
	}
	args := make([]any, 0, (1+len(eventColumns))<<eventChunks[0])
	done := 0
	for _, k := range eventChunks {
		args = args[:0]
		for _, r := range batch[done : done+1<<k] {
			e := r.e
			e.ID = uint(last) + 1 + uint(done) + uint(len(args)/(1+len(eventColumns)))
			e.CreatedAt = s.db.NowFunc()
			e.UpdatedAt = e.CreatedAt
			args = append(append(args, e.ID), eventArgs(e)...)
		}
		if _, err := tx.StmtContext(ctx, eventStmts[k]).ExecContext(ctx, args...); err != nil {
			return s.translateDriver(err)
		}
		done += 1 << k
	}
	done = 0
	for _, k := range tagChunks {
		args = args[:0]
		for _, t := range tags[done : done+1<<k] {
			args = append(args, batch[t[0].(int)].e.ID, t[1])
		}
		if _, err := tx.StmtContext(ctx, tagStmts[k]).ExecContext(ctx, args...); err != nil {
			return s.translateDriver(err)
		}
		done += 1 << k
	}
	return tx.Commit()
}

// writeBulkPostgres writes batch on PostgreSQL in one statement, its own
// transaction: ids are drawn from the events' sequence first, then every
// event and tag row goes in as arrays. That is two round trips and one WAL
// flush for the whole batch. It is all or nothing, like writeBulk, and
// written again one event at a time only when the server refused it (see
// notWritten); a failed batch burns its ids, as any rolled-back insert does.
func (s *Events) writeBulkPostgres(ctx context.Context, batch []*createReq) error {
	nextIDs, err := s.stmts.nextIDs.get(ctx, s.db, writePool, "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)")
	if err != nil {
		return err
	}
	bulk, err := s.stmts.bulk.get(ctx, s.db, writePool, "WITH e AS (INSERT INTO events (id, "+strings.Join(eventColumns, ", ")+
		") SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "+
		"$8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::bigint[], $13::boolean[], $14::timestamptz[], $15::timestamptz[])), "+
		"t AS (INSERT INTO event_tags (event_id, tag) SELECT * FROM unnest($16::bigint[], $17::text[])) "+
		"SELECT id, email, name FROM users WHERE id = ANY($2::bigint[])")
	if err != nil {
		return err
	}
	rows, err := nextIDs.QueryContext(ctx, len(batch))
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(batch))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ids) != len(batch) {
		return fmt.Errorf("the events sequence gave %d ids for %d events", len(ids), len(batch))
	}
	n := len(batch)
	var (
		creators                                             = make([]int64, n)
		titles, images, descs, tagLists, locations, vis, tzs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		starts, ends                                         = make([]*time.Time, n), make([]*time.Time, n)
		capacities                                           = make([]*int, n)
		open                                                 = make([]bool, n)
		created                                              = make([]time.Time, n)
		tagEvents                                            []int64
		tags                                                 []string
	)
	for i, r := range batch {
		e := r.e
		e.ID = uint(ids[i])
		e.CreatedAt = s.db.NowFunc()
		e.UpdatedAt = e.CreatedAt
		creators[i], titles[i], images[i], descs[i], tagLists[i], locations[i] = int64(e.CreatorID), e.Title, e.Image, e.Description, e.Tags, e.Location
		starts[i], ends[i], vis[i], tzs[i], capacities[i], open[i], created[i] = e.StartsAt, e.EndsAt, e.Visibility, e.Timezone, e.Capacity, e.RSVPOpen, e.CreatedAt
		for _, t := range r.tags {
			tagEvents, tags = append(tagEvents, ids[i]), append(tags, t)
		}
	}
	if tags == nil {
		tagEvents, tags = []int64{}, []string{} // empty arrays, not NULL
	}
	// The statement also reads the creators, which saves every caller a
	// round trip of its own. Its commit is known only once its result has
	// been read to the end: the rows' Close reports a failed commit.
	rows, err = bulk.QueryContext(ctx, ids, creators, titles, images, descs, tagLists, locations, starts, ends, vis, tzs, capacities, open,
		created, created, tagEvents, tags)
	if err != nil {
		return s.translateDriver(err)
	}
	found := map[uint]User{}
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email, &u.Name); err != nil {
			rows.Close()
			return err
		}
		found[u.ID] = u
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return s.translateDriver(err)
	}
	for _, r := range batch {
		u := found[r.e.CreatorID] // there, or the foreign key had refused the event
		r.e.Creator.ID, r.e.Creator.Email, r.e.Creator.Name = u.ID, u.Email, u.Name
	}
	return nil
}

// powerChunks splits n into powers of two, largest first, none above
// 2^(sizes-1), and returns their exponents.
func powerChunks(n, sizes int) []int {
	var ks []int
	for k := sizes - 1; k >= 0; k-- {
		for n >= 1<<k {
			ks = append(ks, k)
			n -= 1 << k
		}
	}
	return ks
}

// rowsOf is the VALUES list of rows rows of cols placeholders each.
func rowsOf(cols, rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
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
