package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"golang.org/x/term"
)

func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("user needs a subcommand: create, set-password, promote, demote or unlock")
	}
	sub, args := args[0], args[1:]
	var email, name string
	admin := false
	switch sub {
	case "create":
		fs := flag.NewFlagSet("planner user create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.StringVar(&email, "email", "", "email of the new user")
		fs.StringVar(&name, "name", "", "display name (default: Member <id>)")
		fs.BoolVar(&admin, "admin", false, "make the user an admin")
		if err := fs.Parse(args); err != nil {
			return usagef("user create: %v", err)
		}
		if fs.NArg() > 0 || email == "" {
			return usagef("usage: planner user create --email E [--name N] [--admin]")
		}
	case "set-password", "promote", "demote", "unlock":
		if len(args) != 1 || strings.HasPrefix(args[0], "-") {
			return usagef("usage: planner user %s E", sub)
		}
		email = args[0]
	default:
		return usagef("unknown user subcommand %q", sub)
	}
	email = models.NormalizeEmail(email)

	c, db, err := openFromEnv(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer models.Close(db)
	var throttleKey []byte
	if sub == "unlock" {
		// Throttles are keyed by a digest made with the server's secret:
		// unlocking needs the same keys the server has.
		keys, err := loadSecretKeys(c, getenv, newLogger(c, stderr))
		if err != nil {
			return err
		}
		throttleKey = models.ThrottleKey(keys[0])
	}
	accounts, err := account.New(db, account.Config{BcryptCost: c.web.BcryptCost, HashSlots: 1, ThrottleKey: throttleKey})
	if err != nil {
		return err
	}
	u := userAdmin{accounts: accounts, stdin: stdin, stdout: stdout, stderr: stderr}
	switch sub {
	case "create":
		return u.create(ctx, email, name, admin)
	case "set-password":
		return u.setPassword(ctx, email)
	case "promote":
		return u.setRole(ctx, email, models.RoleAdmin)
	case "demote":
		return u.setRole(ctx, email, models.RoleUser)
	default:
		return u.unlock(ctx, email)
	}
}

// userAdmin carries out the user commands through the accounts service,
// which audits each change with the actor "cli".
type userAdmin struct {
	accounts *account.Service
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
}

// readPassword reads one line from stdin, or prompts twice without echo when
// stdin is a terminal, and checks it against the password policy.
func (u userAdmin) readPassword(email string) (string, error) {
	var pw string
	if f, ok := u.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(u.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(u.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(u.stderr, "Password again: ")
		b2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(u.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(b) != string(b2) {
			return "", errors.New("the passwords do not match")
		}
		pw = string(b)
	} else {
		line, err := bufio.NewReader(u.stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("no password on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if msg := u.accounts.CheckPassword(email, pw); msg != "" {
		return "", errors.New(msg)
	}
	return pw, nil
}

func (u userAdmin) create(ctx context.Context, email, name string, admin bool) error {
	if msg := models.CheckEmail(email); msg != "" {
		return usagef("%s", msg)
	}
	if msg := models.CheckName(strings.TrimSpace(name), true); msg != "" {
		return usagef("--name: %s", msg)
	}
	pw, err := u.readPassword(email)
	if err != nil {
		return err
	}
	user, err := u.accounts.SignUp(ctx, account.SignUp{Email: email, Name: name, Password: pw, Admin: admin}, account.CLI)
	if errors.Is(err, models.ErrDuplicate) {
		return fmt.Errorf("a user with email %s already exists", email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "created %s %s (id %d)\n", user.Role, email, user.ID)
	return nil
}

func (u userAdmin) find(ctx context.Context, email string) (*models.User, error) {
	user, err := u.accounts.ByEmail(ctx, email)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("no user with email %s", email)
	}
	return user, err
}

func (u userAdmin) setPassword(ctx context.Context, email string) error {
	user, err := u.find(ctx, email)
	if err != nil {
		return err
	}
	pw, err := u.readPassword(email)
	if err != nil {
		return err
	}
	if err := u.accounts.SetPassword(ctx, user, pw, account.CLI); err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "password of %s changed; every session of that user has ended\n", email)
	return nil
}

func (u userAdmin) setRole(ctx context.Context, email, role string) error {
	user, err := u.find(ctx, email)
	if err != nil {
		return err
	}
	if user.Role == role {
		fmt.Fprintf(u.stdout, "%s is already %s\n", email, role)
		return nil
	}
	if err := u.accounts.SetRole(ctx, user, role, account.CLI); err != nil {
		if errors.Is(err, models.ErrLastAdmin) {
			return fmt.Errorf("%s is the last enabled admin and cannot be demoted", email)
		}
		return err
	}
	fmt.Fprintf(u.stdout, "%s is now %s; their sessions have ended\n", email, role)
	return nil
}

func (u userAdmin) unlock(ctx context.Context, email string) error {
	n, err := u.accounts.Unlock(ctx, email, account.CLI)
	if err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "cleared %d sign-in throttle(s) for %s\n", n, email)
	return nil
}
