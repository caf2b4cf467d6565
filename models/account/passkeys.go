package account

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/planner/planner/models"
)

// MaxPasskeys bounds the passkeys of one account.
const MaxPasskeys = 20

// AddPasskey stores a passkey the web layer verified (its ceremony is
// WebAuthn's, not ours) under name, and audits it.
func (s *Service) AddPasskey(ctx context.Context, u *models.User, p *models.Passkey, ip string) error {
	p.UserID, p.Name, p.CreatedAt = u.ID, strings.TrimSpace(p.Name), s.clock.Now()
	if p.Name == "" {
		p.Name = "Passkey"
	}
	if !utf8.ValidString(p.Name) || utf8.RuneCountInString(p.Name) > 60 || strings.IndexFunc(p.Name, unicode.IsControl) >= 0 {
		return FieldErrors{"name": "Use at most 60 characters of plain text"}
	}
	return models.InTx(ctx, s.db, func(tx models.Tx) error {
		list, err := tx.Passkeys.Of(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(list) >= MaxPasskeys {
			return FieldErrors{"name": "You have as many passkeys as an account may have: remove one first"}
		}
		if err := tx.Passkeys.Create(ctx, p); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionPasskeyAdded, u.Email)
	})
}

// RemovePasskey deletes passkey id of u (models.ErrNotFound when it is
// not u's) and audits it.
func (s *Service) RemovePasskey(ctx context.Context, u *models.User, id uint, ip string) error {
	return s.change(ctx, By(u, ip), models.ActionPasskeyRemoved, u, func(tx models.Tx) error {
		return tx.Passkeys.Delete(ctx, u.ID, id)
	})
}

// Passkeys lists u's passkeys.
func (s *Service) Passkeys(ctx context.Context, u *models.User) ([]models.Passkey, error) {
	return models.NewPasskeys(s.db).Of(ctx, u.ID)
}

// PasskeyByCredential finds the passkey of a credential id and its user.
func (s *Service) PasskeyByCredential(ctx context.Context, credID string) (*models.Passkey, *models.User, error) {
	p, err := models.NewPasskeys(s.db).ByCredentialID(ctx, credID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.users.ByID(ctx, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	return p, u, nil
}

// PasskeySignIn completes a sign-in with passkey p of u, whose assertion
// (with user verification: both factors at once) the web layer verified:
// the credential's new state, the sign-in time and the audit entry.
func (s *Service) PasskeySignIn(ctx context.Context, u *models.User, p *models.Passkey, credential, ip string) error {
	return models.InTx(ctx, s.db, func(tx models.Tx) error {
		if err := tx.Passkeys.Used(ctx, p.ID, credential, s.clock.Now()); err != nil {
			return err
		}
		if err := tx.Users.RecordSignIn(ctx, u.ID, s.clock.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, By(u, ip), models.ActionSignin, u.Email)
	})
}
