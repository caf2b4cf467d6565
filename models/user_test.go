package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"gorm.io/gorm"
)

// createUser is a fixture: a user with that email and role, or the test fails.
func createUser(t *testing.T, users *models.Users, email, role string) *models.User {
	t.Helper()
	u, err := users.Create(context.Background(), email, "", testHash, role)
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return u
}

// mustUser reloads a user, or the test fails.
func mustUser(t *testing.T, users *models.Users, id uint) *models.User {
	t.Helper()
	u, err := users.ByID(context.Background(), id)
	if err != nil {
		t.Fatalf("ByID(%d): %v", id, err)
	}
	return u
}

func countEnabledAdmins(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.User{}).Where("role = ? AND disabled = ?", models.RoleAdmin, false).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUsersCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)

		tests := []struct {
			email, name, role string
			wantEmail         string
			wantName          func(id uint) string
		}{
			{"  Alice@Example.COM ", "", models.RoleUser, "alice@example.com", models.DefaultName},
			{"bob@example.com", "  Bob Builder  ", models.RoleAdmin, "bob@example.com", func(uint) string { return "Bob Builder" }},
			{"carol@example.com", "   ", models.RoleUser, "carol@example.com", models.DefaultName},
		}
		for _, tt := range tests {
			u, err := users.Create(ctx, tt.email, tt.name, testHash, tt.role)
			if err != nil {
				t.Fatalf("Create(%q): %v", tt.email, err)
			}
			if u.ID == 0 {
				t.Fatalf("Create(%q) gave no id", tt.email)
			}
			want := tt.wantName(u.ID)
			for _, got := range []*models.User{u, mustUser(t, users, u.ID)} {
				if got.Email != tt.wantEmail {
					t.Errorf("email = %q, want %q", got.Email, tt.wantEmail)
				}
				if got.Name != want {
					t.Errorf("name = %q, want %q", got.Name, want)
				}
				if got.Role != tt.role || got.IsAdmin() != (tt.role == models.RoleAdmin) {
					t.Errorf("role = %q (admin %v), want %q", got.Role, got.IsAdmin(), tt.role)
				}
				if got.TokenVersion != 1 || got.Disabled || got.LastSignInAt != nil || got.PasswordHash != testHash {
					t.Errorf("new user = %+v, want version 1, enabled, never signed in, hash kept", got)
				}
			}
		}
		if want := fmt.Sprintf("Member %d", 7); models.DefaultName(7) != want {
			t.Errorf("DefaultName(7) = %q, want %q", models.DefaultName(7), want)
		}
	})
}

func TestUsersCreateDuplicate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		createUser(t, users, "dup@example.com", models.RoleUser)
		for _, email := range []string{"dup@example.com", "DUP@Example.com", "  dup@example.COM"} {
			u, err := users.Create(ctx, email, "Other", testHash, models.RoleUser)
			if !errors.Is(err, models.ErrDuplicate) {
				t.Errorf("Create(%q) = %v, %v; want ErrDuplicate", email, u, err)
			}
		}
		var n int64
		db.Model(&models.User{}).Count(&n)
		if n != 1 {
			t.Errorf("users = %d after refused duplicates, want 1", n)
		}
	})
}

func TestUsersLookup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u := createUser(t, users, "find@example.com", models.RoleUser)

		got, err := users.ByEmail(ctx, "  FIND@example.com ")
		if err != nil || got.ID != u.ID {
			t.Fatalf("ByEmail mixed case = %v, %v; want user %d", got, err, u.ID)
		}
		if got, err := users.ByID(ctx, u.ID); err != nil || got.Email != "find@example.com" {
			t.Fatalf("ByID = %v, %v", got, err)
		}
		if got, err := users.ByID(ctx, u.ID+1000); !errors.Is(err, models.ErrNotFound) || got != nil {
			t.Errorf("ByID(missing) = %v, %v; want nil, ErrNotFound", got, err)
		}
		if got, err := users.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, models.ErrNotFound) || got != nil {
			t.Errorf("ByEmail(missing) = %v, %v; want nil, ErrNotFound", got, err)
		}
	})
}

func TestUsersSetName(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u := createUser(t, users, "name@example.com", models.RoleUser)
		if err := users.SetName(ctx, u.ID, "  New Name "); err != nil {
			t.Fatal(err)
		}
		got := mustUser(t, users, u.ID)
		if got.Name != "New Name" {
			t.Errorf("name = %q, want %q", got.Name, "New Name")
		}
		if got.TokenVersion != 1 {
			t.Errorf("SetName changed the token version to %d", got.TokenVersion)
		}
		if err := users.SetName(ctx, u.ID+1000, "x"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetName(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestUsersSetPasswordHash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u := createUser(t, users, "pw@example.com", models.RoleUser)

		v, err := users.SetPasswordHash(ctx, u.ID, "hash-2", false)
		if err != nil {
			t.Fatal(err)
		}
		got := mustUser(t, users, u.ID)
		if v != 1 || got.TokenVersion != 1 || got.PasswordHash != "hash-2" {
			t.Errorf("without endSessions: returned %d, stored version %d hash %q; want 1, 1, hash-2", v, got.TokenVersion, got.PasswordHash)
		}

		v, err = users.SetPasswordHash(ctx, u.ID, "hash-3", true)
		if err != nil {
			t.Fatal(err)
		}
		got = mustUser(t, users, u.ID)
		if v != 2 || got.TokenVersion != 2 || got.PasswordHash != "hash-3" {
			t.Errorf("with endSessions: returned %d, stored version %d hash %q; want 2, 2, hash-3", v, got.TokenVersion, got.PasswordHash)
		}

		if _, err := users.SetPasswordHash(ctx, u.ID+1000, "x", true); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetPasswordHash(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestUsersBumpTokenVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u := createUser(t, users, "bump@example.com", models.RoleUser)
		other := createUser(t, users, "other@example.com", models.RoleUser)
		for want := 2; want <= 3; want++ {
			v, err := users.BumpTokenVersion(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v != want || mustUser(t, users, u.ID).TokenVersion != want {
				t.Errorf("BumpTokenVersion = %d, want %d", v, want)
			}
		}
		if v := mustUser(t, users, other.ID).TokenVersion; v != 1 {
			t.Errorf("another user's token version changed to %d", v)
		}
		if _, err := users.BumpTokenVersion(ctx, u.ID+1000); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("BumpTokenVersion(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestUsersRecordSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u := createUser(t, users, "signin@example.com", models.RoleUser)
		at := time.Date(2031, 3, 1, 18, 0, 5, 0, time.FixedZone("CET", 3600))
		if err := users.RecordSignIn(ctx, u.ID, at); err != nil {
			t.Fatal(err)
		}
		got := mustUser(t, users, u.ID)
		if got.LastSignInAt == nil || !got.LastSignInAt.Equal(at) {
			t.Errorf("LastSignInAt = %v, want %v", got.LastSignInAt, at)
		}
		if got.TokenVersion != 1 {
			t.Errorf("RecordSignIn changed the token version to %d", got.TokenVersion)
		}
		if err := users.RecordSignIn(ctx, u.ID+1000, at); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("RecordSignIn(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestUsersSetRoleAndDisabledEndSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		createUser(t, users, "keeper@example.com", models.RoleAdmin) // so demoting is allowed
		u := createUser(t, users, "role@example.com", models.RoleUser)

		steps := []struct {
			name     string
			do       func() error
			role     string
			disabled bool
		}{
			{"promote", func() error { return users.SetRole(ctx, u.ID, models.RoleAdmin) }, models.RoleAdmin, false},
			{"demote", func() error { return users.SetRole(ctx, u.ID, models.RoleUser) }, models.RoleUser, false},
			{"disable", func() error { return users.SetDisabled(ctx, u.ID, true) }, models.RoleUser, true},
			{"enable", func() error { return users.SetDisabled(ctx, u.ID, false) }, models.RoleUser, false},
		}
		version := 1
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			version++
			got := mustUser(t, users, u.ID)
			if got.Role != s.role || got.Disabled != s.disabled {
				t.Errorf("after %s: role %q disabled %v; want %q %v", s.name, got.Role, got.Disabled, s.role, s.disabled)
			}
			if got.TokenVersion != version {
				t.Errorf("after %s: token version %d, want %d (sessions must end)", s.name, got.TokenVersion, version)
			}
		}
		missing := u.ID + 1000
		if err := users.SetRole(ctx, missing, models.RoleUser); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetRole(missing) = %v, want ErrNotFound", err)
		}
		if err := users.SetRole(ctx, missing, models.RoleAdmin); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetRole(missing, admin) = %v, want ErrNotFound", err)
		}
		if err := users.SetDisabled(ctx, missing, true); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("SetDisabled(missing) = %v, want ErrNotFound", err)
		}
	})
}

func TestUsersLastAdmin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		a := createUser(t, users, "a@example.com", models.RoleAdmin)
		createUser(t, users, "plain@example.com", models.RoleUser)

		// The only enabled admin can be neither demoted nor disabled, and a
		// refused change leaves the row (token version included) alone.
		if err := users.SetRole(ctx, a.ID, models.RoleUser); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("demote the only admin = %v, want ErrLastAdmin", err)
		}
		if err := users.SetDisabled(ctx, a.ID, true); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("disable the only admin = %v, want ErrLastAdmin", err)
		}
		if got := mustUser(t, users, a.ID); !got.IsAdmin() || got.Disabled || got.TokenVersion != 1 {
			t.Fatalf("after refused changes: %+v; want an enabled admin at version 1", got)
		}
		// Re-affirming the admin role or enabling is not a removal.
		if err := users.SetRole(ctx, a.ID, models.RoleAdmin); err != nil {
			t.Errorf("SetRole(admin) on the only admin: %v", err)
		}
		if err := users.SetDisabled(ctx, a.ID, false); err != nil {
			t.Errorf("SetDisabled(false) on the only admin: %v", err)
		}

		// A disabled admin does not count as the other admin.
		b := createUser(t, users, "b@example.com", models.RoleAdmin)
		if err := users.SetDisabled(ctx, b.ID, true); err != nil {
			t.Fatalf("disable the second admin: %v", err)
		}
		if err := users.SetRole(ctx, a.ID, models.RoleUser); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("demote while the other admin is disabled = %v, want ErrLastAdmin", err)
		}
		// Demoting the disabled admin is fine: a stays.
		if err := users.SetRole(ctx, b.ID, models.RoleUser); err != nil {
			t.Fatalf("demote a disabled admin: %v", err)
		}

		// With two enabled admins one may go, then the other is the last.
		c := createUser(t, users, "c@example.com", models.RoleAdmin)
		if err := users.SetRole(ctx, a.ID, models.RoleUser); err != nil {
			t.Fatalf("demote one of two admins: %v", err)
		}
		if err := users.SetRole(ctx, c.ID, models.RoleUser); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("demote the remaining admin = %v, want ErrLastAdmin", err)
		}
		d := createUser(t, users, "d@example.com", models.RoleAdmin)
		if err := users.SetDisabled(ctx, c.ID, true); err != nil {
			t.Fatalf("disable one of two admins: %v", err)
		}
		if err := users.SetDisabled(ctx, d.ID, true); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("disable the remaining admin = %v, want ErrLastAdmin", err)
		}
		if n := countEnabledAdmins(t, db); n != 1 {
			t.Fatalf("enabled admins = %d, want 1", n)
		}
	})
}

// TestUsersLastAdminConcurrent has two enabled admins removed at the same
// moment, over and over on fresh rows: exactly one removal must win.
func TestUsersLastAdminConcurrent(t *testing.T) {
	type change func(ctx context.Context, users *models.Users, id uint) error
	demote := func(ctx context.Context, users *models.Users, id uint) error {
		return users.SetRole(ctx, id, models.RoleUser)
	}
	disable := func(ctx context.Context, users *models.Users, id uint) error {
		return users.SetDisabled(ctx, id, true)
	}
	pairs := []struct {
		name string
		a, b change
	}{
		{"demote+demote", demote, demote},
		{"disable+disable", disable, disable},
		{"demote+disable", demote, disable},
	}
	const rounds = 15
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		for _, p := range pairs {
			for round := range rounds {
				if err := db.Where("1 = 1").Delete(&models.User{}).Error; err != nil {
					t.Fatal(err)
				}
				a := createUser(t, users, fmt.Sprintf("a%d@example.com", round), models.RoleAdmin)
				b := createUser(t, users, fmt.Sprintf("b%d@example.com", round), models.RoleAdmin)
				start := make(chan struct{})
				var errA, errB error
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); <-start; errA = p.a(ctx, users, a.ID) }()
				go func() { defer wg.Done(); <-start; errB = p.b(ctx, users, b.ID) }()
				close(start)
				wg.Wait()

				failed := 0
				for _, err := range []error{errA, errB} {
					switch {
					case err == nil:
					case errors.Is(err, models.ErrLastAdmin):
						failed++
					default:
						t.Fatalf("%s round %d: unexpected error %v", p.name, round, err)
					}
				}
				if failed != 1 {
					t.Fatalf("%s round %d: %d calls failed with ErrLastAdmin (errors %v, %v), want exactly 1", p.name, round, failed, errA, errB)
				}
				if n := countEnabledAdmins(t, db); n != 1 {
					t.Fatalf("%s round %d: %d enabled admins left, want 1", p.name, round, n)
				}
			}
		}
	})
}

// TestConcurrentVersionBumps runs many bumps of one user's token version at
// once: each must hand out a version of its own, so that no two password
// changes or sign-outs-everywhere re-issue the same one.
func TestConcurrentVersionBumps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		u, err := users.Create(ctx, "bump@example.com", "", testHash, models.RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		const n = 32
		got := make([]int, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					got[i], errs[i] = users.BumpTokenVersion(ctx, u.ID)
				} else {
					got[i], errs[i] = users.SetPasswordHash(ctx, u.ID, testHash, true)
				}
			}()
		}
		wg.Wait()
		seen := map[int]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("bump %d: %v", i, errs[i])
			}
			if seen[got[i]] {
				t.Errorf("version %d handed out twice", got[i])
			}
			seen[got[i]] = true
		}
		stored, err := users.ByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.TokenVersion != u.TokenVersion+n {
			t.Errorf("token version %d after %d bumps from %d", stored.TokenVersion, n, u.TokenVersion)
		}
		if _, err := users.BumpTokenVersion(ctx, 999999); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("bump of a missing user: %v, want ErrNotFound", err)
		}
		// Without ending sessions the version stays.
		v, err := users.SetPasswordHash(ctx, u.ID, testHash, false)
		if err != nil || v != stored.TokenVersion {
			t.Errorf("SetPasswordHash without ending sessions: %d, %v; want %d", v, err, stored.TokenVersion)
		}
	})
}

// TestHighestHashCost reads the highest bcrypt cost stored, which the app
// gives the dummy comparison for unknown emails.
func TestHighestHashCost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := models.NewUsers(db)
		if c, err := users.HighestHashCost(ctx); err != nil || c != 0 {
			t.Errorf("no users: %d, %v", c, err)
		}
		for i, h := range []string{"$2a$10$" + strings.Repeat("x", 53), "$2a$12$" + strings.Repeat("y", 53), "$2b$04$" + strings.Repeat("z", 53)} {
			if _, err := users.Create(ctx, fmt.Sprintf("u%d@example.com", i), "", h, models.RoleUser); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := users.HighestHashCost(ctx); err != nil || c != 12 {
			t.Errorf("HighestHashCost = %d, %v; want 12", c, err)
		}
	})
}
