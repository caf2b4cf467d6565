// Package handlers is Planner's web layer: the Echo app, its routes and
// middleware, and the feature handlers for pages, the API and the admin.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
	"gorm.io/gorm"
)

// Config is everything the web layer needs to know, parsed and validated
// once at start by cmd/planner. Tests build it as a literal.
type Config struct {
	Env            string        // "development" or "production"
	BaseURL        *url.URL      // public origin; links and Secure cookies follow it
	SecretKeys     [][]byte      // first signs, all verify
	CORSOrigins    []string      // origins allowed to call /api
	TokenTTL       time.Duration // API access token lifetime
	SessionTTL     time.Duration // browser session idle lifetime
	BcryptCost     int
	LoginLimit     int          // consecutive failures before a pair is throttled
	IPRate         int          // sign-in/sign-up attempts per minute per client; 0 = off
	TrustedProxies []*net.IPNet // peers whose X-Forwarded-For is believed
	Timezone       *time.Location
	RequestTimeout time.Duration // every request ends within it; 0 = 10s
	HashSlots      int           // bcrypt hashes at once; 0 = one less than the cores
	HashQueue      int           // hashes waiting beyond the slots; 0 = 4 per slot
	Version        string
	// RequireVerified makes creating events need a verified email address
	// (PLANNER_REQUIRE_VERIFIED).
	RequireVerified bool
	// AdminMFARequired makes admins turn on a second factor before the
	// admin pages (PLANNER_ADMIN_MFA=required).
	AdminMFARequired bool
	// MailQueued, when set, is called after a mail was queued (it wakes
	// the mail worker, which otherwise looks every few seconds).
	MailQueued func()
	Clock      models.Clock // nil = the system clock
}

// Secure reports whether the site is served over https, which turns on
// Secure cookies and HSTS. It follows the base URL, never the request.
func (c Config) Secure() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }

// Limits that are policy rather than configuration.
const (
	// MaxSessionAge is how long after sign-in a browser session may be renewed.
	MaxSessionAge = models.MaxSessionAge
	// BodyLimit bounds every request body.
	BodyLimit = "1M"
)

// Server is the app's error handler and routes, with what they need.
type Server struct {
	cfg        Config
	log        *slog.Logger
	rateLimits *models.RateLimits // the per-IP limit, shared by every instance
}

// New builds the Echo app for cfg on db. The returned Echo's Server has its
// timeouts set; the caller starts and stops it.
func New(cfg Config, log *slog.Logger, db *gorm.DB) (*echo.Echo, error) {
	if cfg.BaseURL == nil {
		return nil, fmt.Errorf("handlers: base URL is required")
	}
	if cfg.Timezone == nil {
		cfg.Timezone = time.UTC
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	cfg.HashSlots = HashSlots(cfg.HashSlots, runtime.NumCPU())
	if cfg.HashQueue <= 0 {
		cfg.HashQueue = 4 * cfg.HashSlots
	}
	tokens, err := NewTokens(cfg.SecretKeys, cfg.Clock.Now)
	if err != nil {
		return nil, err
	}
	accounts, err := account.New(db, account.Config{BcryptCost: cfg.BcryptCost, HashSlots: cfg.HashSlots,
		HashQueue: cfg.HashQueue, LoginLimit: cfg.LoginLimit, ThrottleKey: models.ThrottleKey(cfg.SecretKeys[0]),
		LinkKeys: account.LinkKeys(cfg.SecretKeys), MFAKeys: account.MFAKeys(cfg.SecretKeys), Mailer: mailer{base: cfg.BaseURL}, Queued: cfg.MailQueued, Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, rateLimits: models.NewRateLimits(db, models.ThrottleKey(cfg.SecretKeys[0]))}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 15 * time.Second
	e.Server.WriteTimeout = max(30*time.Second, cfg.RequestTimeout+5*time.Second)
	e.Server.IdleTimeout = 120 * time.Second
	e.Server.MaxHeaderBytes = 64 << 10
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Validator = nil

	sessions := NewSessions(cfg, tokens, models.NewSessions(db), log)
	events := models.NewEvents(db)
	events.SetRSVPMail(newRSVPMailer(cfg).compose)
	calendar := NewCalendar(cfg, models.NewUsers(db), events)
	passkeys, err := NewPasskeys(cfg, accounts, sessions)
	if err != nil {
		return nil, err
	}
	reads := &versionReads{} // one shared read of the events version for the API's cache and the pages'
	f := features{
		passkeys:  passkeys,
		api:       NewAPI(accounts, accounts, sessions),
		apiEvents: NewAPIEvents(cfg, events, events, newPublicCache(events, reads)),
		docs:      &Docs{cfg: cfg},
		widget:    &Widget{cfg: cfg},
		admin:     NewAdmin(cfg, accounts, models.NewSite(db), events),
		events:    NewEvents(cfg, events, events, newPageLists(events, reads)),
		calendar:  calendar,
		health:    NewHealth(func(ctx context.Context) error { return models.Ping(ctx, db) }),
		auth:      NewAuth(accounts, accounts, sessions, passkeys.Enabled(), cfg.Secure()),
		mfa:       NewMFA(accounts, cfg.Secure()),
		account:   NewAccount(cfg, accounts, models.NewUsers(db), sessions, calendar.FeedURL, passkeys.Enabled()),
		recovery:  NewRecovery(accounts, sessions, cfg.Secure()),
		devices:   NewDevices(cfg, accounts, sessions),
	}
	s.routes(e, f, sessions)
	return e, nil
}

// HashSlots is how many bcrypt hashes may run at once: the configured
// number (PLANNER_HASH_SLOTS), else one less than the cores, at least one,
// so a sign-in flood leaves a core for every other request. Sign-in
// capacity is then slots ÷ the time of one hash (about 0.2 s of a core at
// cost 12): 1 slot on 2 cores is about 5 sign-ins a second, 7 on 8 about 35.
func HashSlots(configured, cpus int) int {
	if configured > 0 {
		return configured
	}
	return max(1, cpus-1)
}

// features are the feature handlers routes wires up.
type features struct {
	api       *API
	apiEvents *APIEvents
	docs      *Docs
	widget    *Widget
	admin     *Admin
	events    *Events
	health    *Health
	auth      *Auth
	account   *Account
	calendar  *Calendar
	recovery  *Recovery
	devices   *Devices
	mfa       *MFA
	passkeys  *Passkeys
}

// ipExtractor trusts X-Forwarded-For only from the configured proxies; by
// default Echo would also trust loopback and private ranges, and c.RealIP
// would believe anyone.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
