package models

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// splitPool is the connection pool of an SQLite file: writes go to a pool
// of one connection and plain reads to a pool of read-only connections.
//
// SQLite lets one writer in at a time. With every connection free to write,
// concurrent writers collide on the lock and wait in SQLite's busy handler,
// which sleeps for whole milliseconds; a single write connection makes them
// queue in Go instead, handed over the moment the previous one commits. WAL
// lets readers run beside the writer, so they keep a pool of their own;
// those connections are query_only, so a write sent to them by mistake
// fails loudly instead of contending for the lock.
//
// Transactions (and so every read-then-write) run on the write connection:
// code inside a transaction must use its tx, never the outer handle, or it
// would wait for the connection its own transaction holds.
type splitPool struct {
	write *sql.DB
	read  *sql.DB
	// scans are the slots for searches that read a window of events in
	// page order (see searchRows): one per core, so that however many
	// clients search, scans never hold more than a quarter of the read
	// connections and other reads always find one.
	scans chan struct{}
}

var (
	_ gorm.ConnPool       = (*splitPool)(nil)
	_ gorm.TxBeginner     = (*splitPool)(nil)
	_ gorm.GetDBConnector = (*splitPool)(nil)
)

// isRead reports whether a statement only reads: a SELECT, or a PRAGMA
// that sets nothing. Anything else, INSERT ... RETURNING and WITH included,
// goes to the write connection.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT":
		return true
	case "PRAGMA":
		return !strings.Contains(q, "=")
	}
	return false
}

func (p *splitPool) route(query string) *sql.DB {
	if isRead(query) {
		return p.read
	}
	return p.write
}

func (p *splitPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.route(query).PrepareContext(ctx, query)
}

func (p *splitPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.write.ExecContext(ctx, query, args...)
}

func (p *splitPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.route(query).QueryContext(ctx, query, args...)
}

func (p *splitPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.route(query).QueryRowContext(ctx, query, args...)
}

// BeginTx starts every transaction on the write connection. The
// transaction runs to its commit or rollback even if the request is
// canceled meanwhile (see queryContext): it is short, and database/sql
// would otherwise watch every transaction's context from a goroutine.
func (p *splitPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return p.write.BeginTx(context.WithoutCancel(ctx), opts)
}

// GetDBConn is what gorm.DB.DB() returns: the read pool, whose connections
// carry every setting the write connection has.
func (p *splitPool) GetDBConn() (*sql.DB, error) { return p.read, nil }

// Close closes both pools.
func (p *splitPool) Close() error {
	werr := p.write.Close()
	if err := p.read.Close(); err != nil {
		return err
	}
	return werr
}

// prepared is db for the hot read paths: the same pools, with statements
// prepared once per connection and kept (GORM's statement cache, shared by
// every session of db). Use it outside transactions only, and only to read:
// a statement prepared for the read pool cannot run inside a transaction.
func prepared(ctx context.Context, db *gorm.DB) *gorm.DB {
	return db.Session(&gorm.Session{PrepareStmt: true, Context: queryContext(ctx, db)})
}

// queryContext is the context to run a hot statement on db with. When the
// context can be canceled, mattn/go-sqlite3 runs the statement, and then
// every row of its result, on a goroutine of its own, so as to interrupt
// SQLite on cancellation; for our short, bounded statements that costs
// more than the statement itself. So on SQLite they run with ctx's values
// but without its cancellation. PostgreSQL keeps ctx as it is.
func queryContext(ctx context.Context, db *gorm.DB) context.Context {
	if isPostgres(db) {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// scanSlots are db's slots for searches that scan (nil: no bound; a
// PostgreSQL server runs them in processes of its own, beside a pool of
// twenty connections).
func scanSlots(db *gorm.DB) chan struct{} {
	if p, ok := db.ConnPool.(*splitPool); ok {
		return p.scans
	}
	return nil
}

// readPool and writePool are the database/sql pools of db: for an SQLite
// file its read pool and its single write connection, else the one pool.
func readPool(db *gorm.DB) (*sql.DB, error) { return db.DB() }

func writePool(db *gorm.DB) (*sql.DB, error) {
	if p, ok := db.ConnPool.(*splitPool); ok {
		return p.write, nil
	}
	return db.DB()
}

// lazyStmt is a hot statement written by hand, prepared on its pool at
// first use and kept: no GORM on the way, and no SQL compiled per call.
type lazyStmt struct {
	mu   sync.Mutex // held while preparing
	stmt atomic.Pointer[sql.Stmt]
}

func (l *lazyStmt) get(ctx context.Context, db *gorm.DB, pool func(*gorm.DB) (*sql.DB, error), query string) (*sql.Stmt, error) {
	if stmt := l.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if stmt := l.stmt.Load(); stmt != nil {
		return stmt, nil
	}
	sqlDB, err := pool(db)
	if err != nil {
		return nil, err
	}
	stmt, err := sqlDB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err // tried again next time
	}
	l.stmt.Store(stmt)
	return stmt, nil
}

// param is the i-th (from 1) bind parameter in db's dialect.
func param(db *gorm.DB, i int) string {
	if isPostgres(db) {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// placeholders returns n bind parameters, comma-separated.
func placeholders(db *gorm.DB, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = param(db, i+1)
	}
	return strings.Join(ps, ", ")
}
