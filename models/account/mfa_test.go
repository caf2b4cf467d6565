package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// TOTP secrets are sealed under keys derived from the signing keys: a new
// key first still opens what the old one sealed while it stays listed,
// without it nothing opens, and a sealed secret copied onto another
// account does not open there.
func TestTOTPSecretsAreSealed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		k1, k2 := []byte("first-signing-key-0123456789abcdef"), []byte("second-signing-key-0123456789abcd")
		svc := func(keys ...[]byte) *account.Service {
			s, err := account.New(db, account.Config{BcryptCost: 4, HashSlots: 1, HashQueue: 4, LoginLimit: 5,
				MFAKeys: account.MFAKeys(keys)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		users := models.NewUsers(db)
		ada, err := users.Create(ctx, "sealed-ada@example.com", "", "x", models.RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		bob, err := users.Create(ctx, "sealed-bob@example.com", "", "x", models.RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		e, err := svc(k1).BeginTOTP(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := users.ByID(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.TOTPSecret == "" || strings.Contains(stored.TOTPSecret, e.Secret) {
			t.Fatalf("stored secret %q holds the secret %q", stored.TOTPSecret, e.Secret)
		}
		if got, err := svc(k2, k1).PendingTOTP(stored); err != nil || got.Secret != e.Secret {
			t.Fatalf("after rotation (old key still listed): %q, %v", got.Secret, err)
		}
		if _, err := svc(k2).PendingTOTP(stored); err == nil {
			t.Fatal("opened without the key that sealed it")
		}
		if err := db.Model(&models.User{}).Where("id = ?", bob.ID).Update("totp_secret", stored.TOTPSecret).Error; err != nil {
			t.Fatal(err)
		}
		moved, err := users.ByID(ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc(k1).PendingTOTP(moved); err == nil {
			t.Fatal("a sealed secret copied onto another account opened")
		}
	})
}

// Passkey records: names are plain text, a credential belongs to one
// account, and one cannot remove another's; each change is audited.
func TestPasskeyRecords(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newService(t, db)
		users := models.NewUsers(db)
		ada, _ := users.Create(ctx, "keys-ada@example.com", "", "x", models.RoleUser)
		bob, _ := users.Create(ctx, "keys-bob@example.com", "", "x", models.RoleUser)
		var fe account.FieldErrors
		for _, name := range []string{"nul\x00", "bell\a", strings.Repeat("é", 61)} {
			if err := s.AddPasskey(ctx, ada, &models.Passkey{Name: name, CredentialID: "c-bad", Credential: "{}"}, "192.0.2.1"); !errors.As(err, &fe) {
				t.Fatalf("name %q: %v", name, err)
			}
		}
		p := &models.Passkey{Name: "  Laptop  ", CredentialID: "c-1", Credential: "{}"}
		if err := s.AddPasskey(ctx, ada, p, "192.0.2.1"); err != nil || p.Name != "Laptop" {
			t.Fatalf("add: %v, name %q", err, p.Name)
		}
		if err := s.AddPasskey(ctx, bob, &models.Passkey{Name: "Copy", CredentialID: "c-1", Credential: "{}"}, "192.0.2.1"); !errors.Is(err, models.ErrDuplicate) {
			t.Fatalf("the same credential for another account: %v", err)
		}
		if err := s.RemovePasskey(ctx, bob, p.ID, "192.0.2.1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another's passkey removed: %v", err)
		}
		if err := s.RemovePasskey(ctx, ada, p.ID, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		for action, want := range map[string]int{models.ActionPasskeyAdded: 1, models.ActionPasskeyRemoved: 1} {
			entries, err := models.NewAudit(db).List(ctx, models.AuditFilter{Action: action, Limit: 10})
			if err != nil || len(entries) != want {
				t.Fatalf("%s: %d entries (%v)", action, len(entries), err)
			}
		}
	})
}
