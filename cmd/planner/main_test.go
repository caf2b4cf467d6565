package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// result is what one run of the program left behind.
type result struct {
	code   int
	stdout string
	stderr string // the error line exitCode printed, if any
	logs   string // whatever run itself wrote to stderr
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cli runs the program with args, the fake environment e and stdin.
func cli(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	var stdout, logs lockedBuffer
	err := run(context.Background(), args, e.get, strings.NewReader(stdin), &stdout, &logs)
	var stderr bytes.Buffer
	code := exitCode(err, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String(), logs: logs.String()}
}

// runCLI is cli for callers that want the parts apart.
func runCLI(t *testing.T, e env, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	r := cli(t, e, stdin, args...)
	return r.code, r.stdout, r.stderr
}

// devEnv is a development environment on a fresh SQLite file with cheap
// bcrypt.
func devEnv(t *testing.T) env {
	return env{
		"PLANNER_DATABASE_URL": filepath.Join(t.TempDir(), "planner.db"),
		"PLANNER_BCRYPT_COST":  "4",
	}
}

// userEnv is devEnv with the schema migrated, as the user commands (which
// never migrate) need it.
func userEnv(t *testing.T) env {
	t.Helper()
	e := devEnv(t)
	wantCode(t, cli(t, e, "", "migrate"), 0)
	return e
}

// openStore opens the database the program used, to look at what it did.
func openStore(t *testing.T, e env) *gorm.DB {
	t.Helper()
	db, err := models.Open(e["PLANNER_DATABASE_URL"], discardLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = models.Close(db) })
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d (stdout %q, stderr %q, logs %q)", r.code, code, r.stdout, r.stderr, r.logs)
	}
	if code == 0 && r.stderr != "" {
		t.Fatalf("success printed an error: %q", r.stderr)
	}
	if code != 0 {
		if !strings.HasPrefix(r.stderr, "planner: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
			t.Fatalf("error output %q, want one line starting with \"planner: \"", r.stderr)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		out  string
	}{
		{"success", nil, 0, ""},
		{"error", errors.New("boom"), 1, "planner: boom\n"},
		{"usage", usagef("bad %s", "flag"), 2, "planner: bad flag\n"},
		{"wrapped usage", fmt.Errorf("context: %w", usagef("bad")), 2, "planner: context: bad\n"},
		{"config", bad("PLANNER_ADDR", "want host:port"), 1, "planner: PLANNER_ADDR: want host:port\n"},
		{"multi-line", errors.New("line one\nline two\r\nthree"), 1, "planner: line one line two  three\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if got := exitCode(tt.err, &buf); got != tt.code {
			t.Errorf("%s: exitCode = %d, want %d", tt.name, got, tt.code)
		}
		if buf.String() != tt.out {
			t.Errorf("%s: stderr %q, want %q", tt.name, buf.String(), tt.out)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	r := cli(t, env{}, "", "version")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "planner ") {
		t.Errorf("version printed %q, want it to start with \"planner \"", r.stdout)
	}
	r = cli(t, env{}, "", "help")
	wantCode(t, r, 0)
	for _, cmd := range []string{"serve", "migrate", "user create", "set-password", "promote", "demote", "unlock", "version"} {
		if !strings.Contains(r.stdout, cmd) {
			t.Errorf("usage lacks %q", cmd)
		}
	}
	// Flags without a command belong to serve: its help lists every
	// non-secret setting with its variable, and no secret.
	for _, args := range [][]string{{"-h"}, {"--help"}, {"serve", "--help"}} {
		r := cli(t, env{}, "", args...)
		wantCode(t, r, 0)
		for _, s := range settings {
			if !strings.Contains(r.logs, "-"+s.flag) || !strings.Contains(r.logs, s.env) {
				t.Errorf("%q: help lacks -%s (%s)", args, s.flag, s.env)
			}
		}
		if strings.Contains(r.logs, "PLANNER_SECRET_KEYS") {
			t.Errorf("%q: help offers the secret keys as a flag", args)
		}
		for _, cmd := range []string{"migrate status", "user create", "version"} {
			if !strings.Contains(r.logs, cmd) {
				t.Errorf("%q: help hides the %s command", args, cmd)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	e := userEnv(t)
	tests := [][]string{
		{"frobnicate"},
		{"migrate", "now"},
		{"migrate", "status", "now"},
		{"serve", "extra"},
		{"serve", "--no-such-flag"},
		{"serve", "--secret-keys", strongKey}, // secrets never come from flags
		{"user"},
		{"user", "delete", "a@example.com"},
		{"user", "create"},
		{"user", "create", "--email"},
		{"user", "create", "--email", "a@example.com", "extra"},
		{"user", "create", "--email", "not-an-email"},
		{"user", "create", "--nope", "--email", "a@example.com"},
		{"user", "promote"},
		{"user", "promote", "a@example.com", "b@example.com"},
		{"user", "demote", "--email"},
		{"user", "set-password"},
		{"user", "unlock"},
	}
	for _, args := range tests {
		r := cli(t, e, "correct-horse-battery\n", args...)
		if r.code != 2 {
			t.Errorf("%q: exit %d (%q), want 2", args, r.code, r.stderr)
			continue
		}
		wantCode(t, r, 2)
	}
	// None of those touched the database: no user was created.
	if n := countUsers(t, openStore(t, e)); n != 0 {
		t.Errorf("usage errors created %d users", n)
	}
}

func countUsers(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.User{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateTwice(t *testing.T) {
	e := devEnv(t)
	for i := range 2 {
		r := cli(t, e, "", "migrate")
		wantCode(t, r, 0)
		if !strings.Contains(r.stdout, "up to date") {
			t.Errorf("migrate #%d printed %q", i+1, r.stdout)
		}
	}
	db := openStore(t, e)
	for _, m := range []any{&models.User{}, &models.Event{}, &models.SigninThrottle{}, &models.RevokedSession{}, &models.AuditEntry{}} {
		if !db.Migrator().HasTable(m) {
			t.Errorf("table for %T missing after migrate", m)
		}
	}
}

func TestMigrateBadConfig(t *testing.T) {
	r := cli(t, devEnv(t).with("PLANNER_LOG_FORMAT", "xml"), "", "migrate")
	wantCode(t, r, 1)
	if !strings.HasPrefix(r.stderr, "planner: PLANNER_LOG_FORMAT: ") {
		t.Errorf("stderr %q, want the variable named", r.stderr)
	}
	// A database that cannot be opened is an error, not a panic.
	r = cli(t, env{"PLANNER_DATABASE_URL": filepath.Join(t.TempDir(), "no", "such", "dir", "p.db")}, "", "migrate")
	wantCode(t, r, 1)
}

// auditByCLI returns the actions the CLI recorded, newest first.
func auditByCLI(t *testing.T, db *gorm.DB) []models.AuditEntry {
	t.Helper()
	entries, err := models.NewAudit(db).List(context.Background(), models.AuditFilter{Actor: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ActorEmail != "cli" || e.Outcome != models.OutcomeSuccess || e.At.IsZero() {
			t.Errorf("audit entry %+v, want actor cli, success, a time", e)
		}
	}
	return entries
}

func actions(entries []models.AuditEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Action+" "+e.Target)
	}
	return out
}

func mustUserByEmail(t *testing.T, db *gorm.DB, email string) *models.User {
	t.Helper()
	u, err := models.NewUsers(db).ByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func TestUserCreate(t *testing.T) {
	e := userEnv(t)
	r := cli(t, e, "correct-horse-battery\n", "user", "create", "--email", "  Alice@Example.com ")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "alice@example.com") {
		t.Errorf("stdout %q does not name the user", r.stdout)
	}
	if strings.Contains(r.stdout+r.logs, "correct-horse-battery") {
		t.Error("the password was printed")
	}
	db := openStore(t, e)
	u := mustUserByEmail(t, db, "alice@example.com")
	if u.Role != models.RoleUser || u.Disabled || u.Name != models.DefaultName(u.ID) {
		t.Errorf("created %+v, want an enabled user with the default name", u)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("correct-horse-battery")); err != nil {
		t.Errorf("stored hash does not match the password from stdin: %v", err)
	}
	if cost, _ := bcrypt.Cost([]byte(u.PasswordHash)); cost != 4 {
		t.Errorf("hash cost %d, want PLANNER_BCRYPT_COST=4", cost)
	}
	if got := actions(auditByCLI(t, db)); len(got) != 1 || got[0] != "signup alice@example.com" {
		t.Errorf("audit = %q, want one signup by cli", got)
	}

	// Same email in another case: refused, exit 1, nothing changed.
	r = cli(t, e, "another-strong-pass\n", "user", "create", "--email", "ALICE@example.com")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate: stderr %q", r.stderr)
	}
	if n := countUsers(t, db); n != 1 {
		t.Errorf("users = %d after a duplicate, want 1", n)
	}
	if again := mustUserByEmail(t, db, "alice@example.com"); again.PasswordHash != u.PasswordHash {
		t.Error("a refused duplicate changed the first user's password")
	}
}

func TestUserCreateAdmin(t *testing.T) {
	e := userEnv(t)
	r := cli(t, e, "correct-horse-battery\n", "user", "create", "--email", "root@example.com", "--admin")
	wantCode(t, r, 0)
	db := openStore(t, e)
	if u := mustUserByEmail(t, db, "root@example.com"); u.Role != models.RoleAdmin {
		t.Errorf("role = %q, want admin", u.Role)
	}
	got := actions(auditByCLI(t, db))
	want := []string{"user_promoted root@example.com", "signup root@example.com"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

func TestUserCreatePasswordInput(t *testing.T) {
	tests := []struct {
		name, stdin string
		ok          bool
		wantErr     string
		password    string // what must then match, when ok
	}{
		{"no newline at end", "correct-horse-battery", true, "", "correct-horse-battery"},
		{"CRLF", "correct-horse-battery\r\n", true, "", "correct-horse-battery"},
		{"only the first line", "correct-horse-battery\nsecond line\n", true, "", "correct-horse-battery"},
		{"inner spaces kept", "correct horse battery\n", true, "", "correct horse battery"},
		{"empty stdin", "", false, "no password", ""},
		{"empty line", "\n", false, "at least 8", ""},
		{"too short", "Xk3#pq9\n", false, "at least 8", ""},
		{"too long", strings.Repeat("x", 73) + "\n", false, "at most 72", ""},
		{"common", "password\n", false, "too common", ""},
		{"common 2", "qwerty123\n", false, "too common", ""},
		{"the email", "Bob@Example.com\n", false, "email", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := userEnv(t)
			r := cli(t, e, tt.stdin, "user", "create", "--email", "bob@example.com")
			db := openStore(t, e)
			if !tt.ok {
				wantCode(t, r, 1)
				if !strings.Contains(r.stderr, tt.wantErr) {
					t.Errorf("stderr %q, want it to mention %q", r.stderr, tt.wantErr)
				}
				if n := countUsers(t, db); n != 0 {
					t.Errorf("a refused password still created %d users", n)
				}
				if got := auditByCLI(t, db); len(got) != 0 {
					t.Errorf("a refused create was audited: %q", actions(got))
				}
				return
			}
			wantCode(t, r, 0)
			u := mustUserByEmail(t, db, "bob@example.com")
			if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(tt.password)); err != nil {
				t.Errorf("hash does not match %q: %v", tt.password, err)
			}
		})
	}
}

// createUser runs "planner user create" for a fixture, or fails the test.
func createUser(t *testing.T, e env, email string, admin bool) {
	t.Helper()
	args := []string{"user", "create", "--email", email}
	if admin {
		args = append(args, "--admin")
	}
	wantCode(t, cli(t, e, "correct-horse-battery\n", args...), 0)
}

func TestUserPromoteDemote(t *testing.T) {
	e := userEnv(t)
	createUser(t, e, "root@example.com", true)
	createUser(t, e, "bob@example.com", false)
	db := openStore(t, e)

	r := cli(t, e, "", "user", "promote", "BOB@example.com")
	wantCode(t, r, 0)
	bob := mustUserByEmail(t, db, "bob@example.com")
	if bob.Role != models.RoleAdmin || bob.TokenVersion != 2 {
		t.Fatalf("after promote: role %q version %d; want admin, 2", bob.Role, bob.TokenVersion)
	}

	// Promoting an admin again changes nothing, not even the sessions.
	r = cli(t, e, "", "user", "promote", "bob@example.com")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "already") {
		t.Errorf("promote of an admin printed %q", r.stdout)
	}
	if v := mustUserByEmail(t, db, "bob@example.com").TokenVersion; v != 2 {
		t.Errorf("a no-op promote bumped the token version to %d", v)
	}

	r = cli(t, e, "", "user", "demote", "bob@example.com")
	wantCode(t, r, 0)
	bob = mustUserByEmail(t, db, "bob@example.com")
	if bob.Role != models.RoleUser || bob.TokenVersion != 3 {
		t.Fatalf("after demote: role %q version %d; want user, 3", bob.Role, bob.TokenVersion)
	}

	// root is now the last admin: demoting fails with exit 1 and changes nothing.
	r = cli(t, e, "", "user", "demote", "root@example.com")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "last enabled admin") {
		t.Errorf("stderr %q, want the last-admin reason", r.stderr)
	}
	root := mustUserByEmail(t, db, "root@example.com")
	if root.Role != models.RoleAdmin || root.TokenVersion != 1 {
		t.Errorf("refused demote left root as %q version %d; want admin, 1", root.Role, root.TokenVersion)
	}

	got := actions(auditByCLI(t, db))
	want := []string{
		"user_demoted bob@example.com",
		"user_promoted bob@example.com",
		"signup bob@example.com",
		"user_promoted root@example.com",
		"signup root@example.com",
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit = %q\nwant %q", got, want)
	}
}

func TestUserSetPassword(t *testing.T) {
	e := userEnv(t)
	createUser(t, e, "carol@example.com", false)
	db := openStore(t, e)
	before := mustUserByEmail(t, db, "carol@example.com")

	r := cli(t, e, "a-brand-new-secret\n", "user", "set-password", "Carol@Example.com")
	wantCode(t, r, 0)
	after := mustUserByEmail(t, db, "carol@example.com")
	if err := bcrypt.CompareHashAndPassword([]byte(after.PasswordHash), []byte("a-brand-new-secret")); err != nil {
		t.Errorf("new password does not match: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(after.PasswordHash), []byte("correct-horse-battery")); err == nil {
		t.Error("old password still matches")
	}
	if after.TokenVersion != before.TokenVersion+1 {
		t.Errorf("token version %d, want %d: every session must end", after.TokenVersion, before.TokenVersion+1)
	}

	// A weak password is refused and changes nothing.
	r = cli(t, e, "password\n", "user", "set-password", "carol@example.com")
	wantCode(t, r, 1)
	if again := mustUserByEmail(t, db, "carol@example.com"); again.PasswordHash != after.PasswordHash || again.TokenVersion != after.TokenVersion {
		t.Error("a refused set-password changed the user")
	}

	got := actions(auditByCLI(t, db))
	if len(got) != 2 || got[0] != "password_changed carol@example.com" {
		t.Errorf("audit = %q, want password_changed then signup", got)
	}
}

func TestUserUnlock(t *testing.T) {
	e := userEnv(t).with("PLANNER_SECRET_KEYS", strongKey)
	createUser(t, e, "dave@example.com", false)
	db := openStore(t, e)
	ctx := context.Background()
	th := models.NewThrottles(db, models.ThrottleKey([]byte(strongKey))) // the server's keys
	now := time.Now()
	for _, client := range []string{"203.0.113.5", "2001:db8:1:2::/64"} {
		for range 6 {
			if _, err := th.Reserve(ctx, "Dave@example.com", client, 5, 15*time.Minute, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r, _ := th.Reserve(ctx, "dave@example.com", "203.0.113.5", 5, 15*time.Minute, now); r.Allowed {
		t.Fatal("fixture: the pair is not locked")
	}
	locked := func() int64 {
		var n int64
		db.Model(&models.SigninThrottle{}).Where("locked_until > ?", now.UTC()).Count(&n)
		return n
	}
	if n := locked(); n != 2 {
		t.Fatalf("fixture: %d locked pairs, want 2", n)
	}

	r := cli(t, e, "", "user", "unlock", "DAVE@example.com")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "cleared 2") {
		t.Errorf("stdout %q, want the number of cleared pairs", r.stdout)
	}
	if n := locked(); n != 0 {
		t.Errorf("%d pairs still locked after unlock", n)
	}
	if r, _ := th.Reserve(ctx, "dave@example.com", "203.0.113.5", 5, 15*time.Minute, now); !r.Allowed {
		t.Error("sign-in still throttled after unlock")
	}
	got := actions(auditByCLI(t, db))
	if len(got) == 0 || got[0] != "user_unlocked dave@example.com" {
		t.Errorf("audit = %q, want user_unlocked first", got)
	}
}

func TestUserUnknownEmail(t *testing.T) {
	e := userEnv(t)
	createUser(t, e, "root@example.com", true)
	for _, args := range [][]string{
		{"user", "promote", "ghost@example.com"},
		{"user", "demote", "ghost@example.com"},
		{"user", "set-password", "ghost@example.com"},
	} {
		r := cli(t, e, "correct-horse-battery\n", args...)
		wantCode(t, r, 1)
		if !strings.Contains(r.stderr, "ghost@example.com") {
			t.Errorf("%q: stderr %q does not name the email", args, r.stderr)
		}
	}
	db := openStore(t, e)
	if n := countUsers(t, db); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
	if got := actions(auditByCLI(t, db)); len(got) != 2 {
		t.Errorf("audit = %q: failed commands must not be recorded", got)
	}

	// Throttles are counted for unknown emails too, so unlocking one is not
	// an error: it says how many pairs it cleared.
	r := cli(t, e, "", "user", "unlock", "ghost@example.com")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "cleared 0") {
		t.Errorf("unlock of an email without throttles printed %q", r.stdout)
	}
}

// TestUserCreateWithName: --name sets the display name; a bad one is a
// usage error that creates nothing.
func TestUserCreateWithName(t *testing.T) {
	e := userEnv(t)
	r := cli(t, e, "correct-horse-battery\n", "user", "create", "--email", "root@example.com", "--name", " Site Owner ", "--admin")
	wantCode(t, r, 0)
	db := openStore(t, e)
	if u := mustUserByEmail(t, db, "root@example.com"); u.Name != "Site Owner" || u.Role != models.RoleAdmin {
		t.Errorf("created %+v, want admin Site Owner", u)
	}
	r = cli(t, e, "correct-horse-battery\n", "user", "create", "--email", "bob@example.com", "--name", strings.Repeat("x", 61))
	wantCode(t, r, 2)
	if n := countUsers(t, db); n != 1 {
		t.Errorf("%d users after a bad --name", n)
	}
}
