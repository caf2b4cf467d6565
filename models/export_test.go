package models

import (
	"runtime"

	"gorm.io/gorm"
)

// SchemaModels are the GORM types that map to tables, for the test that
// checks every field against the migrated schema.
var SchemaModels = []any{&User{}, &Event{}, &EventTag{}, &SigninThrottle{}, &RevokedSession{}, &AuditEntry{}, &Session{}, &OutboxMail{}, &RateLimit{}, &RSVP{},
	&RecoveryCode{}, &Passkey{}}

// SetSearchBounds shrinks the bounds of s's search, so that small test data
// takes every path of a search.
func SetSearchBounds(s *Events, few, window, scan int) {
	s.few, s.window, s.scanWindow = few, window, scan
}

// HoldScanSlots takes every scan slot of db until the returned function is
// called.
func HoldScanSlots(db *gorm.DB) (release func()) {
	slots := scanSlots(db)
	for range cap(slots) {
		slots <- struct{}{}
	}
	return func() {
		for range cap(slots) {
			<-slots
		}
	}
}

// PauseCreates keeps s's creates waiting in its queue, none written, until
// the returned function is called: then one committer takes them all (up
// to a batch), as if they had arrived while a commit was running.
func PauseCreates(s *Events) (resume func()) {
	q := &s.creates
	for {
		q.mu.Lock()
		if !q.running { // no committer now, and none starts while paused
			q.running = true
			q.mu.Unlock()
			return func() { go s.commitCreates() }
		}
		q.mu.Unlock()
		runtime.Gosched()
	}
}

// QueuedCreates is how many creates wait in s's queue, not yet taken by a
// committer.
func QueuedCreates(s *Events) int {
	s.creates.mu.Lock()
	defer s.creates.mu.Unlock()
	return len(s.creates.waiting)
}

// CreateCommits is how many batches s's committers have taken.
func CreateCommits(s *Events) int {
	s.creates.mu.Lock()
	defer s.creates.mu.Unlock()
	return s.creates.commits
}
