package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/planner/planner/handlers"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/mail"
)

// config is everything the program reads from its environment and flags,
// parsed and validated once.
type config struct {
	web         handlers.Config
	addr        string
	databaseURL string
	logFormat   string
	logLevel    slog.Level
	smtpURL     *url.URL // nil: mail goes to the log (development only)
	mailFrom    string
}

// setting is one configuration variable: its environment name, its flag (""
// for secrets, which never come from flags), default and help.
type setting struct {
	env, flag, def, help string
}

var settings = []setting{
	{"PLANNER_ADDR", "addr", "localhost:8080", "listen address"},
	{"PLANNER_DATABASE_URL", "database-url", "planner.db", "SQLite file path (or file: URI), or postgres:// URL (one with a password only from the environment)"},
	{"PLANNER_ENV", "env", "development", "development or production"},
	{"PLANNER_BASE_URL", "base-url", "http://localhost:8080", "public origin (scheme, host, port)"},
	{"PLANNER_CORS_ORIGINS", "cors-origins", "*", "comma-separated origins allowed to call /api"},
	{"PLANNER_TOKEN_TTL", "token-ttl", "1h", "API access token lifetime"},
	{"PLANNER_SESSION_TTL", "session-ttl", "12h", "browser session idle lifetime"},
	{"PLANNER_BCRYPT_COST", "bcrypt-cost", "12", "bcrypt cost"},
	{"PLANNER_LOGIN_LIMIT", "login-limit", "5", "consecutive failed sign-ins before throttling"},
	{"PLANNER_IP_RATE", "ip-rate", "20", "sign-in/sign-up attempts per minute per client IP; 0 = off"},
	{"PLANNER_HASH_SLOTS", "hash-slots", "0", "bcrypt hashes at once; 0 = one less than the cores, at least one"},
	{"PLANNER_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For is believed"},
	{"PLANNER_TIMEZONE", "timezone", "UTC", "default IANA zone of events and users"},
	{"PLANNER_REQUEST_TIMEOUT", "request-timeout", "10s", "longest a request may take before it is answered 503"},
	{"PLANNER_LOG_FORMAT", "log-format", "text", "text or json"},
	{"PLANNER_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"PLANNER_SMTP_URL", "smtp-url", "", "smtp://user@host:port or smtps://user@host:port (password in PLANNER_SMTP_PASSWORD); empty: mail is logged (development only)"},
	{"PLANNER_MAIL_FROM", "mail-from", "", "From address of mail (default planner@<base URL host>)"},
	{"PLANNER_REQUIRE_VERIFIED", "require-verified", "false", "creating events needs a verified email address"},
	{"PLANNER_ADMIN_MFA", "admin-mfa", "optional", "required: admins must turn on two-factor sign-in before /admin; or optional"},
}

// configError names the variable that is wrong, in one line.
type configError struct {
	name string
	msg  string
}

func (e *configError) Error() string { return e.name + ": " + e.msg }

func bad(name, format string, args ...any) error {
	return &configError{name: name, msg: fmt.Sprintf(format, args...)}
}

// addFlags registers every non-secret setting on fs and returns the values
// the flags were given (only those set explicitly).
func addFlags(fs *flag.FlagSet) func() map[string]string {
	vals := map[string]*string{}
	for _, s := range settings {
		vals[s.env] = fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
	return func() map[string]string {
		out := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			for _, s := range settings {
				if s.flag == f.Name {
					out[s.env] = *vals[s.env]
				}
			}
		})
		return out
	}
}

// loadConfig reads every setting: a flag wins over the environment, which
// wins over the default.
func loadConfig(getenv func(string) string, flags map[string]string) (config, error) {
	get := func(name string) string {
		if v, ok := flags[name]; ok {
			return strings.TrimSpace(v)
		}
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, s := range settings {
			if s.env == name {
				return s.def
			}
		}
		return ""
	}
	var c config
	var err error
	c.addr = get("PLANNER_ADDR")
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return c, bad("PLANNER_ADDR", "want host:port, got %q", c.addr)
	}
	c.databaseURL = get("PLANNER_DATABASE_URL")
	if c.databaseURL == "" {
		return c, bad("PLANNER_DATABASE_URL", "must not be empty")
	}
	if v, ok := flags["PLANNER_DATABASE_URL"]; ok && models.IsPostgres(v) && urlHasPassword(v) {
		return c, bad("PLANNER_DATABASE_URL", "a URL with a password must come from the environment, not --database-url")
	}
	if models.IsPostgres(c.databaseURL) {
		if _, err := url.Parse(c.databaseURL); err != nil {
			return c, bad("PLANNER_DATABASE_URL", "not a valid URL")
		}
	}

	w := &c.web
	w.Env = get("PLANNER_ENV")
	if w.Env != "development" && w.Env != "production" {
		return c, bad("PLANNER_ENV", "want development or production, got %q", w.Env)
	}
	prod := w.Env == "production"
	if w.BaseURL, err = parseBaseURL(get("PLANNER_BASE_URL")); err != nil {
		return c, bad("PLANNER_BASE_URL", "%v", err)
	}
	if w.CORSOrigins, err = parseOrigins(get("PLANNER_CORS_ORIGINS")); err != nil {
		return c, bad("PLANNER_CORS_ORIGINS", "%v", err)
	}
	if w.TokenTTL, err = parseDuration(get("PLANNER_TOKEN_TTL"), time.Minute, 24*time.Hour); err != nil {
		return c, bad("PLANNER_TOKEN_TTL", "%v", err)
	}
	if w.SessionTTL, err = parseDuration(get("PLANNER_SESSION_TTL"), 5*time.Minute, handlers.MaxSessionAge); err != nil {
		return c, bad("PLANNER_SESSION_TTL", "%v", err)
	}
	if w.RequestTimeout, err = parseDuration(get("PLANNER_REQUEST_TIMEOUT"), time.Second, 10*time.Minute); err != nil {
		return c, bad("PLANNER_REQUEST_TIMEOUT", "%v", err)
	}
	lo, hi := 4, 31
	if prod {
		lo, hi = 10, 14
	}
	if w.BcryptCost, err = parseInt(get("PLANNER_BCRYPT_COST"), lo, hi); err != nil {
		return c, bad("PLANNER_BCRYPT_COST", "%v (in %s)", err, w.Env)
	}
	if w.LoginLimit, err = parseInt(get("PLANNER_LOGIN_LIMIT"), 1, 1000000); err != nil {
		return c, bad("PLANNER_LOGIN_LIMIT", "%v", err)
	}
	if w.IPRate, err = parseInt(get("PLANNER_IP_RATE"), 0, 1000000); err != nil {
		return c, bad("PLANNER_IP_RATE", "%v", err)
	}
	if w.HashSlots, err = parseInt(get("PLANNER_HASH_SLOTS"), 0, 1024); err != nil {
		return c, bad("PLANNER_HASH_SLOTS", "%v", err)
	}
	if w.TrustedProxies, err = parseCIDRs(get("PLANNER_TRUSTED_PROXIES")); err != nil {
		return c, bad("PLANNER_TRUSTED_PROXIES", "%v", err)
	}
	if w.Timezone, err = time.LoadLocation(get("PLANNER_TIMEZONE")); err != nil || get("PLANNER_TIMEZONE") == "Local" {
		return c, bad("PLANNER_TIMEZONE", "unknown IANA time zone %q", get("PLANNER_TIMEZONE"))
	}
	if raw := get("PLANNER_SMTP_URL"); raw != "" {
		if c.smtpURL, err = mail.ParseSMTPURL(raw); err != nil {
			return c, bad("PLANNER_SMTP_URL", "%v", err)
		}
	}
	c.mailFrom = get("PLANNER_MAIL_FROM")
	if c.mailFrom == "" {
		c.mailFrom = "Planner <planner@" + w.BaseURL.Hostname() + ">"
	}
	if _, err := netmail.ParseAddress(c.mailFrom); err != nil {
		return c, bad("PLANNER_MAIL_FROM", "want an address like Planner <planner@example.com>, got %q", c.mailFrom)
	}
	switch v := strings.ToLower(get("PLANNER_REQUIRE_VERIFIED")); v {
	case "true", "1", "yes":
		w.RequireVerified = true
	case "false", "0", "no":
	default:
		return c, bad("PLANNER_REQUIRE_VERIFIED", "want true or false, got %q", v)
	}
	switch v := strings.ToLower(get("PLANNER_ADMIN_MFA")); v {
	case "required":
		w.AdminMFARequired = true
	case "optional":
	default:
		return c, bad("PLANNER_ADMIN_MFA", "want required or optional, got %q", v)
	}
	c.logFormat = get("PLANNER_LOG_FORMAT")
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, bad("PLANNER_LOG_FORMAT", "want text or json, got %q", c.logFormat)
	}
	if err := c.logLevel.UnmarshalText([]byte(get("PLANNER_LOG_LEVEL"))); err != nil {
		return c, bad("PLANNER_LOG_LEVEL", "want debug, info, warn or error, got %q", get("PLANNER_LOG_LEVEL"))
	}
	return c, nil
}

// checkProduction refuses what is unsafe to serve in production.
func (c *config) checkProduction() error {
	if c.web.Env != "production" {
		return nil
	}
	if c.web.BaseURL.Scheme != "https" {
		return bad("PLANNER_BASE_URL", "production needs an https base URL")
	}
	if c.smtpURL == nil {
		return bad("PLANNER_SMTP_URL", "production needs a mail server (password reset and verification mail)")
	}
	return nil
}

// loadSMTPPassword returns the SMTP password: from PLANNER_SMTP_PASSWORD,
// else the file named by PLANNER_SMTP_PASSWORD_FILE, else none. Like the
// secret keys, never from a flag.
func loadSMTPPassword(getenv func(string) string) (string, error) {
	if v := getenv("PLANNER_SMTP_PASSWORD"); v != "" {
		return v, nil
	}
	path := getenv("PLANNER_SMTP_PASSWORD_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", bad("PLANNER_SMTP_PASSWORD_FILE", "cannot read the file: %v", errors.Unwrap(err))
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("want an http(s) origin like https://planner.example, got %q", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("must be an origin only (scheme, host, port; no path), got %q", s)
	}
	u.Path = ""
	return u, nil
}

func parseOrigins(s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin like https://site.example", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(out) == 0 {
		return nil, errors.New("no origin given")
	}
	return out, nil
}

func parseDuration(s string, lo, hi time.Duration) (time.Duration, error) {
	return parseBetween(s, time.ParseDuration, "a duration like 1h or 30m", lo, hi)
}

func parseInt(s string, lo, hi int) (int, error) {
	return parseBetween(s, strconv.Atoi, "a whole number", lo, hi)
}

// parseBetween reads s with parse (what is wanted says what it reads) and
// checks that the value is within lo and hi.
func parseBetween[T int | time.Duration](s string, parse func(string) (T, error), wanted string, lo, hi T) (T, error) {
	v, err := parse(s)
	if err != nil {
		return 0, fmt.Errorf("want %s, got %q", wanted, s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("must be between %v and %v, got %v", lo, hi, v)
	}
	return v, nil
}

func parseCIDRs(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			if ip := net.ParseIP(part); ip != nil {
				bits := 128
				if ip.To4() != nil {
					bits = 32
				}
				part = fmt.Sprintf("%s/%d", part, bits)
			}
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// loadSecretKeys returns the signing keys: from PLANNER_SECRET_KEYS, else
// PLANNER_SECRET_KEYS_FILE, else (development only) a key generated once and
// kept beside the database with mode 0600.
func loadSecretKeys(c config, getenv func(string) string, log *slog.Logger) ([][]byte, error) {
	name, raw := "PLANNER_SECRET_KEYS", getenv("PLANNER_SECRET_KEYS")
	if raw == "" && getenv("PLANNER_SECRET_KEYS_FILE") != "" {
		name = "PLANNER_SECRET_KEYS_FILE"
		b, err := os.ReadFile(getenv("PLANNER_SECRET_KEYS_FILE"))
		if err != nil {
			return nil, bad(name, "cannot read the file: %v", errors.Unwrap(err))
		}
		raw = string(b)
	}
	prod := c.web.Env == "production"
	if raw == "" {
		if prod {
			return nil, bad("PLANNER_SECRET_KEYS", "production needs secret keys (set PLANNER_SECRET_KEYS or PLANNER_SECRET_KEYS_FILE)")
		}
		return devSecret(c.databaseURL, log)
	}
	var keys [][]byte
	for _, k := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if weak := weakKey(k); weak != "" {
			if prod {
				return nil, bad(name, "a key is too weak: %s", weak)
			}
			log.Warn("weak secret key; production would refuse it", "variable", name, "why", weak)
		}
		keys = append(keys, []byte(k))
	}
	if len(keys) == 0 {
		return nil, bad(name, "no key given")
	}
	return keys, nil
}

// weakKey says why a key is too weak for production, or "".
func weakKey(k string) string {
	if len(k) < 32 {
		return fmt.Sprintf("under 32 bytes (%d)", len(k))
	}
	distinct := map[byte]bool{}
	for i := 0; i < len(k); i++ {
		distinct[k[i]] = true
	}
	if len(distinct) < 16 {
		return fmt.Sprintf("fewer than 16 distinct bytes (%d)", len(distinct))
	}
	return ""
}

// devSecret reads or creates the development key file: <sqlite file>.secret,
// or planner.secret for PostgreSQL.
func devSecret(databaseURL string, log *slog.Logger) ([][]byte, error) {
	path := "planner.secret"
	if p := models.SQLitePath(databaseURL); p != "" {
		path = p + ".secret"
	} else if !models.IsPostgres(databaseURL) {
		// An in-memory database lives only as long as the process: so does its key.
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		return [][]byte{[]byte(hex.EncodeToString(key))}, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		k := strings.TrimSpace(string(b))
		if k == "" {
			return nil, bad("PLANNER_SECRET_KEYS", "development key file %s is empty", path)
		}
		return [][]byte{[]byte(k)}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, bad("PLANNER_SECRET_KEYS", "cannot read development key file %s: %v", path, errors.Unwrap(err))
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	k := hex.EncodeToString(key)
	if dir := filepath.Dir(path); dir != "" {
		_ = os.MkdirAll(dir, 0o700)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, bad("PLANNER_SECRET_KEYS", "cannot create development key file %s: %v", path, errors.Unwrap(err))
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	log.Warn("PLANNER_SECRET_KEYS not set: generated a development key; set PLANNER_SECRET_KEYS in production", "file", path)
	return [][]byte{[]byte(k)}, nil
}

// urlHasPassword reports whether a PostgreSQL URL carries a password, in
// its user part or as a query parameter (libpq and pgx read
// "?password=..." too). A URL that does not parse is treated as carrying
// one: the flag is refused rather than risk showing it in the process list.
func urlHasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return true
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return true
		}
	}
	for k := range u.Query() {
		if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
			return true
		}
	}
	return false
}
