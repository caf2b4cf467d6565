package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TestSessionRecords: a session's record is written and updated by sid,
// never over another user's; Live lists only the user's own sessions that
// have not expired, been signed out or outdated by a token-version bump;
// End revokes the sid and drops the record; Purge drops what ended.
func TestSessionRecords(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, users := models.NewSessions(db), models.NewUsers(db)
		ada, bob := mkUser(t, db, "ada@example.com", models.RoleUser), mkUser(t, db, "bob@example.com", models.RoleUser)
		now := time.Now().UTC().Truncate(time.Second)
		rec := func(sid string, u *models.User, kind string, exp time.Time) models.Session {
			return models.Session{SID: sid, UserID: u.ID, Kind: kind, TokenVersion: u.TokenVersion, IP: "192.0.2.1",
				UserAgent: strings.Repeat("x", 400), CreatedAt: now.Add(-time.Hour), LastSeenAt: now, ExpiresAt: exp}
		}
		for _, r := range []models.Session{
			rec("web-1", ada, models.SessionBrowser, now.Add(time.Hour)),
			rec("api-1", ada, models.SessionAPI, now.Add(time.Hour)),
			rec("old", ada, models.SessionAPI, now.Add(-time.Minute)),
			rec("bob-1", bob, models.SessionBrowser, now.Add(time.Hour)),
		} {
			if err := s.Record(ctx, r); err != nil {
				t.Fatalf("record %s: %v", r.SID, err)
			}
		}
		// An update by sid keeps the sign-in time; one naming another user
		// changes nothing.
		up := rec("web-1", ada, models.SessionBrowser, now.Add(2*time.Hour))
		up.LastSeenAt, up.IP, up.CreatedAt = now.Add(time.Minute), "198.51.100.1", now
		if err := s.Record(ctx, up); err != nil {
			t.Fatal(err)
		}
		if err := s.Record(ctx, rec("bob-1", ada, models.SessionBrowser, now.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		live, err := s.Live(ctx, ada.ID, now)
		if err != nil || len(live) != 2 {
			t.Fatalf("ada's live sessions: %+v, %v", live, err)
		}
		web := live[0]
		if web.SID != "web-1" || web.IP != "198.51.100.1" || !web.CreatedAt.Equal(now.Add(-time.Hour)) ||
			!web.ExpiresAt.Equal(now.Add(2*time.Hour)) || len(web.UserAgent) != 300 {
			t.Fatalf("updated record: %+v", web)
		}
		if bobs, _ := s.Live(ctx, bob.ID, now); len(bobs) != 1 || bobs[0].UserID != bob.ID {
			t.Fatalf("bob's sessions: %+v", bobs)
		}
		// Holder sees the last-seen time; another user's sid is no record of ada's.
		if _, held, err := s.Holder(ctx, ada.ID, "web-1"); err != nil || !held.LastSeen.Equal(now.Add(time.Minute)) || held.Revoked {
			t.Fatalf("holder: %+v, %v", held, err)
		}
		if _, held, err := s.Holder(ctx, ada.ID, "bob-1"); err != nil || !held.LastSeen.IsZero() {
			t.Fatalf("holder of another's sid: %+v, %v", held, err)
		}
		// ByID is per user.
		if _, err := s.ByID(ctx, bob.ID, web.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob reads ada's session: %v", err)
		}
		got, err := s.ByID(ctx, ada.ID, web.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := models.InTx(ctx, db, func(tx models.Tx) error { return tx.Sessions.End(ctx, got) }); err != nil {
			t.Fatal(err)
		}
		if _, held, _ := s.Holder(ctx, ada.ID, "web-1"); !held.Revoked {
			t.Fatal("ended session not revoked")
		}
		if live, _ := s.Live(ctx, ada.ID, now); len(live) != 1 || live[0].SID != "api-1" {
			t.Fatalf("after End: %+v", live)
		}
		// A token-version bump ends the rest; Purge forgets them.
		if _, err := users.BumpTokenVersion(ctx, ada.ID); err != nil {
			t.Fatal(err)
		}
		if live, _ := s.Live(ctx, ada.ID, now); len(live) != 0 {
			t.Fatalf("after sign-out everywhere: %+v", live)
		}
		if err := s.Purge(ctx, now); err != nil {
			t.Fatal(err)
		}
		var left []models.Session
		db.Order("sid").Find(&left)
		if len(left) != 1 || left[0].SID != "bob-1" {
			t.Fatalf("after Purge: %+v", left)
		}
	})
}

// TestPasswordResetAndVerificationStores: ReplacePasswordHash wins only
// over the hash it was given; MarkEmailVerified only for the address it
// was given, once.
func TestPasswordResetAndVerificationStores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u := mkUser(t, db, "ada@example.com", models.RoleUser)
		ver, err := users.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "new-hash")
		if err != nil || ver != u.TokenVersion+1 {
			t.Fatalf("replace: %d, %v", ver, err)
		}
		if _, err := users.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "other-hash"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("replace over a changed hash: %v", err)
		}
		if ok, err := users.MarkEmailVerified(ctx, u.ID, "old@example.com", time.Now()); err != nil || ok {
			t.Fatalf("verify another address: %v, %v", ok, err)
		}
		if ok, err := users.MarkEmailVerified(ctx, u.ID, u.Email, time.Now()); err != nil || !ok {
			t.Fatalf("verify: %v, %v", ok, err)
		}
		if ok, _ := users.MarkEmailVerified(ctx, u.ID, u.Email, time.Now()); ok {
			t.Fatal("verified twice")
		}
		got, _ := users.ByID(ctx, u.ID)
		if got.PasswordHash != "new-hash" || got.EmailVerifiedAt == nil {
			t.Fatalf("stored: %+v", got)
		}
	})
}
