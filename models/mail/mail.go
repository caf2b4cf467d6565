// Package mail sends the outbox: a worker claims each due mail from the
// outbox table (models.Outbox) and hands it to a Sender, SMTP in
// production or the log in development, retrying with backoff when the
// mail server is down. Requests only ever write to the outbox, in the
// transaction of their change, so a slow or dead mail server never slows
// one and loses nothing.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/planner/planner/models"
)

// Sender delivers one mail. A *PermanentError means trying again is no use
// (the server refused the address or the message); anything else is
// retried.
type Sender interface {
	Send(ctx context.Context, m *models.OutboxMail) error
}

// PermanentError is a refusal that retrying would not change.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTPConfig is where and as whom mail is sent.
type SMTPConfig struct {
	// URL is smtp://[user@]host[:port] (STARTTLS when the server offers it,
	// port 587 by default) or smtps://[user@]host[:port] (TLS from the
	// start, port 465 by default).
	URL      *url.URL
	Password string // from PLANNER_SMTP_PASSWORD; never part of the URL
	From     string // the From address
	// TLSConfig, when set, replaces the default TLS settings (tests).
	TLSConfig *tls.Config
	Timeout   time.Duration // per connection; 0 = 30 s
}

// ParseSMTPURL checks an SMTP URL: scheme smtp or smtps, a host, an
// optional port and user, and no password (that comes from its own
// variable, so it never shows where URLs are logged or listed).
func ParseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, fmt.Errorf("want smtp://user@host:port or smtps://user@host:port, got %q", redact(raw))
	}
	if _, has := u.User.Password(); has {
		return nil, errors.New("the URL must not carry a password: set PLANNER_SMTP_PASSWORD")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("want only scheme, user, host and port, got %q", redact(raw))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad port %q", p)
		}
	}
	return u, nil
}

// redact hides a password someone put in a URL anyway.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return raw
}

// SMTP sends through an SMTP server with go-mail, one connection per mail
// (mail is rare: resets and verifications).
type SMTP struct {
	cfg  SMTPConfig
	host string
	port int
}

// NewSMTP returns the SMTP sender of cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.URL == nil {
		return nil, errors.New("mail: no SMTP URL")
	}
	port := 587
	if cfg.URL.Scheme == "smtps" {
		port = 465
	}
	if p := cfg.URL.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg, host: cfg.URL.Hostname(), port: port}, nil
}

// Send delivers m: a multipart/alternative message with the plain-text and
// HTML parts, and its attachment when it has one.
func (s *SMTP) Send(ctx context.Context, m *models.OutboxMail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return &PermanentError{fmt.Errorf("from address: %w", err)}
	}
	if err := msg.To(m.ToAddr); err != nil {
		return &PermanentError{fmt.Errorf("to address: %w", err)}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	if m.AttachmentName != "" {
		err := msg.AttachReader(m.AttachmentName, strings.NewReader(m.Attachment),
			gomail.WithFileContentType(gomail.ContentType(m.AttachmentType)))
		if err != nil {
			return &PermanentError{fmt.Errorf("attachment: %w", err)}
		}
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.cfg.Timeout)}
	if s.cfg.URL.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	tlsConfig := s.cfg.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tlsConfig))
	if user := s.cfg.URL.User.Username(); user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(user),
			gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return &PermanentError{fmt.Errorf("smtp client: %w", err)}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
			return &PermanentError{err}
		}
		return err
	}
	return nil
}

// Log is the development sender: each mail goes to the log instead of a
// mail server. At info level only the subject and the links (what a
// developer clicks); the whole text at debug level.
type Log struct {
	Log *slog.Logger
}

var links = regexp.MustCompile(`https?://[^\s<>"]+`)

// Send writes m to the log.
func (l Log) Send(ctx context.Context, m *models.OutboxMail) error {
	l.Log.InfoContext(ctx, "mail (no PLANNER_SMTP_URL: logged, not sent)", "subject", m.Subject,
		"links", links.FindAllString(m.TextBody, -1), "attachment", m.AttachmentName)
	l.Log.DebugContext(ctx, "mail body", "to", m.ToAddr, "text", m.TextBody)
	return nil
}

// Worker sends the outbox.
type Worker struct {
	outbox *models.Outbox
	sender Sender
	log    *slog.Logger
	clock  models.Clock
	// Poll is how often the outbox is looked at when nothing woke the
	// worker (mail queued by another instance, retries coming due).
	Poll time.Duration
	// Lease is how long a claimed mail is the worker's: one that died
	// while sending leaves it to be claimed again after that.
	Lease time.Duration
	// Backoff is the wait after the n-th failed attempt (n from 1).
	Backoff func(n int) time.Duration
	wake    chan struct{}
}

// NewWorker returns a worker sending db's outbox through sender.
func NewWorker(outbox *models.Outbox, sender Sender, log *slog.Logger, clock models.Clock) *Worker {
	return &Worker{outbox: outbox, sender: sender, log: log, clock: clock, Poll: 2 * time.Second, Lease: 2 * time.Minute,
		Backoff: DefaultBackoff, wake: make(chan struct{}, 1)}
}

// ShutdownGrace is how long a send may go on once the worker is told to
// stop, so that `planner serve` still stops within its 10 s.
const ShutdownGrace = 3 * time.Second

// DefaultBackoff doubles from 10 seconds up to an hour: 10 s, 20 s, 40 s,
// …, 1 h, 1 h, …
func DefaultBackoff(n int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Wake makes the worker look at the outbox now (a mail was just queued).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends due mail until ctx ends, then returns once the mail being sent
// (if any) is marked: a send still running gets ShutdownGrace to finish.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil && w.SendOne(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// SendOne claims and sends one due mail and reports whether there was one.
func (w *Worker) SendOne(ctx context.Context) bool {
	m, err := w.outbox.Claim(ctx, w.clock.Now(), w.Lease)
	if errors.Is(err, models.ErrNotFound) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("mail: claim", "err", err)
		}
		return false
	}
	// A shutdown lets the send finish for a few seconds more (then it is
	// cut short and counts as a failed attempt, tried again later), and
	// the mark always runs.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.Lease/2)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(ShutdownGrace, cancel)
		<-sctx.Done()
		t.Stop()
	})
	defer stop()
	err = w.sender.Send(sctx, m)
	// The marks get a context of their own: sctx may be cut short.
	mctx, cancelMark := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelMark()
	now := w.clock.Now()
	if err == nil {
		if err := w.outbox.MarkSent(mctx, m.ID, now); err != nil {
			w.log.Error("mail: sent but not marked (it may go out twice)", "id", m.ID, "err", err)
		}
		w.log.Info("mail sent", "id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
		return true
	}
	var perm *PermanentError
	retry := now.Add(w.Backoff(m.Attempts))
	if errors.As(err, &perm) {
		retry = time.Time{}
	}
	if merr := w.outbox.MarkFailed(mctx, m, err.Error(), now, retry); merr != nil {
		w.log.Error("mail: mark failed attempt", "id", m.ID, "err", merr)
	}
	if retry.IsZero() || m.Attempts >= models.MaxMailAttempts {
		w.log.Error("mail: given up", "id", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
	} else {
		w.log.Warn("mail: attempt failed, will retry", "id", m.ID, "kind", m.Kind, "attempt", m.Attempts,
			"retry_at", retry.UTC().Format(time.RFC3339), "err", err)
	}
	return true
}
