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
	HashSlots      int // bcrypt hashes at once; 0 = one less than the cores
	HashQueue      int // hashes waiting beyond the slots; 0 = 4 per slot
	Version        string
}

// Secure reports whether the site is served over https, which turns on
// Secure cookies and HSTS. It follows the base URL, never the request.
func (c Config) Secure() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }

// Limits that are policy rather than configuration.
const (
	// MaxSessionAge is how long after sign-in a browser session may be renewed.
	MaxSessionAge = 7 * 24 * time.Hour
	// LockDuration is how long a throttled (email, client) pair stays locked.
	LockDuration = 15 * time.Minute
	// BodyLimit bounds every request body.
	BodyLimit = "1M"
)

// Server holds the app's shared services. Feature handlers get only the
// parts they use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	db     *gorm.DB
	tokens *Tokens
	users  *models.Users
	sess   *models.Sessions
	audit  *models.Audit
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
	if cfg.HashSlots <= 0 {
		cfg.HashSlots = max(1, runtime.NumCPU()-1)
	}
	if cfg.HashQueue <= 0 {
		cfg.HashQueue = 4 * cfg.HashSlots
	}
	tokens, err := NewTokens(cfg.SecretKeys, nil)
	if err != nil {
		return nil, err
	}
	hasher, err := models.NewHasher(cfg.BcryptCost, cfg.HashSlots, cfg.HashQueue)
	if err != nil {
		return nil, err
	}
	// Unknown emails must cost what the stored hashes cost, even when the
	// server now runs at a lower cost than they were made with.
	topCost, err := models.NewUsers(db).HighestHashCost(context.Background())
	if err != nil {
		return nil, err
	}
	hasher.RaiseFloor(topCost)
	policy := models.NewPasswordPolicy() // indexes 10,000 passwords: once
	throttles := models.NewThrottles(db, models.ThrottleKey(cfg.SecretKeys[0]))
	s := &Server{
		cfg:    cfg,
		log:    log,
		db:     db,
		tokens: tokens,
		users:  models.NewUsers(db),
		sess:   models.NewSessions(db),
		audit:  models.NewAudit(db),
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 15 * time.Second
	e.Server.WriteTimeout = 30 * time.Second
	e.Server.IdleTimeout = 120 * time.Second
	e.Server.MaxHeaderBytes = 64 << 10
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.HTTPErrorHandler = s.handleError
	e.Validator = nil

	signin := &SignIn{
		users:     s.users,
		throttles: throttles,
		audit:     s.audit,
		hasher:    hasher,
		limit:     cfg.LoginLimit,
	}
	sessions := &Sessions{cfg: cfg, tokens: tokens, revoked: s.sess, log: log}
	events := &Events{cfg: cfg, events: models.NewEvents(db), audit: s.audit}
	apiEvents := models.NewEvents(db)
	apiHandlers := &API{cfg: cfg, users: s.users, signin: signin, sessions: sessions, tokens: tokens,
		policy: policy, hasher: hasher, audit: s.audit}
	f := features{
		api:       apiHandlers,
		apiEvents: &APIEvents{cfg: cfg, events: apiEvents, audit: s.audit, cache: newPublicCache(apiEvents)},
		docs:      &Docs{cfg: cfg},
		widget:    &Widget{cfg: cfg},
		admin: &Admin{cfg: cfg, db: db, users: s.users, events: models.NewEvents(db), throttles: throttles,
			audit: s.audit, sessions: sessions},
		pages:   &Pages{cfg: cfg, events: events},
		events:  events,
		health:  &Health{db: db},
		auth:    &Auth{cfg: cfg, users: s.users, signin: signin, sessions: sessions, policy: policy, hasher: hasher, audit: s.audit},
		account: &Account{cfg: cfg, users: s.users, signin: signin, sessions: sessions, policy: policy, hasher: hasher, audit: s.audit},
	}
	s.routes(e, f, sessions)
	return e, nil
}

// features are the feature handlers routes wires up.
type features struct {
	api       *API
	apiEvents *APIEvents
	docs      *Docs
	widget    *Widget
	admin     *Admin
	pages     *Pages
	events    *Events
	health    *Health
	auth      *Auth
	account   *Account
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

// clientKey is the identity rate limits and throttles count by: the IPv4
// address, or the /64 of an IPv6 one (one host usually owns the whole /64).
func clientKey(ip string) string {
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return ip
	}
	if v4 := parsed.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: parsed.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
