package mail_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/planner/planner/models"
	"github.com/planner/planner/models/dbtest"
	"github.com/planner/planner/models/mail"
	"github.com/planner/planner/models/mail/mailtest"
	"gorm.io/gorm"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func smtpSender(t *testing.T, srv *mailtest.Server, password string) *mail.SMTP {
	t.Helper()
	u, err := mail.ParseSMTPURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: u, Password: password, From: "Planner <planner@planner.test>", Timeout: 5 * time.Second,
		TLSConfig: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func enqueue(t *testing.T, db *gorm.DB, to, subject string) {
	t.Helper()
	err := models.NewOutbox(db).Enqueue(context.Background(), models.OutboxMail{Kind: models.MailVerifyEmail, ToAddr: to,
		Subject: subject, TextBody: "Hello\n\nhttp://planner.test/account/verify?token=abc\n", HTMLBody: "<p>Hello</p>"})
	if err != nil {
		t.Fatal(err)
	}
}

func outboxRows(t *testing.T, db *gorm.DB) []models.OutboxMail {
	t.Helper()
	var rows []models.OutboxMail
	if err := db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestWorkerSendsThroughSMTP sends queued mail to a real SMTP server (with
// STARTTLS and AUTH): both parts arrive, and the row is marked sent with
// its bodies blanked.
func TestWorkerSendsThroughSMTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		srv := mailtest.StartTLS(t)
		srv.User, srv.Password = "planner", "s3cret"
		enqueue(t, db, "ada@example.com", "Confirm your address")
		w := mail.NewWorker(models.NewOutbox(db), smtpSender(t, srv, "s3cret"), quiet(), nil)
		if !w.SendOne(context.Background()) {
			t.Fatal("nothing to send")
		}
		if rows := outboxRows(t, db); rows[0].LastError != "" {
			t.Fatalf("send failed: %s", rows[0].LastError)
		}
		msgs := srv.Wait(t, 1, 5*time.Second)
		m := msgs[0]
		if m.Subject != "Confirm your address" || len(m.To) != 1 || m.To[0] != "ada@example.com" ||
			!strings.Contains(m.Text, "http://planner.test/account/verify?token=abc") || m.HTML != "<p>Hello</p>" {
			t.Fatalf("received %+v", m)
		}
		rows := outboxRows(t, db)
		if len(rows) != 1 || rows[0].SentAt == nil || rows[0].TextBody != "" || rows[0].HTMLBody != "" || rows[0].Attempts != 1 {
			t.Fatalf("outbox after sending: %+v", rows)
		}
		if w.SendOne(context.Background()) {
			t.Fatal("a sent mail was claimed again")
		}
	})
}

// TestWorkerRetriesAndGivesUp: a temporarily failing server gets the mail
// again after the backoff, not before; a wrong password is retried too,
// a refused mail (5xx) is given up at once.
func TestWorkerRetries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		srv := mailtest.Start(t)
		srv.Failing(true)
		now := time.Date(2031, 1, 1, 12, 0, 0, 0, time.UTC)
		clock := models.Clock(func() time.Time { return now })
		ctx := context.Background()
		enqueue(t, db, "bob@example.com", "Reset")
		// Enqueue stamps the database's now; move the clock past it.
		now = time.Now().UTC().Add(time.Second)
		w := mail.NewWorker(models.NewOutbox(db), smtpSender(t, srv, ""), quiet(), clock)
		if !w.SendOne(ctx) {
			t.Fatal("nothing to send")
		}
		rows := outboxRows(t, db)
		if rows[0].SentAt != nil || rows[0].FailedAt != nil || rows[0].LastError == "" || rows[0].ClaimedUntil != nil ||
			rows[0].NextAttemptAt.Sub(now.Add(mail.DefaultBackoff(1))).Abs() > time.Millisecond {
			t.Fatalf("after a failed attempt: %+v", rows[0])
		}
		if w.SendOne(ctx) {
			t.Fatal("retried before the backoff")
		}
		srv.Failing(false)
		now = now.Add(mail.DefaultBackoff(1) + time.Second)
		if !w.SendOne(ctx) {
			t.Fatal("not retried after the backoff")
		}
		if got := srv.Wait(t, 1, 5*time.Second); len(got) != 1 {
			t.Fatalf("received %d", len(got))
		}
		if rows := outboxRows(t, db); rows[0].SentAt == nil || rows[0].Attempts != 2 {
			t.Fatalf("after the retry: %+v", rows[0])
		}
	})
}

// TestWorkerGivesUp: after MaxMailAttempts the mail is abandoned (its
// bodies blanked), and a permanent refusal is abandoned at once.
func TestWorkerGivesUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		enqueue(t, db, "carol@example.com", "Reset")
		now := time.Now().UTC().Add(time.Second)
		w := mail.NewWorker(models.NewOutbox(db), senderFunc(func(context.Context, *models.OutboxMail) error {
			return fmt.Errorf("connection refused")
		}), quiet(), func() time.Time { return now })
		w.Backoff = func(int) time.Duration { return time.Second }
		for i := 0; i < models.MaxMailAttempts; i++ {
			if !w.SendOne(ctx) {
				t.Fatalf("attempt %d: nothing claimed", i+1)
			}
			now = now.Add(2 * time.Second)
		}
		if w.SendOne(ctx) {
			t.Fatal("claimed after giving up")
		}
		if rows := outboxRows(t, db); rows[0].FailedAt == nil || rows[0].TextBody != "" || rows[0].Attempts != models.MaxMailAttempts {
			t.Fatalf("after giving up: %+v", rows[0])
		}

		enqueue(t, db, "dave@example.com", "Reset")
		perm := mail.NewWorker(models.NewOutbox(db), senderFunc(func(context.Context, *models.OutboxMail) error {
			return &mail.PermanentError{Err: fmt.Errorf("550 no such user")}
		}), quiet(), func() time.Time { return now })
		if !perm.SendOne(ctx) {
			t.Fatal("nothing claimed")
		}
		if rows := outboxRows(t, db); rows[1].FailedAt == nil || rows[1].Attempts != 1 {
			t.Fatalf("after a permanent refusal: %+v", rows[1])
		}
	})
}

type senderFunc func(context.Context, *models.OutboxMail) error

func (f senderFunc) Send(ctx context.Context, m *models.OutboxMail) error { return f(ctx, m) }

// TestWorkersShareTheOutbox runs several workers (as on several instances)
// on one database: every mail is sent exactly once.
func TestWorkersShareTheOutbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		const n = 40
		for i := 0; i < n; i++ {
			enqueue(t, db, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("mail %d", i))
		}
		var mu sync.Mutex
		sent := map[string]int{}
		slow := senderFunc(func(_ context.Context, m *models.OutboxMail) error {
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			sent[m.Subject]++
			mu.Unlock()
			return nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			w := mail.NewWorker(models.NewOutbox(db), slow, quiet(), nil)
			w.Poll = 20 * time.Millisecond
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(ctx) }()
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			var left int64
			if err := db.Model(&models.OutboxMail{}).Where("sent_at IS NULL").Count(&left).Error; err != nil {
				t.Fatal(err)
			}
			if left == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		if len(sent) != n {
			t.Fatalf("%d distinct mails sent, want %d", len(sent), n)
		}
		for subj, k := range sent {
			if k != 1 {
				t.Errorf("%s sent %d times", subj, k)
			}
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	for _, ok := range []string{"smtp://mail.example", "smtp://user@mail.example:2525", "smtps://u%40x@mail.example:465"} {
		if _, err := mail.ParseSMTPURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "mail.example", "http://mail.example", "smtp://", "smtp://u:pw@mail.example",
		"smtp://mail.example:0", "smtp://mail.example/x", "smtp://mail.example?x=1"} {
		if _, err := mail.ParseSMTPURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("%q: error shows the password: %v", bad, err)
		}
	}
}

// TestLogSender writes only the subject and links at info level.
func TestLogSender(t *testing.T) {
	var b strings.Builder
	l := mail.Log{Log: slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	err := l.Send(context.Background(), &models.OutboxMail{ToAddr: "ada@example.com", Subject: "Reset your password",
		TextBody: "Hello Ada,\nfollow http://planner.test/password/reset?token=abc now\n"})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "Reset your password") || !strings.Contains(out, "http://planner.test/password/reset?token=abc") ||
		strings.Contains(out, "Hello Ada") || strings.Contains(out, "ada@example.com") {
		t.Fatalf("log: %s", out)
	}
}

// TestWorkerStopsWithinGrace: told to stop while a send hangs, the worker
// cuts the send short after ShutdownGrace, keeps the mail for later, and
// returns.
func TestWorkerStopsWithinGrace(t *testing.T) {
	db := dbtest.SQLite(t)
	enqueue(t, db, "eve@example.com", "Reset")
	started := make(chan struct{})
	hang := senderFunc(func(ctx context.Context, _ *models.OutboxMail) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	w := mail.NewWorker(models.NewOutbox(db), hang, quiet(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	<-started
	stopped := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(mail.ShutdownGrace + 5*time.Second):
		t.Fatal("the worker did not stop")
	}
	if d := time.Since(stopped); d < mail.ShutdownGrace-100*time.Millisecond {
		t.Errorf("the send was cut after %v, before the grace", d)
	}
	rows := outboxRows(t, db)
	if rows[0].SentAt != nil || rows[0].FailedAt != nil || rows[0].ClaimedUntil != nil || rows[0].TextBody == "" {
		t.Fatalf("after a cut send: %+v", rows[0])
	}
}
