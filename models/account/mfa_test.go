package account_test

import (
	"context"
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
