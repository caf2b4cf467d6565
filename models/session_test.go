package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

func TestSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		sessions := models.NewSessions(db)
		now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

		isRevoked := func(sid string) bool {
			t.Helper()
			var n int64
			if err := db.Model(&models.RevokedSession{}).Where("sid = ?", sid).Count(&n).Error; err != nil {
				t.Fatalf("is %q revoked: %v", sid, err)
			}
			return n > 0
		}

		if isRevoked("live") {
			t.Fatal("a session nobody revoked is revoked")
		}
		if err := sessions.Revoke(ctx, "live", now.Add(time.Hour)); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		if !isRevoked("live") {
			t.Fatal("revoked session is not revoked")
		}
		// Revoking again (a double sign-out) is fine and changes nothing.
		if err := sessions.Revoke(ctx, "live", now.Add(2*time.Hour)); err != nil {
			t.Fatalf("second Revoke: %v", err)
		}
		if !isRevoked("live") || isRevoked("other") {
			t.Fatal("revocation leaked to another session id or got lost")
		}

		// Purge drops only revocations that ran out more than the grace
		// ago: one that expired a moment ago must stay, or its token would
		// work again within the token check's leeway.
		if err := sessions.Revoke(ctx, "old", now.Add(-models.RevocationGrace-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := sessions.Revoke(ctx, "just-expired", now.Add(-10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := sessions.Revoke(ctx, "edge", now); err != nil {
			t.Fatal(err)
		}
		if err := sessions.Purge(ctx, now); err != nil {
			t.Fatalf("Purge: %v", err)
		}
		if isRevoked("old") {
			t.Error("expired revocation survived Purge")
		}
		if !isRevoked("live") {
			t.Error("Purge dropped a revocation still in force")
		}
		if !isRevoked("edge") {
			t.Error("Purge dropped a revocation expiring exactly now")
		}
		if !isRevoked("just-expired") {
			t.Error("Purge dropped a revocation 10 s past its expiry: its token works again within the leeway")
		}
		// A much later purge drops them all.
		if err := sessions.Purge(ctx, now.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if isRevoked("live") || isRevoked("edge") {
			t.Error("Purge after every expiry left revocations behind")
		}
	})
}
