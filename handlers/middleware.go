package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/planner/planner/models"
	"github.com/planner/planner/models/account"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere
// but https images, and forbids framing.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' https:; frame-ancestors 'none'; " +
	"form-action 'self'; base-uri 'none'; object-src 'none'"

// skipNonPages is the skipper of page-only middleware (session, CSRF): the
// API, assets and probes are not pages.
func skipNonPages(c echo.Context) bool {
	p := c.Request().URL.Path
	return isAPI(p) || strings.HasPrefix(p, "/static/") || p == "/healthz" || p == "/readyz"
}

// recoverPanics turns a panic into a 500 and logs it with its stack and the
// request id.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"err", err, "stack", string(stack))
			return err
		},
	})
}

// apiCORS opens /api, and only /api, to origins: no credentials (the API
// reads bearer tokens, never cookies), the spec's methods and headers.
func apiCORS(origins []string) echo.MiddlewareFunc {
	return middleware.CORSWithConfig(middleware.CORSConfig{
		Skipper:          func(c echo.Context) bool { return !isAPI(c.Request().URL.Path) },
		AllowOrigins:     origins,
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions},
		AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType},
		ExposeHeaders:    []string{"Link", echo.HeaderLocation, "Retry-After"},
		AllowCredentials: false,
		MaxAge:           600,
	})
}

// withAssets tells page rendering the assets version, for cache-busting
// asset URLs.
func withAssets(version string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { c.Set(assetsKey, version); return next(c) }
	}
}

// boundRequestID drops a client's X-Request-ID unless it is short and plain,
// so a hostile value never reaches the logs; RequestID then makes a new one.
func boundRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !plainID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// requestIDs returns a generator of request ids: a random per-process
// prefix and a counter. Ids need to be unique, not unguessable, so this
// spares every request a read of the system's random source.
func requestIDs() func() string {
	prefix := NewID()[:8] + "-"
	var n atomic.Uint64
	return func() string { return prefix + strconv.FormatUint(n.Add(1), 36) }
}

func plainID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// requestLogger logs one line per request: no query string (it may carry
// search terms), no headers, no bodies, so no secrets.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true,
		LogLatency:   true,
		LogRequestID: true,
		LogRemoteIP:  true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch {
			case v.Status == http.StatusServiceUnavailable:
				level = slog.LevelWarn // shedding load by design, not a fault
			case v.Status >= 500:
				level = slog.LevelError
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", v.RequestID),
				slog.String("method", v.Method),
				slog.String("path", loggedPath(v.URIPath)),
				slog.Int("status", v.Status),
				slog.Duration("duration", v.Latency),
				slog.String("ip", v.RemoteIP),
			)
			return nil
		},
	})
}

// loggedPath is the path as the log shows it: a calendar feed's path is
// its secret token, so it is replaced.
func loggedPath(p string) string {
	if strings.HasPrefix(p, "/calendar/") {
		return "/calendar/[token].ics"
	}
	return p
}

// securityHeaders sets the spec's headers on every response, and HSTS when
// the base URL is https (Echo's Secure middleware would only send HSTS when
// it believes the request itself came over TLS).
func securityHeaders(secure bool) echo.MiddlewareFunc {
	sec := middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ContentSecurityPolicy: contentSecurityPolicy,
		ReferrerPolicy:        "same-origin",
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := sec(next)
		return func(c echo.Context) error {
			if secure {
				c.Response().Header().Set(echo.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
			}
			return h(c)
		}
	}
}

// csrf guards every page request that changes state (anything but GET,
// HEAD, OPTIONS and TRACE), by the rule of SPEC "Hardening":
//
//   - Sec-Fetch-Site same-origin or none (a page of ours, or the user
//     typing): accepted. same-site and cross-site (another port of this
//     host, a sibling subdomain, any other site): the 403 page, token or
//     not.
//   - No Sec-Fetch-Site (an older browser): the request must carry, in the
//     _csrf field of its body or the X-CSRF-Token header, the token bound
//     to the caller: an HMAC of the session id when signed in, else of the
//     pre-session id in the _csrf cookie. A page on a sibling origin can
//     plant a _csrf cookie, but the token of a signed-in session stays
//     out of its reach: it names the session id, which lives only inside
//     the signed, HttpOnly session cookie.
//
// Echo's CSRF middleware cannot bind its token (it compares the form with
// the cookie, which is what the planted-cookie attack defeats), so this is
// ours; it keeps that middleware's names: the field, header and cookie,
// and the token in the context under "csrf" for the views.
func csrf(secure bool, signingKeys [][]byte) echo.MiddlewareFunc {
	keys := make([][]byte, len(signingKeys))
	for i, k := range signingKeys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte("planner csrf v1"))
		keys[i] = m.Sum(nil)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skipNonPages(c) {
				return next(c)
			}
			binding := ""
			if p := principalOf(c); p != nil {
				binding = "session:" + p.Claims.SID
			} else if ck, err := c.Cookie(csrfCookie); err == nil && validPreSession(ck.Value) {
				binding = "pre-session:" + ck.Value
			} else {
				pre := NewID()
				setCSRFCookie(c, secure, pre)
				binding = "pre-session:" + pre
			}
			c.Set(csrfContextKey, csrfToken(keys[0], binding))
			c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				return next(c)
			}
			if strings.HasSuffix(c.Path(), "/*") {
				return next(c) // no route: the 404 page, which changes nothing
			}
			switch c.Request().Header.Get(echo.HeaderSecFetchSite) {
			case "same-origin", "none":
				return next(c)
			case "same-site", "cross-site":
				return errCSRF("refused Sec-Fetch-Site " + c.Request().Header.Get(echo.HeaderSecFetchSite))
			}
			sent := c.Request().Header.Get(echo.HeaderXCSRFToken)
			if sent == "" {
				sent = postField(c, "_csrf")
			}
			if sent == "" {
				return errCSRF("no token")
			}
			for _, k := range keys {
				if hmac.Equal([]byte(sent), []byte(csrfToken(k, binding))) {
					return next(c)
				}
			}
			return errCSRF("token not bound to this session")
		}
	}
}

// errCSRF is a refused request: the 403 page, the reason in the log.
func errCSRF(why string) error {
	return echo.NewHTTPError(http.StatusForbidden, msgCSRF).SetInternal(errors.New("csrf: " + why))
}

// csrfToken is the token of binding under key.
func csrfToken(key []byte, binding string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validPreSession accepts only what NewID makes (and bounds what reaches
// the HMAC): a cookie of any other shape is replaced.
func validPreSession(v string) bool {
	if len(v) < 16 || len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// postForm parses the request body's form fields, and only those:
// c.FormValue and c.FormParams merge in the query string, where tokens and
// passwords must never come from (they end up in logs, history and Referer
// headers). A body that is not a form gives no fields.
func postForm(c echo.Context) (url.Values, error) {
	r := c.Request()
	var err error
	if strings.HasPrefix(r.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		err = r.ParseMultipartForm(32 << 10)
	} else {
		err = r.ParseForm()
	}
	if r.PostForm == nil {
		r.PostForm = url.Values{}
	}
	return r.PostForm, err
}

// postField is one field of the body's form ("" when absent).
func postField(c echo.Context, name string) string {
	form, _ := postForm(c)
	return form.Get(name)
}

// The CSRF cookie, its lifetime and the context key of the token. The
// cookie holds the pre-session id; it lives as long as a session may, so a
// form opened days into a session is never refused for its age (a signed-in
// token does not depend on the cookie at all).
const (
	csrfCookie     = "_csrf"
	csrfMaxAge     = int(MaxSessionAge / time.Second)
	csrfContextKey = "csrf"
)

func setCSRFCookie(c echo.Context, secure bool, value string) {
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: value, Path: "/", MaxAge: csrfMaxAge, HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

// rotateCSRF starts a new pre-session whenever who is signed in changes, so
// a token seen before is worthless after (a signed-in token changes with
// the session id by itself). Any _csrf cookie already set on this response
// is dropped first, leaving one unambiguous cookie.
func rotateCSRF(c echo.Context, secure bool) {
	h := c.Response().Header()
	kept := h.Values(echo.HeaderSetCookie)[:0:0]
	for _, v := range h.Values(echo.HeaderSetCookie) {
		if !strings.HasPrefix(v, csrfCookie+"=") {
			kept = append(kept, v)
		}
	}
	h.Del(echo.HeaderSetCookie)
	for _, v := range kept {
		h.Add(echo.HeaderSetCookie, v)
	}
	setCSRFCookie(c, secure, NewID())
}

// ipRateLimit allows perMinute attempts per client (IPv6 per /64) in each
// one-minute window and answers the rest with 429 and Retry-After. The
// counts live in the database (models.RateLimits), so every instance on
// one database shares them. (Echo's RateLimiter keeps its store in memory,
// per instance, and its store interface has no context or retry time.)
func ipRateLimit(limits *models.RateLimits, perMinute int, clock models.Clock) echo.MiddlewareFunc {
	if perMinute <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, wait, err := limits.Hit(c.Request().Context(), account.ClientKey(c.RealIP()), perMinute, clock.Now())
			if err != nil {
				return err
			}
			if !ok {
				c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
				return echo.NewHTTPError(http.StatusTooManyRequests, msgTooMany)
			}
			return next(c)
		}
	}
}

// staticCache lets browsers keep versioned assets for a year and others
// for five minutes, after which the ETag (the assets' version: embedded
// files carry no modification time) makes the check a cheap 304.
func staticCache(version string) echo.MiddlewareFunc {
	etag := `"` + version + `"`
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			if v := c.QueryParam("v"); v != "" && v == version {
				h.Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
			} else {
				h.Set(echo.HeaderCacheControl, "public, max-age=300")
			}
			h.Set("ETag", etag)
			if match := c.Request().Header.Get("If-None-Match"); match == etag || match == "W/"+etag {
				return c.NoContent(http.StatusNotModified)
			}
			return next(c)
		}
	}
}

// headKey marks a HEAD request that routing treats as a GET.
const headKey = "planner.head"

// methodRules makes every GET route answer HEAD, and a known path asked
// with a method it has no route for answer 405 with Allow (Echo v4 would
// answer both with 404, or let a group's catch-all refuse them for another
// reason). pre runs before routing and only turns HEAD into GET; check runs
// after it, gives the handlers the real method back, and looks at what
// Echo's routing chose: a real route costs one map lookup, and only a
// request that found none is probed for the methods its path has.
func methodRules(e *echo.Echo) (pre, check echo.MiddlewareFunc) {
	var once sync.Once
	real := map[string]bool{} // "GET /events/:id"
	load := func() {
		for _, r := range e.Routes() {
			if r.Method != echo.RouteNotFound {
				real[r.Method+" "+r.Path] = true
			}
		}
	}
	pre = func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r := c.Request(); r.Method == http.MethodHead {
				r.Method = http.MethodGet
				c.Set(headKey, true)
			}
			return next(c)
		}
	}
	check = func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			once.Do(load)
			r := c.Request()
			method := r.Method
			if c.Get(headKey) == true {
				r.Method = http.MethodHead // routed as GET; handlers and logs see HEAD
			}
			if method == http.MethodOptions || real[method+" "+c.Path()] {
				return next(c) // OPTIONS: CORS preflights, answered by apiCORS
			}
			var allow []string
			probe := e.NewContext(r, nil)
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
				if e.Router().Find(m, echo.GetPath(r), probe); real[m+" "+probe.Path()] {
					allow = append(allow, m)
					if m == http.MethodGet {
						allow = append(allow, http.MethodHead)
					}
				}
			}
			if len(allow) == 0 {
				return next(c) // unknown path: the 404
			}
			c.Response().Header().Set(echo.HeaderAllow, strings.Join(allow, ", "))
			return echo.NewHTTPError(http.StatusMethodNotAllowed, "Method not allowed")
		}
	}
	return pre, check
}

// authAndCacheHeaders keeps two HTTP rules on every answer, whatever code
// path wrote it: a 401 carries WWW-Authenticate (RFC 9110 §15.5.2: the
// API's Bearer scheme, the pages' sign-in form), and an API answer to a
// caller that sent a bearer token is Cache-Control: no-store, so no cache
// between keeps what was shown to one user.
func authAndCacheHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, res := c.Request(), c.Response()
		api := isAPI(r.URL.Path)
		bearer := api && len(r.Header.Get(echo.HeaderAuthorization)) > 7 &&
			strings.EqualFold(r.Header.Get(echo.HeaderAuthorization)[:7], "bearer ")
		res.Before(func() {
			h := res.Header()
			if res.Status == http.StatusUnauthorized && h.Get(echo.HeaderWWWAuthenticate) == "" {
				if api {
					h.Set(echo.HeaderWWWAuthenticate, "Bearer")
				} else {
					h.Set(echo.HeaderWWWAuthenticate, `Cookie realm="Planner", form-action="/login", cookie-name="`+SessionCookie+`"`)
				}
			}
			if bearer {
				h.Set(echo.HeaderCacheControl, "no-store")
			}
		})
		return next(c)
	}
}

// deadline gives every request's context the configured timeout, so the
// database work a request starts is cancelled when it runs out; what then
// comes back is the 503 "busy" answer with Retry-After (models.ErrTimeout).
func deadline(timeout time.Duration) echo.MiddlewareFunc {
	return middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{
		Timeout: timeout,
		ErrorHandler: func(err error, c echo.Context) error {
			if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, models.ErrTimeout) {
				return fmt.Errorf("%w: %w", models.ErrTimeout, err)
			}
			return err
		},
	})
}
