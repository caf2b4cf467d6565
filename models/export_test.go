package models

import "gorm.io/gorm"

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
