package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is a fake environment for getenv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// with returns a copy of e with more variables set.
func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// strongKey is good enough for production: 44 bytes, many distinct.
const strongKey = "k7Qz2Lp9Xw4Rt8Vn3Bm6Yc1Hd5Jf0Gs-Ua_Ie.Ok+Pl"

// prodEnv is a complete, acceptable production environment.
func prodEnv(t *testing.T) env {
	return env{
		"PLANNER_ENV":          "production",
		"PLANNER_BASE_URL":     "https://planner.example",
		"PLANNER_SECRET_KEYS":  strongKey,
		"PLANNER_DATABASE_URL": filepath.Join(t.TempDir(), "planner.db"),
		"PLANNER_SMTP_URL":     "smtp://planner@mail.planner.example:587",
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(env{}.get, nil)
	if err != nil {
		t.Fatalf("loadConfig with nothing set: %v", err)
	}
	w := c.web
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", c.addr, "localhost:8080"},
		{"database URL", c.databaseURL, "planner.db"},
		{"env", w.Env, "development"},
		{"base URL", w.BaseURL.String(), "http://localhost:8080"},
		{"CORS origins", w.CORSOrigins, []string{"*"}},
		{"token TTL", w.TokenTTL, time.Hour},
		{"session TTL", w.SessionTTL, 12 * time.Hour},
		{"bcrypt cost", w.BcryptCost, 12},
		{"login limit", w.LoginLimit, 5},
		{"IP rate", w.IPRate, 20},
		{"trusted proxies", len(w.TrustedProxies), 0},
		{"timezone", w.Timezone.String(), "UTC"},
		{"log format", c.logFormat, "text"},
		{"log level", c.logLevel, slog.LevelInfo},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("default %s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if err := c.checkProduction(); err != nil {
		t.Errorf("checkProduction in development: %v", err)
	}
}

func TestConfigValues(t *testing.T) {
	e := env{
		"PLANNER_ADDR":            " 0.0.0.0:9000 ",
		"PLANNER_DATABASE_URL":    "postgres://planner:secret@db.internal/planner",
		"PLANNER_BASE_URL":        "https://planner.example:8443/",
		"PLANNER_CORS_ORIGINS":    "https://a.example, http://b.example:8080 ,",
		"PLANNER_TOKEN_TTL":       "30m",
		"PLANNER_SESSION_TTL":     "7h",
		"PLANNER_REQUEST_TIMEOUT": "2500ms",
		"PLANNER_BCRYPT_COST":     "4",
		"PLANNER_LOGIN_LIMIT":     "3",
		"PLANNER_IP_RATE":         "0",
		"PLANNER_HASH_SLOTS":      "3",
		"PLANNER_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,2001:db8::/32",
		"PLANNER_TIMEZONE":        "Europe/Paris",
		"PLANNER_LOG_FORMAT":      "json",
		"PLANNER_LOG_LEVEL":       "DEBUG",
	}
	c, err := loadConfig(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := c.web
	var proxies []string
	for _, n := range w.TrustedProxies {
		proxies = append(proxies, n.String())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"addr", c.addr, "0.0.0.0:9000"},
		{"database URL (a password from the environment is fine)", c.databaseURL, "postgres://planner:secret@db.internal/planner"},
		{"base URL", w.BaseURL.String(), "https://planner.example:8443"},
		{"secure", w.Secure(), true},
		{"CORS origins", w.CORSOrigins, []string{"https://a.example", "http://b.example:8080"}},
		{"token TTL", w.TokenTTL, 30 * time.Minute},
		{"session TTL", w.SessionTTL, 7 * time.Hour},
		{"request timeout", w.RequestTimeout, 2500 * time.Millisecond},
		{"bcrypt cost", w.BcryptCost, 4},
		{"login limit", w.LoginLimit, 3},
		{"IP rate", w.IPRate, 0},
		{"hash slots", w.HashSlots, 3},
		{"trusted proxies", proxies, []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"}},
		{"timezone", w.Timezone.String(), "Europe/Paris"},
		{"log format", c.logFormat, "json"},
		{"log level", c.logLevel, slog.LevelDebug},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestConfigRefusals(t *testing.T) {
	tests := []struct {
		name, variable, value string
		env                   env // extra variables
	}{
		{"addr without port", "PLANNER_ADDR", "localhost", nil},
		{"addr garbage", "PLANNER_ADDR", "::::", nil},
		{"env unknown", "PLANNER_ENV", "staging", nil},
		{"env wrong case", "PLANNER_ENV", "Production", nil},
		{"base URL with a path", "PLANNER_BASE_URL", "https://planner.example/app", nil},
		{"base URL with a query", "PLANNER_BASE_URL", "https://planner.example/?x=1", nil},
		{"base URL with user info", "PLANNER_BASE_URL", "https://me@planner.example", nil},
		{"base URL bad scheme", "PLANNER_BASE_URL", "ftp://planner.example", nil},
		{"base URL no scheme", "PLANNER_BASE_URL", "planner.example", nil},
		{"base URL no host", "PLANNER_BASE_URL", "https://", nil},
		{"CORS origin with a path", "PLANNER_CORS_ORIGINS", "https://a.example/path", nil},
		{"CORS origin not a URL", "PLANNER_CORS_ORIGINS", "a.example", nil},
		{"CORS origin bad scheme", "PLANNER_CORS_ORIGINS", "*,ftp://a.example", nil},
		{"CORS origins empty list", "PLANNER_CORS_ORIGINS", " , ", nil},
		{"token TTL not a duration", "PLANNER_TOKEN_TTL", "1 hour", nil},
		{"token TTL too short", "PLANNER_TOKEN_TTL", "10s", nil},
		{"token TTL too long", "PLANNER_TOKEN_TTL", "25h", nil},
		{"token TTL negative", "PLANNER_TOKEN_TTL", "-1h", nil},
		{"session TTL not a duration", "PLANNER_SESSION_TTL", "12", nil},
		{"session TTL too short", "PLANNER_SESSION_TTL", "1m", nil},
		{"session TTL past 7 days", "PLANNER_SESSION_TTL", "200h", nil},
		{"request timeout not a duration", "PLANNER_REQUEST_TIMEOUT", "soon", nil},
		{"hash slots not a number", "PLANNER_HASH_SLOTS", "many", nil},
		{"hash slots negative", "PLANNER_HASH_SLOTS", "-1", nil},
		{"hash slots too many", "PLANNER_HASH_SLOTS", "5000", nil},
		{"request timeout too short", "PLANNER_REQUEST_TIMEOUT", "10ms", nil},
		{"request timeout too long", "PLANNER_REQUEST_TIMEOUT", "1h", nil},
		{"bcrypt cost 3 in development", "PLANNER_BCRYPT_COST", "3", nil},
		{"bcrypt cost 32 in development", "PLANNER_BCRYPT_COST", "32", nil},
		{"bcrypt cost not a number", "PLANNER_BCRYPT_COST", "twelve", nil},
		{"bcrypt cost 9 in production", "PLANNER_BCRYPT_COST", "9", env{"PLANNER_ENV": "production"}},
		{"bcrypt cost 15 in production", "PLANNER_BCRYPT_COST", "15", env{"PLANNER_ENV": "production"}},
		{"login limit zero", "PLANNER_LOGIN_LIMIT", "0", nil},
		{"login limit negative", "PLANNER_LOGIN_LIMIT", "-5", nil},
		{"login limit not a number", "PLANNER_LOGIN_LIMIT", "5x", nil},
		{"IP rate negative", "PLANNER_IP_RATE", "-1", nil},
		{"IP rate not a number", "PLANNER_IP_RATE", "fast", nil},
		{"trusted proxy bad CIDR", "PLANNER_TRUSTED_PROXIES", "10.0.0.0/33", nil},
		{"trusted proxy not an address", "PLANNER_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal", nil},
		{"timezone unknown", "PLANNER_TIMEZONE", "Mars/Olympus", nil},
		{"timezone Local", "PLANNER_TIMEZONE", "Local", nil},
		{"log format", "PLANNER_LOG_FORMAT", "xml", nil},
		{"log level", "PLANNER_LOG_LEVEL", "loud", nil},
		{"SMTP URL with a password", "PLANNER_SMTP_URL", "smtp://planner:hunter2@mail.example:587", nil},
		{"SMTP URL bad scheme", "PLANNER_SMTP_URL", "http://mail.example", nil},
		{"SMTP URL no host", "PLANNER_SMTP_URL", "smtp://", nil},
		{"SMTP URL bad port", "PLANNER_SMTP_URL", "smtp://mail.example:99999", nil},
		{"SMTP URL with a path", "PLANNER_SMTP_URL", "smtps://mail.example/x", nil},
		{"mail from not an address", "PLANNER_MAIL_FROM", "not an address", nil},
		{"require verified not a boolean", "PLANNER_REQUIRE_VERIFIED", "maybe", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env{}.with(tt.variable, tt.value)
			for k, v := range tt.env {
				e[k] = v
			}
			_, err := loadConfig(e.get, nil)
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.variable, tt.value)
			}
			if !strings.HasPrefix(err.Error(), tt.variable+": ") {
				t.Errorf("error %q does not start with %q", err, tt.variable+": ")
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q is not one line", err)
			}
			// The same value given as a flag is refused the same way.
			_, err = loadConfig(env(tt.env).get, map[string]string{tt.variable: tt.value})
			if err == nil || !strings.HasPrefix(err.Error(), tt.variable+": ") {
				t.Errorf("as a flag: error %v, want one starting with %s", err, tt.variable)
			}
		})
	}
}

func TestConfigBcryptCostRange(t *testing.T) {
	tests := []struct {
		env  string
		cost string
		ok   bool
	}{
		{"development", "4", true},
		{"development", "31", true},
		{"production", "10", true},
		{"production", "14", true},
		{"production", "4", false},
	}
	for _, tt := range tests {
		_, err := loadConfig(env{"PLANNER_ENV": tt.env, "PLANNER_BCRYPT_COST": tt.cost}.get, nil)
		if (err == nil) != tt.ok {
			t.Errorf("%s cost %s: err %v, want ok=%v", tt.env, tt.cost, err, tt.ok)
		}
	}
}

func TestConfigFlagBeatsEnv(t *testing.T) {
	e := env{"PLANNER_ADDR": "127.0.0.1:1111", "PLANNER_LOGIN_LIMIT": "7", "PLANNER_LOG_LEVEL": "warn"}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := addFlags(fs)
	if err := fs.Parse([]string{"--addr", "127.0.0.1:2222", "--login-limit=9"}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(e.get, values())
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:2222" {
		t.Errorf("addr = %q, want the flag's 127.0.0.1:2222", c.addr)
	}
	if c.web.LoginLimit != 9 {
		t.Errorf("login limit = %d, want the flag's 9", c.web.LoginLimit)
	}
	if c.logLevel != slog.LevelWarn {
		t.Errorf("log level = %v, want the environment's warn (no flag given)", c.logLevel)
	}
	// A flag explicitly set to a bad value is not replaced by the environment.
	if _, err := loadConfig(e.get, map[string]string{"PLANNER_ADDR": ""}); err == nil || !strings.HasPrefix(err.Error(), "PLANNER_ADDR") {
		t.Errorf("--addr= with a good environment: %v, want a PLANNER_ADDR error", err)
	}
}

func TestConfigFlagsCoverEverySettingButSecrets(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	addFlags(fs)
	for _, s := range settings {
		if fs.Lookup(s.flag) == nil {
			t.Errorf("no flag for %s", s.env)
		}
	}
	for _, secret := range []string{"secret-keys", "secret-keys-file", "secret"} {
		if fs.Lookup(secret) != nil {
			t.Errorf("flag --%s exists: secrets must not come from flags", secret)
		}
	}
}

func TestConfigDatabaseURLPasswordNotFromFlag(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"postgres://planner:hunter2@db.internal/planner", false},
		{"postgresql://planner:hunter2@db.internal/planner", false},
		{"postgres://planner:@db.internal/planner", false}, // an empty password is still one
		{"postgres://planner@db.internal/planner", true},
		{"postgres://db.internal/planner?sslmode=require", true},
		{"postgres://planner@db.internal/planner?password=hunter2", false}, // pgx reads it from the query too
		{"postgres://planner@db.internal/planner?sslmode=require&PASSWORD=hunter2", false},
		{"postgres://planner@db.internal/planner?sslpassword=hunter2", false},
		{"/tmp/planner.db", true},
	}
	for _, tt := range tests {
		_, err := loadConfig(env{}.get, map[string]string{"PLANNER_DATABASE_URL": tt.url})
		if (err == nil) != tt.ok {
			t.Errorf("--database-url %q: err %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "PLANNER_DATABASE_URL: ") {
				t.Errorf("error %q does not name PLANNER_DATABASE_URL", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		}
		// From the environment the same URL is fine.
		if _, err := loadConfig(env{"PLANNER_DATABASE_URL": tt.url}.get, nil); err != nil {
			t.Errorf("PLANNER_DATABASE_URL=%q from the environment: %v", tt.url, err)
		}
	}
}

func TestProductionAcceptsAStrongSetup(t *testing.T) {
	e := prodEnv(t)
	c, err := loadConfig(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.checkProduction(); err != nil {
		t.Fatal(err)
	}
	keys, err := loadSecretKeys(c, e.get, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || string(keys[0]) != strongKey {
		t.Errorf("keys = %q, want the one given", keys)
	}
	if _, err := os.Stat(e["PLANNER_DATABASE_URL"] + ".secret"); !os.IsNotExist(err) {
		t.Errorf("a development key file was written in production (stat: %v)", err)
	}

	// Rotation: several keys, first signs; commas and spaces around them.
	second := strings.ToUpper(strongKey)
	e = e.with("PLANNER_SECRET_KEYS", " "+strongKey+" , "+second+" ")
	keys, err = loadSecretKeys(c, e.get, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || string(keys[0]) != strongKey || string(keys[1]) != second {
		t.Errorf("keys = %q, want both in order", keys)
	}
}

func TestProductionKeysFromFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	second := strings.ToUpper(strongKey)
	if err := os.WriteFile(file, []byte(strongKey+"\n"+second+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := prodEnv(t)
	delete(e, "PLANNER_SECRET_KEYS")
	e["PLANNER_SECRET_KEYS_FILE"] = file
	c, err := loadConfig(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := loadSecretKeys(c, e.get, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || string(keys[0]) != strongKey || string(keys[1]) != second {
		t.Errorf("keys from file = %q, want both lines in order", keys)
	}

	// PLANNER_SECRET_KEYS wins over the file.
	other := "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp-Oo_Nn.Mm"
	keys, err = loadSecretKeys(c, e.with("PLANNER_SECRET_KEYS", other).get, discardLog())
	if err != nil || len(keys) != 1 || string(keys[0]) != other {
		t.Errorf("keys with both set = %q, %v; want PLANNER_SECRET_KEYS", keys, err)
	}
}

func TestProductionRefusals(t *testing.T) {
	dir := t.TempDir()
	weakFile := filepath.Join(dir, "weak")
	if err := os.WriteFile(weakFile, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      func(e env) env
		variable string
	}{
		{"no secret keys", func(e env) env { delete(e, "PLANNER_SECRET_KEYS"); return e }, "PLANNER_SECRET_KEYS"},
		{"key under 32 bytes", func(e env) env { return e.with("PLANNER_SECRET_KEYS", strongKey[:31]) }, "PLANNER_SECRET_KEYS"},
		{"key with 15 distinct bytes", func(e env) env {
			return e.with("PLANNER_SECRET_KEYS", strings.Repeat("0123456789abcde", 4))
		}, "PLANNER_SECRET_KEYS"},
		{"a weak second key", func(e env) env { return e.with("PLANNER_SECRET_KEYS", strongKey+",weak") }, "PLANNER_SECRET_KEYS"},
		{"only separators", func(e env) env { return e.with("PLANNER_SECRET_KEYS", ",,") }, "PLANNER_SECRET_KEYS"},
		{"weak key in file", func(e env) env {
			delete(e, "PLANNER_SECRET_KEYS")
			return e.with("PLANNER_SECRET_KEYS_FILE", weakFile)
		}, "PLANNER_SECRET_KEYS_FILE"},
		{"empty key file", func(e env) env {
			delete(e, "PLANNER_SECRET_KEYS")
			return e.with("PLANNER_SECRET_KEYS_FILE", emptyFile)
		}, "PLANNER_SECRET_KEYS_FILE"},
		{"missing key file", func(e env) env {
			delete(e, "PLANNER_SECRET_KEYS")
			return e.with("PLANNER_SECRET_KEYS_FILE", filepath.Join(dir, "nope"))
		}, "PLANNER_SECRET_KEYS_FILE"},
		{"http base URL", func(e env) env { return e.with("PLANNER_BASE_URL", "http://planner.example") }, "PLANNER_BASE_URL"},
		{"default base URL", func(e env) env { delete(e, "PLANNER_BASE_URL"); return e }, "PLANNER_BASE_URL"},
		{"no mail server", func(e env) env { delete(e, "PLANNER_SMTP_URL"); return e }, "PLANNER_SMTP_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.env(prodEnv(t))
			err := checkAll(e)
			if err == nil {
				t.Fatal("production accepted it")
			}
			if !strings.HasPrefix(err.Error(), tt.variable+": ") {
				t.Errorf("error %q does not start with %s", err, tt.variable)
			}
			if strings.Contains(err.Error(), strongKey[:31]) {
				t.Errorf("error %q shows the key", err)
			}
			// And through the program itself: exit 1, one line naming the variable.
			code, _, stderr := runCLI(t, e, "", "serve", "--addr", "127.0.0.1:0")
			if code != 1 || !strings.HasPrefix(stderr, "planner: "+tt.variable+": ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("serve: exit %d, stderr %q; want 1 and one line naming %s", code, stderr, tt.variable)
			}
		})
	}
}

// checkAll runs every start-up check serve runs before touching the database.
func checkAll(e env) error {
	c, err := loadConfig(e.get, nil)
	if err != nil {
		return err
	}
	if err := c.checkProduction(); err != nil {
		return err
	}
	_, err = loadSecretKeys(c, e.get, discardLog())
	return err
}

func TestDevelopmentWeakKeyOnlyWarns(t *testing.T) {
	e := env{"PLANNER_SECRET_KEYS": "short", "PLANNER_DATABASE_URL": filepath.Join(t.TempDir(), "p.db")}
	c, err := loadConfig(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	keys, err := loadSecretKeys(c, e.get, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || len(keys) != 1 || string(keys[0]) != "short" {
		t.Fatalf("keys = %q, %v; want the weak key accepted in development", keys, err)
	}
	if !strings.Contains(logs.String(), "weak") || strings.Contains(logs.String(), "short\"") {
		t.Errorf("log = %q, want a warning that does not show the key", logs.String())
	}
}

func TestDevelopmentKeyFile(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "planner.db")
	e := env{"PLANNER_DATABASE_URL": dbPath}
	c, err := loadConfig(e.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	first, err := loadSecretKeys(c, e.get, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || len(first[0]) < 32 {
		t.Fatalf("generated keys = %q, want one key of at least 32 bytes", first)
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no warning about the generated key: %q", logs.String())
	}
	fi, err := os.Stat(dbPath + ".secret")
	if err != nil {
		t.Fatalf("key file not written beside the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(dbPath + ".secret")
	if strings.TrimSpace(string(b)) != string(first[0]) {
		t.Errorf("key file holds %q, want the key in use", b)
	}

	// The next start reuses it: sessions survive a restart.
	second, err := loadSecretKeys(c, e.get, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("second start got key %q, want the first one %q", second, first)
	}

	// A file: URI names the same file.
	c2, err := loadConfig(env{"PLANNER_DATABASE_URL": "file:" + dbPath + "?cache=shared"}.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	third, err := loadSecretKeys(c2, env{}.get, discardLog())
	if err != nil || !reflect.DeepEqual(first, third) {
		t.Errorf("file: URI got key %q (%v), want the same key", third, err)
	}

	// An empty key file is an error, not a silent empty key.
	if err := os.WriteFile(dbPath+".secret", []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSecretKeys(c, e.get, discardLog()); err == nil || !strings.HasPrefix(err.Error(), "PLANNER_SECRET_KEYS") {
		t.Errorf("empty key file: %v, want a PLANNER_SECRET_KEYS error", err)
	}
}

func TestDevelopmentKeyForPostgresAndMemory(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := loadConfig(env{"PLANNER_DATABASE_URL": "postgres://planner@db.internal/planner"}.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := loadSecretKeys(c, env{}.get, discardLog())
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %q, %v", keys, err)
	}
	if fi, err := os.Stat("planner.secret"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("planner.secret for PostgreSQL: %v, %v; want a 0600 file", fi, err)
	}
	again, _ := loadSecretKeys(c, env{}.get, discardLog())
	if !reflect.DeepEqual(keys, again) {
		t.Error("planner.secret not reused")
	}

	c, err = loadConfig(env{"PLANNER_DATABASE_URL": ":memory:"}.get, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err = loadSecretKeys(c, env{}.get, discardLog())
	if err != nil || len(keys) != 1 || len(keys[0]) < 32 {
		t.Fatalf("in-memory keys = %q, %v", keys, err)
	}
	entries, _ := os.ReadDir(".")
	if len(entries) != 1 {
		t.Errorf("files after an in-memory start: %v, want only planner.secret", entries)
	}
}

func TestWeakKey(t *testing.T) {
	tests := []struct {
		key  string
		weak bool
	}{
		{strongKey, false},
		{strongKey[:32], false},
		{strongKey[:31], true},
		{"", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("0123456789abcdef", 2), false}, // exactly 16 distinct
		{strings.Repeat("0123456789abcde", 3), true},   // 15 distinct
	}
	for _, tt := range tests {
		if got := weakKey(tt.key) != ""; got != tt.weak {
			t.Errorf("weakKey(%q) = %q, want weak=%v", tt.key, weakKey(tt.key), tt.weak)
		}
	}
}

// TestSMTPPassword checks that the SMTP password comes from the
// environment or a file only: never from the URL (refused without showing
// it) nor from a flag (there is none).
func TestSMTPPassword(t *testing.T) {
	_, err := loadConfig(env{"PLANNER_SMTP_URL": "smtp://planner:hunter2@mail.example:587"}.get, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("a password in the URL: %v", err)
	}
	if p, err := loadSMTPPassword(env{"PLANNER_SMTP_PASSWORD": "from-env"}.get); err != nil || p != "from-env" {
		t.Errorf("from the environment: %q, %v", p, err)
	}
	file := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := loadSMTPPassword(env{"PLANNER_SMTP_PASSWORD_FILE": file}.get); err != nil || p != "from-file" {
		t.Errorf("from the file: %q, %v", p, err)
	}
	if _, err := loadSMTPPassword(env{"PLANNER_SMTP_PASSWORD_FILE": file + ".missing"}.get); err == nil ||
		!strings.HasPrefix(err.Error(), "PLANNER_SMTP_PASSWORD_FILE: ") {
		t.Errorf("a missing file: %v", err)
	}
	code, _, stderr := runCLI(t, env{}, "", "serve", "--smtp-password", "x")
	if code != 2 {
		t.Errorf("serve --smtp-password: exit %d (%q), want a usage error", code, stderr)
	}
}
