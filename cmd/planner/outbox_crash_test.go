package main

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/planner/planner/models/dbtest"
	"github.com/planner/planner/models/mail/mailtest"
)

// TestOutboxSurvivesCrash queues two mails (a sign-up's verification and
// a password reset) while the mail server is down, which neither request
// notices; kills the process with SIGKILL before anything could be sent;
// starts the mail server and the process again, and checks that each mail
// arrives exactly once. On SQLite and PostgreSQL.
func TestOutboxSurvivesCrash(t *testing.T) {
	bin := buildPlanner(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "planner.db")
			if backend == "postgres" {
				dbURL = dbtest.PostgresURL(t)
			}
			smtpAddr := freeAddr(t) // nothing listens there yet: the mail server is down
			env := []string{"PLANNER_DATABASE_URL=" + dbURL, "PLANNER_BCRYPT_COST=4", "PLANNER_IP_RATE=0",
				"PLANNER_SECRET_KEYS=crash-test-key-0123456789abcdefghijklmnop", "PLANNER_LOG_LEVEL=warn",
				"PLANNER_SMTP_URL=smtp://" + smtpAddr, "PLANNER_MAIL_FROM=Planner <planner@planner.test>"}
			p := startPlanner(t, bin, freeAddr(t), env)
			start := time.Now()
			if code, err := p.call("POST", "/api/user/signup", "", map[string]any{"email": "crash@example.com", "password": "correct-horse-battery"}, nil); code != 200 {
				t.Fatalf("sign-up: %d %v", code, err)
			}
			if code, err := p.call("POST", "/api/user/password/forgot", "", map[string]any{"email": "crash@example.com"}, nil); code != 202 {
				t.Fatalf("forgot: %d %v", code, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("two requests took %v with the mail server down", d)
			}
			// Let the worker fail against the dead server for both mails,
			// so the kill does not land in the middle of a dial (which
			// would hold the mail's lease for two minutes).
			for range 400 {
				if strings.Count(p.stderr.String(), "will retry") >= 2 {
					break
				}
				time.Sleep(25 * time.Millisecond)
			}
			if n := strings.Count(p.stderr.String(), "will retry"); n < 2 {
				t.Fatalf("%d failed attempts logged, want 2:\n%s", n, p.stderr.String())
			}
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			err := <-p.done
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("not killed by SIGKILL: %v", err)
			}
			p.done <- err // for the cleanup

			ln, err := net.Listen("tcp", smtpAddr)
			if err != nil {
				t.Fatal(err)
			}
			srv := mailtest.StartOn(t, ln)
			p2 := startPlanner(t, bin, freeAddr(t), env)
			msgs := srv.Wait(t, 2, 60*time.Second) // the first retry is 10 s after the failure
			time.Sleep(5 * time.Second)            // more than two polls: nothing goes out twice
			msgs = srv.Messages()
			var subjects []string
			for _, m := range msgs {
				subjects = append(subjects, m.Subject)
				if len(m.To) != 1 || m.To[0] != "crash@example.com" {
					t.Errorf("mail to %v", m.To)
				}
			}
			sort.Strings(subjects)
			if len(msgs) != 2 || !strings.HasPrefix(subjects[0], "Confirm your email address") || !strings.HasPrefix(subjects[1], "Reset your") {
				t.Fatalf("received %d mails: %q", len(msgs), subjects)
			}
			_ = p2.cmd.Process.Signal(syscall.SIGTERM)
			if err := <-p2.done; err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, p2.stderr.String())
			}
			p2.done <- nil
		})
	}
}

// TestDevelopmentMailGoesToTheLog: without PLANNER_SMTP_URL, development
// writes each mail to the log (its subject and links at info level, not
// its text), with a warning at start.
func TestDevelopmentMailGoesToTheLog(t *testing.T) {
	bin := buildPlanner(t)
	env := []string{"PLANNER_DATABASE_URL=" + filepath.Join(t.TempDir(), "planner.db"), "PLANNER_BCRYPT_COST=4",
		"PLANNER_SECRET_KEYS=dev-mail-test-key-0123456789abcdefghijkl", "PLANNER_LOG_LEVEL=info"}
	p := startPlanner(t, bin, freeAddr(t), env)
	if code, err := p.call("POST", "/api/user/signup", "", map[string]any{"email": "dev@example.com", "password": "correct-horse-battery"}, nil); code != 200 {
		t.Fatalf("sign-up: %d %v", code, err)
	}
	for range 400 {
		if strings.Contains(p.stderr.String(), "/account/verify?token=") {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	out := p.stderr.String()
	if !strings.Contains(out, "PLANNER_SMTP_URL not set") || !strings.Contains(out, "Confirm your email address") ||
		!strings.Contains(out, p.base+"/account/verify?token=") {
		t.Fatalf("the mail is not in the log:\n%s", out)
	}
	if strings.Contains(out, "Please confirm that this is") || strings.Contains(out, "dev@example.com") {
		t.Fatalf("the log has the mail's text or address at info level:\n%s", out)
	}
}
