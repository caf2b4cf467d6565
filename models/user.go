package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Roles a user can have.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// User is an account. The email is stored lower-case so the unique index
// makes it unique case-insensitively. TokenVersion is copied into every token
// the user holds; bumping it ends all of them at once.
type User struct {
	ID           uint   `gorm:"primaryKey"`
	Email        string `gorm:"size:254;not null;uniqueIndex"`
	Name         string `gorm:"size:60;not null"`
	PasswordHash string `gorm:"size:100;not null"`
	Role         string `gorm:"size:10;not null;default:user;index"`
	Disabled     bool   `gorm:"not null;default:false"`
	TokenVersion int    `gorm:"not null;default:1"`
	LastSignInAt *time.Time
	// EmailVerifiedAt is when the user followed the link of the
	// verification mail; nil while the address is unverified.
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time `gorm:"not null;index"`
	UpdatedAt       time.Time `gorm:"not null"`
	// Timezone is the IANA zone the user reads times in; "" means
	// PLANNER_TIMEZONE.
	Timezone string `gorm:"size:64;not null;default:''"`
	// CalendarGen is the generation of the user's calendar feed token,
	// which is derived from it and the secret keys; rotating moves it on.
	CalendarGen int `gorm:"not null;default:1"`
	// TOTPSecret is the sealed TOTP secret (see the MFA sealer in
	// models/account), set from enrolment on; TOTPEnabledAt is when the
	// user confirmed it with a code, nil while only pending.
	TOTPSecret    string `gorm:"size:200;not null;default:''"`
	TOTPEnabledAt *time.Time
	// TOTPLastStep is the last accepted time step: a code of that step or
	// an earlier one is never accepted again.
	TOTPLastStep int64 `gorm:"not null;default:0"`
}

// HasMFA reports whether the user has a confirmed second factor.
func (u *User) HasMFA() bool { return u.TOTPEnabledAt != nil }

// IsAdmin reports whether the user has the admin role.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin }

// NormalizeEmail is the one place that decides how emails compare: trimmed
// and lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// DefaultName is the display name of a user who did not choose one.
func DefaultName(id uint) string {
	return fmt.Sprintf("Member %d", id)
}

// Users is the store of accounts.
type Users struct {
	db *gorm.DB
}

// NewUsers returns the user store backed by db.
func NewUsers(db *gorm.DB) *Users {
	return &Users{db: db}
}

// Create adds an account. An empty name becomes DefaultName(id). A taken
// email returns ErrDuplicate.
func (s *Users) Create(ctx context.Context, email, name, passwordHash, role string) (*User, error) {
	u := &User{
		Email:        NormalizeEmail(email),
		Name:         strings.TrimSpace(name),
		PasswordHash: passwordHash,
		Role:         role,
		TokenVersion: 1,
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(u).Error; err != nil {
			return err
		}
		if u.Name == "" {
			u.Name = DefaultName(u.ID)
			return tx.Model(u).Update("name", u.Name).Error
		}
		return nil
	})
	if err != nil {
		return nil, translate("create user", err)
	}
	return u, nil
}

// ByID returns the user with that id, or ErrNotFound.
func (s *Users) ByID(ctx context.Context, id uint) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, translate("find user", err)
	}
	return &u, nil
}

// ByEmail returns the user with that email (compared case-insensitively),
// or ErrNotFound.
func (s *Users) ByEmail(ctx context.Context, email string) (*User, error) {
	if !storableText(email) { // no stored email can match (and PostgreSQL would fail)
		return nil, fmt.Errorf("find user by email: %w", ErrNotFound)
	}
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).First(&u).Error; err != nil {
		return nil, translate("find user by email", err)
	}
	return &u, nil
}

// SetName changes the display name.
func (s *Users) SetName(ctx context.Context, id uint, name string) error {
	return s.update(ctx, "set name", id, map[string]any{"name": strings.TrimSpace(name)})
}

// SetPasswordHash stores a new hash. With endSessions it also bumps the token
// version and returns the new one, so every token issued before dies.
func (s *Users) SetPasswordHash(ctx context.Context, id uint, hash string, endSessions bool) (int, error) {
	bump := ""
	if endSessions {
		bump = ", token_version = token_version + 1"
	}
	return s.updateVersion(ctx, "set password", id, "password_hash = ?"+bump, hash)
}

// BumpTokenVersion ends every session and token of the user.
func (s *Users) BumpTokenVersion(ctx context.Context, id uint) (int, error) {
	return s.updateVersion(ctx, "end sessions", id, "token_version = token_version + 1")
}

// updateVersion runs UPDATE users SET <set> on one user and returns the
// token version the same statement left, through RETURNING: read back in a
// second statement, two concurrent bumps could both see the later number
// and hand out one version twice.
func (s *Users) updateVersion(ctx context.Context, op string, id uint, set string, args ...any) (int, error) {
	args = append(args, s.db.NowFunc(), id)
	var versions []int
	err := s.db.WithContext(ctx).Raw("UPDATE users SET "+set+", updated_at = ? WHERE id = ? RETURNING token_version", args...).
		Scan(&versions).Error
	if err != nil {
		return 0, translate(op, err)
	}
	if len(versions) == 0 {
		return 0, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return versions[0], nil
}

// RecordSignIn notes the time of a successful sign-in.
func (s *Users) RecordSignIn(ctx context.Context, id uint, at time.Time) error {
	return s.update(ctx, "record sign-in", id, map[string]any{"last_sign_in_at": at.UTC()})
}

// SetRole changes a user's role and ends their sessions, so the new role
// applies at once. Demoting the last enabled admin returns ErrLastAdmin.
func (s *Users) SetRole(ctx context.Context, id uint, role string) error {
	return s.changeAdminState(ctx, "set role", id, role == RoleAdmin, map[string]any{"role": role})
}

// SetDisabled disables or enables an account; either way its sessions end.
// Disabling the last enabled admin returns ErrLastAdmin.
func (s *Users) SetDisabled(ctx context.Context, id uint, disabled bool) error {
	return s.changeAdminState(ctx, "set disabled", id, !disabled, map[string]any{"disabled": disabled})
}

// changeAdminState applies a change that may remove an enabled admin, inside
// one transaction that locks every enabled admin row first, so two admins
// demoting each other at the same moment cannot both succeed. keepsAdmin
// says whether the change leaves the user an enabled admin if they were one.
func (s *Users) changeAdminState(ctx context.Context, op string, id uint, keepsAdmin bool, fields map[string]any) error {
	fields["token_version"] = gorm.Expr("token_version + 1")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !keepsAdmin {
			if err := s.guardLastAdmin(tx, id); err != nil {
				return err
			}
		}
		return oneRow(tx.Model(&User{}).Where("id = ?", id).Updates(fields))
	})
	return translate(op, err)
}

// guardLastAdmin fails with ErrLastAdmin when user id is the only enabled
// admin. It must run inside a transaction: on PostgreSQL it locks the admin
// rows; on SQLite the immediate transaction already holds the write lock.
func (s *Users) guardLastAdmin(tx *gorm.DB, id uint) error {
	q := tx.Model(&User{}).Where("role = ? AND disabled = ?", RoleAdmin, false)
	if isPostgres(tx) {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var ids []uint
	if err := q.Pluck("id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 1 && ids[0] == id {
		return ErrLastAdmin
	}
	return nil
}

func (s *Users) update(ctx context.Context, op string, id uint, fields map[string]any) error {
	return translate(op, oneRow(s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(fields)))
}

// HighestHashCost returns the highest bcrypt cost among the stored password
// hashes (0 when there are none), so that the dummy comparison for unknown
// emails can cost as much as a real one for this database. The cost is the
// two digits after "$2a$"; zero-padded, so the text's maximum is the
// number's.
func (s *Users) HighestHashCost(ctx context.Context) (int, error) {
	var top *string
	err := s.db.WithContext(ctx).Raw("SELECT MAX(substr(password_hash, 5, 2)) FROM users WHERE password_hash LIKE '$2%'").
		Scan(&top).Error
	if err != nil || top == nil {
		return 0, translate("read highest hash cost", err)
	}
	cost, err := strconv.Atoi(*top)
	if err != nil {
		return 0, nil // not a bcrypt hash we made
	}
	return cost, nil
}

// ReplacePasswordHash stores hash in place of old and bumps the token
// version (ending every session), only if the stored hash is still old: a
// password reset, whose token was good for the old hash only. Two uses of
// one token at once cannot both win. A changed hash is ErrNotFound.
func (s *Users) ReplacePasswordHash(ctx context.Context, id uint, old, hash string) (int, error) {
	var versions []int
	err := s.db.WithContext(ctx).Raw("UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? "+
		"WHERE id = ? AND password_hash = ? RETURNING token_version", hash, s.db.NowFunc(), id, old).Scan(&versions).Error
	if err != nil {
		return 0, translate("reset password", err)
	}
	if len(versions) == 0 {
		return 0, fmt.Errorf("reset password: %w", ErrNotFound)
	}
	return versions[0], nil
}

// MarkEmailVerified records that the user proved the address email is
// theirs, at. It does nothing when the address has changed since (the
// link was for another one) or was verified already; verified reports
// whether this call verified it.
func (s *Users) MarkEmailVerified(ctx context.Context, id uint, email string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND email = ? AND email_verified_at IS NULL", id, email).
		Updates(map[string]any{"email_verified_at": at.UTC(), "updated_at": s.db.NowFunc()})
	if res.Error != nil {
		return false, translate("verify email", res.Error)
	}
	return res.RowsAffected == 1, nil
}
