package models

// SchemaModels are the GORM types that map to tables, for the test that
// checks every field against the migrated schema.
var SchemaModels = []any{&User{}, &Event{}, &EventTag{}, &SigninThrottle{}, &RevokedSession{}, &AuditEntry{}, &Session{}, &OutboxMail{}}
