package account_test

import (
	"context"
	"errors"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

const goodPassword = "correct horse battery staple"

func newService(t *testing.T, db *gorm.DB) *account.Service {
	t.Helper()
	s, err := account.New(db, account.Config{BcryptCost: 4, HashSlots: 1, HashQueue: 4, LoginLimit: 5})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A change whose audit entry cannot be written does not happen: the entry
// is written in the change's own transaction.
func TestChangesFailWithoutTheirAuditEntry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newService(t, db)
		u, err := s.SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.Actor{IP: "192.0.2.1"})
		if err != nil {
			t.Fatalf("sign-up: %v", err)
		}
		entries, err := models.NewAudit(db).List(ctx, models.AuditFilter{Action: models.ActionSignup})
		if err != nil || len(entries) != 1 || entries[0].ActorEmail != "ada@example.com" || entries[0].IP != "192.0.2.1" {
			t.Fatalf("signup audit = %+v, %v", entries, err)
		}

		if err := db.Migrator().DropTable(&models.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignUp(ctx, account.SignUp{Email: "bob@example.com", Password: goodPassword}, account.CLI); err == nil {
			t.Fatal("sign-up without an audit log succeeded")
		}
		if _, err := models.NewUsers(db).ByEmail(ctx, "bob@example.com"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob exists after a failed sign-up: %v", err)
		}
		if err := s.SetRole(ctx, u, models.RoleAdmin, account.CLI); err == nil {
			t.Fatal("promotion without an audit log succeeded")
		}
		if err := s.SetPassword(ctx, u, "another good password 42", account.CLI); err == nil {
			t.Fatal("password change without an audit log succeeded")
		}
		// A refused sign-in is only answered as one once it is logged.
		if _, err := s.SignIn(ctx, "ada@example.com", "wrong password", "192.0.2.1"); err == nil || errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("failed sign-in without an audit log: %v, want the store's error", err)
		}
		after, err := models.NewUsers(db).ByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Role != models.RoleUser || after.PasswordHash != u.PasswordHash || after.TokenVersion != u.TokenVersion {
			t.Fatalf("user changed although its audit entry failed: %+v", after)
		}
	})
}

// Sign-in refuses unknown emails, disabled accounts and wrong passwords
// alike, and throttles the pair after the limit.
func TestSignIn(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	s := newService(t, db)
	if _, err := s.SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.Actor{}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.SignIn(ctx, "ADA@example.com ", goodPassword, "192.0.2.1"); err != nil || u.Email != "ada@example.com" {
		t.Fatalf("sign-in = %v, %v", u, err)
	}
	for i := 0; i < 5; i++ {
		if _, err := s.SignIn(ctx, "ada@example.com", "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v, want ErrBadCredentials", i+1, err)
		}
	}
	var te *account.ThrottledError
	if _, err := s.SignIn(ctx, "ada@example.com", goodPassword, "192.0.2.1"); !errors.As(err, &te) {
		t.Fatalf("after the limit: %v, want *ThrottledError", err)
	}
	if _, err := s.SignIn(ctx, "nobody@example.com", goodPassword, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("unknown email: %v, want ErrBadCredentials", err)
	}
}

// TestNoEnumerationAfterACostChange is the finding: users hashed at one
// cost, the server restarted at a lower one. A failed sign-in for an
// unknown email must do the same bcrypt work as one for a real account.
func TestNoEnumerationAfterACostChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		before, err := account.New(db, account.Config{BcryptCost: 6, HashSlots: 1, HashQueue: 4, LoginLimit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := before.SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.CLI); err != nil {
			t.Fatal(err)
		}
		after := newService(t, db) // restarted at cost 4
		work := func(email string) int64 {
			w0 := after.HashWork()
			if _, err := after.SignIn(ctx, email, "wrong password", "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("%s: %v", email, err)
			}
			return after.HashWork() - w0
		}
		known, unknown := work("ada@example.com"), work("nobody@example.com")
		if known != unknown || known != 1<<2 {
			t.Errorf("bcrypt work: real account %d, unknown email %d; want both 4 (one cost-6 comparison)", known, unknown)
		}
	})
}
