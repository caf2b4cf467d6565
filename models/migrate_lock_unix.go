//go:build unix

package models

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"syscall"
	"time"
)

// sqliteFileLock serialises migrations of one SQLite file across processes
// with an flock on "<file>-migrate.lock" (mode 0600, left in place): the
// kernel drops the lock when its holder dies, so a killed migration never
// leaves the database locked. An in-memory database is private to its
// process and needs none.
type sqliteFileLock struct {
	path string
	file *os.File
}

func (l sqliteFileLock) lockPath() string { return l.path + "-migrate.lock" }

func (l *sqliteFileLock) SessionLock(ctx context.Context, _ *sql.Conn) error {
	if l.path == "" {
		return nil
	}
	f, err := os.OpenFile(l.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.file = f
			return nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			_ = f.Close()
			return fmt.Errorf("take the migration lock: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return fmt.Errorf("take the migration lock: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *sqliteFileLock) SessionUnlock(context.Context, *sql.Conn) error {
	if l.file == nil {
		return nil
	}
	err := l.file.Close() // closing the descriptor releases the flock
	l.file = nil
	return err
}
