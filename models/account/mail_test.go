package account_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

var linkKeys = account.LinkKeys([][]byte{[]byte("account-test-key-0123456789abcdef")})

// testMailer composes bare mails carrying the token.
type testMailer struct{}

func (testMailer) PasswordReset(u *models.User, token string) (models.OutboxMail, error) {
	return models.OutboxMail{Kind: models.MailPasswordReset, ToAddr: u.Email, Subject: "reset", TextBody: token}, nil
}

func (testMailer) VerifyEmail(u *models.User, token string) (models.OutboxMail, error) {
	return models.OutboxMail{Kind: models.MailVerifyEmail, ToAddr: u.Email, Subject: "verify", TextBody: token}, nil
}

func newMailingService(t *testing.T, db *gorm.DB) *account.Service {
	t.Helper()
	s, err := account.New(db, account.Config{BcryptCost: 4, HashSlots: 2, HashQueue: 16, LoginLimit: 5,
		LinkKeys: linkKeys, Mailer: testMailer{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMailCommitsWithItsCause: the verification mail of a sign-up is in
// the sign-up's transaction: without an outbox, there is no account
// either.
func TestMailCommitsWithItsCause(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newMailingService(t, db)
		if _, err := s.SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.Actor{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		var n int64
		db.Model(&models.OutboxMail{}).Where("to_addr = ? AND kind = ?", "ada@example.com", models.MailVerifyEmail).Count(&n)
		if n != 1 {
			t.Fatalf("%d verification mails queued", n)
		}
		if err := db.Migrator().DropTable(&models.OutboxMail{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignUp(ctx, account.SignUp{Email: "bob@example.com", Password: goodPassword}, account.Actor{IP: "192.0.2.1"}); err == nil {
			t.Fatal("sign-up succeeded without its mail")
		}
		if _, err := models.NewUsers(db).ByEmail(ctx, "bob@example.com"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob exists: %v", err)
		}
	})
}

// TestResetRaces: several uses of one reset token at once: exactly one
// sets its password, on both databases.
func TestResetRaces(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newMailingService(t, db)
		u, err := s.SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.CLI)
		if err != nil {
			t.Fatal(err)
		}
		tok := account.ResetToken(linkKeys, u, time.Now())
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, refused := 0, 0
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.ResetPassword(ctx, tok, "a new password for ada", "192.0.2.1")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, account.ErrBadLink):
					refused++
				default:
					t.Errorf("reset: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || refused != 5 {
			t.Fatalf("%d resets won, %d refused; want exactly one win", wins, refused)
		}
		if _, err := s.SignIn(ctx, "ada@example.com", "a new password for ada", "192.0.2.1"); err != nil {
			t.Fatalf("sign in with the new password: %v", err)
		}
	})
}

// TestVerifyEmailLinks: a verification link works for the address it was
// made for, not for a reset; a reset link is no verification link.
func TestVerifyEmailLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newMailingService(t, db)
		u, err := s.SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.CLI)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyEmail(ctx, account.ResetToken(linkKeys, u, time.Now()), ""); !errors.Is(err, account.ErrBadLink) {
			t.Fatalf("a reset token verifies: %v", err)
		}
		other := *u
		other.Email = "someone-else@example.com"
		if _, err := s.VerifyEmail(ctx, account.VerifyToken(linkKeys, &other, time.Now()), ""); !errors.Is(err, account.ErrBadLink) {
			t.Fatalf("a link for another address verifies: %v", err)
		}
		if _, err := s.ResetPassword(ctx, account.VerifyToken(linkKeys, u, time.Now()), "a new password for ada", ""); !errors.Is(err, account.ErrBadLink) {
			t.Fatalf("a verification token resets: %v", err)
		}
		got, err := s.VerifyEmail(ctx, account.VerifyToken(linkKeys, u, time.Now()), "192.0.2.1")
		if err != nil || got.EmailVerifiedAt == nil {
			t.Fatalf("verify: %+v, %v", got, err)
		}
	})
}

// TestLinksSurviveKeyRotation: a link made with the old signing key still
// works once a new key signs (both configured), and not once the old key
// is gone.
func TestLinksSurviveKeyRotation(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	old, fresh := []byte("old-signing-key-0123456789abcdef"), []byte("new-signing-key-0123456789abcdef")
	svc := func(keys ...[]byte) *account.Service {
		s, err := account.New(db, account.Config{BcryptCost: 4, HashSlots: 1, HashQueue: 4, LoginLimit: 5,
			LinkKeys: account.LinkKeys(keys), Mailer: testMailer{}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	u, err := svc(old).SignUp(ctx, account.SignUp{Email: "ada@example.com", Password: goodPassword}, account.CLI)
	if err != nil {
		t.Fatal(err)
	}
	tok := account.VerifyToken(account.LinkKeys([][]byte{old}), u, time.Now())
	if _, err := svc(fresh).VerifyEmail(ctx, tok, ""); !errors.Is(err, account.ErrBadLink) {
		t.Fatalf("a link of a dropped key: %v", err)
	}
	if _, err := svc(fresh, old).VerifyEmail(ctx, tok, ""); err != nil {
		t.Fatalf("a link of the previous key during rotation: %v", err)
	}
}
