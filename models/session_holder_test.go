package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TestSessionsHolder checks the one-query session check: the user as
// stored (without the password hash), whether the session was signed out,
// and ErrNotFound for an unknown user.
func TestSessionsHolder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s, users := models.NewSessions(db), models.NewUsers(db)
		u := mkUser(t, db, "ada@example.com", models.RoleAdmin)
		if err := users.RecordSignIn(ctx, u.ID, time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		got, held, err := s.Holder(ctx, u.ID, "sid-1")
		revoked := held.Revoked
		if err != nil || revoked {
			t.Fatalf("Holder = %v, %v, %v", got, revoked, err)
		}
		if got.ID != u.ID || got.Email != u.Email || got.Name != u.Name || got.Role != models.RoleAdmin || got.Disabled ||
			got.TokenVersion != u.TokenVersion || got.PasswordHash != "" || got.LastSignInAt == nil ||
			!got.LastSignInAt.Equal(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)) || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("Holder user = %+v, want %+v without the hash", got, u)
		}
		if err := s.Revoke(ctx, "sid-1", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, held, err := s.Holder(ctx, u.ID, "sid-1"); err != nil || !held.Revoked {
			t.Fatalf("after revoking: held=%v, %v", held, err)
		}
		if _, held, err := s.Holder(ctx, u.ID, "sid-2"); err != nil || held.Revoked {
			t.Fatalf("another session: held=%v, %v", held, err)
		}
		if err := users.SetDisabled(ctx, u.ID, true); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("disable the last admin: %v", err)
		}
		v := mkUser(t, db, "bob@example.com", models.RoleUser)
		if err := users.SetDisabled(ctx, v.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.Holder(ctx, v.ID, "sid-3"); err != nil || !got.Disabled || got.TokenVersion != v.TokenVersion+1 {
			t.Fatalf("disabled user: %+v, %v", got, err)
		}
		if _, _, err := s.Holder(ctx, 9999, "sid-1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown user: %v, want ErrNotFound", err)
		}
	})
}
