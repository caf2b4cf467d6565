package models

// SchemaModels are the GORM types that map to tables, for the test that
// checks every field against the migrated schema.
var SchemaModels = []any{&User{}, &Event{}, &EventTag{}, &SigninThrottle{}, &RevokedSession{}, &AuditEntry{}}

// SetSearchWindows shrinks the search windows of s, so that small test data
// takes every path of a search.
func SetSearchWindows(s *Events, window, scan int) { s.window, s.scanWindow = window, scan }
