package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"github.com/planner/planner/handlers"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/mail"
	"gorm.io/gorm"
)

// shutdownGrace bounds a graceful shutdown.
const shutdownGrace = 10 * time.Second

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}

func newLogger(c config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openDB opens the configured database. With migrate it applies pending
// migrations first (serve, migrate); without, the schema must be exactly
// this binary's, so that the user commands and `serve --no-migrate` never
// write through a schema they do not know.
func openDB(ctx context.Context, c config, log *slog.Logger, migrate bool) (*gorm.DB, error) {
	db, err := models.Open(c.databaseURL, log) // ErrNoFTS5 for SQLite in a build without the tag
	if err != nil {
		return nil, err
	}
	if !models.SQLiteFTS5 {
		log.Warn("this binary was built without the sqlite_fts5 build tag: it serves PostgreSQL only")
	}
	if err := prepareSchema(ctx, db, log, migrate); err != nil {
		_ = models.Close(db)
		return nil, err
	}
	return db, nil
}

func prepareSchema(ctx context.Context, db *gorm.DB, log *slog.Logger, migrate bool) error {
	if !migrate {
		err := models.CheckSchema(ctx, db)
		switch {
		case errors.Is(err, models.ErrSchemaBehind):
			return fmt.Errorf("%w: run \"planner migrate\" first", err)
		case errors.Is(err, models.ErrSchemaNewer):
			return fmt.Errorf("%w: use a newer planner", err)
		}
		return err
	}
	applied, err := models.ApplyMigrations(ctx, db)
	for _, m := range applied {
		log.Info("schema migrated", "version", m.Version, "migration", m.Name, "duration", m.Duration)
	}
	if errors.Is(err, models.ErrSchemaNewer) {
		return fmt.Errorf("%w: use a newer planner", err)
	}
	return err
}

// openFromEnv is the start of the commands other than serve: the
// configuration from the environment alone, then the database, whose
// schema must be current (these commands never migrate).
func openFromEnv(ctx context.Context, getenv func(string) string, stderr io.Writer) (config, *gorm.DB, error) {
	c, err := loadConfig(getenv, nil)
	if err != nil {
		return c, nil, err
	}
	db, err := openDB(ctx, c, newLogger(c, stderr), false)
	return c, db, err
}

// migrate is `planner migrate` (apply what is pending, under the lock) and
// `planner migrate status` (list every migration and whether it is applied).
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	status := false
	switch {
	case len(args) == 1 && args[0] == "status":
		status = true
	case len(args) > 0:
		return usagef("usage: planner migrate [status]")
	}
	c, err := loadConfig(getenv, nil)
	if err != nil {
		return err
	}
	db, err := models.Open(c.databaseURL, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer models.Close(db)
	if status {
		return migrateStatus(ctx, db, stdout)
	}
	applied, err := models.ApplyMigrations(ctx, db)
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s (%s)\n", m.Name, m.Duration.Round(time.Millisecond))
	}
	if err != nil {
		if errors.Is(err, models.ErrSchemaNewer) {
			return fmt.Errorf("%w: use a newer planner", err)
		}
		return err
	}
	current, _, err := models.SchemaVersions(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema is up to date at version %d\n", current)
	return nil
}

func migrateStatus(ctx context.Context, db *gorm.DB, stdout io.Writer) error {
	list, err := models.Migrations(ctx, db)
	if err != nil {
		return err
	}
	current, latest, err := models.SchemaVersions(ctx, db)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tSTATE\tAPPLIED AT\tMIGRATION")
	pending := 0
	for _, m := range list {
		state, at := "pending", "-"
		if m.Applied {
			state, at = "applied", m.AppliedAt.Format(time.RFC3339)
		} else {
			pending++
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Name)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	switch {
	case current > latest:
		fmt.Fprintf(stdout, "database at version %d is newer than this binary (%d): use a newer planner\n", current, latest)
	case pending > 0:
		fmt.Fprintf(stdout, "database at version %d, %d pending: run \"planner migrate\"\n", current, pending)
	default:
		fmt.Fprintf(stdout, "database at version %d, up to date\n", current)
	}
	return nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("planner serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { // -h lists the commands too, not only serve's flags
		fmt.Fprintf(stderr, "%s\n\nflags of planner serve (each also an environment variable):\n", usage)
		fs.PrintDefaults()
	}
	flagValues := addFlags(fs)
	noMigrate := fs.Bool("no-migrate", false, "do not migrate at start; refuse to serve unless the schema is already current")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments, got %q", fs.Arg(0))
	}
	c, err := loadConfig(getenv, flagValues())
	if err != nil {
		return err
	}
	if err := c.checkProduction(); err != nil {
		return err
	}
	log := newLogger(c, stderr)
	if c.web.SecretKeys, err = loadSecretKeys(c, getenv, log); err != nil {
		return err
	}
	c.web.Version = version()
	sender, err := mailSender(c, getenv, log)
	if err != nil {
		return err
	}

	db, err := openDB(ctx, c, log, !*noMigrate)
	if err != nil {
		return err
	}
	defer models.Close(db)
	worker := mail.NewWorker(models.NewOutbox(db), sender, log, c.web.Clock)
	c.web.MailQueued = worker.Wake
	c.web.HashSlots = handlers.HashSlots(c.web.HashSlots, runtime.NumCPU())
	defer runtime.GOMAXPROCS(hashProcs(c.web.HashSlots))
	e, err := handlers.New(c.web, log, db)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("PLANNER_ADDR: %w", err)
	}
	e.Listener = ln
	e.Server.Handler = e
	log.Info("serving", "addr", ln.Addr().String(), "base_url", c.web.BaseURL.String(), "env", c.web.Env)
	fmt.Fprintf(stdout, "Planner is serving on http://%s\n", ln.Addr().String())

	// Housekeeping stops with ctx; waiting for it keeps it from touching
	// the database after Close.
	hctx, stopHousekeeping := context.WithCancel(ctx)
	housekept := make(chan struct{})
	go func() { housekeeping(hctx, db, c.web.SecretKeys[0], log); close(housekept) }()
	defer func() { stopHousekeeping(); <-housekept }()
	// The mail worker stops after the last request (which may queue mail)
	// and after finishing the mail it is sending.
	mctx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
	mailed := make(chan struct{})
	go func() { worker.Run(mctx); close(mailed) }()
	defer func() { stopMail(); <-mailed }()
	errc := make(chan error, 1)
	go func() { errc <- e.Server.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// mailSender is SMTP when PLANNER_SMTP_URL is set, else (development
// only: production refuses to start without it) the log.
func mailSender(c config, getenv func(string) string, log *slog.Logger) (mail.Sender, error) {
	if c.smtpURL == nil {
		log.Warn("PLANNER_SMTP_URL not set: mail is written to the log, not sent (development only)")
		return mail.Log{Log: log}, nil
	}
	password, err := loadSMTPPassword(getenv)
	if err != nil {
		return nil, err
	}
	return mail.NewSMTP(mail.SMTPConfig{URL: c.smtpURL, Password: password, From: c.mailFrom})
}

// housekeeping deletes what has run out: revoked sessions past their
// expiry, stale throttles, and audit entries past retention.
func housekeeping(ctx context.Context, db *gorm.DB, signingKey []byte, log *slog.Logger) {
	sessions, throttles, audit := models.NewSessions(db), models.NewThrottles(db, models.ThrottleKey(signingKey)), models.NewAudit(db)
	outbox, limits := models.NewOutbox(db), models.NewRateLimits(db, nil)
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		for _, err := range []error{
			sessions.Purge(ctx, now),
			throttles.Purge(ctx, now.Add(-24*time.Hour)),
			audit.Purge(ctx, now),
			outbox.Purge(ctx, now),
			limits.Purge(ctx, now), // purging needs no key
		} {
			if err != nil && ctx.Err() == nil {
				log.Warn("housekeeping", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// hashProcs gives Go one processor per hashing slot beyond the ones it
// runs requests on, and returns the number it had. A bcrypt hash holds its
// processor for a quarter of a second; without these, a sign-in flood
// would take a whole processor away from every other request on a
// machine of two cores (measured there: by-id p99 during the flood 56-64
// ms at GOMAXPROCS=2, 25-27 ms at 3). The kernel still shares the cores:
// the hashing threads' lower priority (models.Hasher) decides who waits.
func hashProcs(slots int) int {
	return runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + slots)
}
