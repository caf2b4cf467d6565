// Package models owns Planner's data: the GORM types, one small store per
// aggregate, and the sentinel errors the rest of the program matches on.
// Nothing outside this package writes SQL or sees a GORM error.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// Sentinel errors returned by the stores. Handlers map them to status codes.
var (
	// ErrNotFound means the requested record does not exist (or is not visible).
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means a unique constraint (such as a user's email) was violated.
	ErrDuplicate = errors.New("already exists")
	// ErrLastAdmin means the change would leave the site without an enabled admin.
	ErrLastAdmin = errors.New("the last enabled admin cannot be removed")
	// ErrConflict means the record is not in the state the change expects
	// (say, a second factor confirmed twice): it changed meanwhile.
	ErrConflict = errors.New("changed meanwhile")
	// ErrTimeout means the request's deadline passed before the database
	// answered: the query was cancelled. Handlers answer 503 and Retry-After.
	ErrTimeout = errors.New("the request's deadline passed")
)

// translate maps GORM's errors to our sentinels, wrapping them with context
// so logs still say which operation failed.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, ErrDuplicate)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), isInterrupt(err):
		return fmt.Errorf("%s: %w: %w", op, ErrTimeout, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// oneRow is the error of a statement that must touch a row: its own, or
// gorm.ErrRecordNotFound (ErrNotFound once translated) when it touched none.
func oneRow(res *gorm.DB) error {
	if res.Error == nil && res.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return res.Error
}

// isInterrupt reports SQLite's answer to a cancelled context: mattn/go-sqlite3
// interrupts the statement and returns SQLITE_INTERRUPT.
func isInterrupt(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrInterrupt
}
