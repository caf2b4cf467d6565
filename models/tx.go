package models

import (
	"context"

	"gorm.io/gorm"
)

// Tx is the account stores bound to one transaction: what they write
// commits together or not at all. It is how a change and the audit entry
// that records it are made one: if the entry cannot be written, the change
// does not happen.
type Tx struct {
	Users    *Users
	Audit    *Audit
	Sessions *Sessions
	Events   *Events
	Outbox   *Outbox
	Recovery *RecoveryCodes
	Passkeys *Passkeys
	db       *gorm.DB
}

// Throttles is the throttle store in the transaction, keying its digests
// with key (see ThrottleKey).
func (t Tx) Throttles(key []byte) *Throttles { return NewThrottles(t.db, key) }

// InTx runs fn in one transaction on db and commits when fn returns nil.
// Inside fn, use only tx's stores: on SQLite the transaction holds the one
// write connection, so a store on db itself would wait for it forever.
func InTx(ctx context.Context, db *gorm.DB, fn func(tx Tx) error) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(Tx{Users: NewUsers(tx), Audit: NewAudit(tx), Sessions: NewSessions(tx), Events: NewEvents(tx), Outbox: NewOutbox(tx),
			Recovery: NewRecoveryCodes(tx), Passkeys: NewPasskeys(tx), db: tx})
	})
}
