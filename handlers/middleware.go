package handlers

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/planner/planner/models/account"
	"golang.org/x/time/rate"
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
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("duration", v.Latency),
				slog.String("ip", v.RemoteIP),
			)
			return nil
		},
	})
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

// csrf is Echo's CSRF middleware on pages: token in the _csrf field or the
// X-CSRF-Token header, its cookie HttpOnly and SameSite=Strict, and any
// refusal answered with the 403 page.
func csrf(secure bool) echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        skipNonPages,
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     csrfCookie,
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   secure,
		CookieSameSite: http.SameSiteStrictMode,
		CookieMaxAge:   csrfMaxAge,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "Invalid or missing CSRF token").SetInternal(err)
		},
	})
}

// The CSRF cookie's name and lifetime.
const (
	csrfCookie = "_csrf"
	csrfMaxAge = 12 * 3600
)

// rotateCSRF replaces the CSRF token with a fresh one whenever who is
// signed in changes, so a token seen before sign-in is worthless after. The
// middleware's own Set-Cookie for this response is dropped first, leaving
// one unambiguous cookie.
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
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: NewID(), Path: "/", MaxAge: csrfMaxAge, HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

// ipRateLimit allows perMinute attempts per client (IPv6 per /64) and
// answers the rest with 429 and Retry-After. It is per instance.
func ipRateLimit(perMinute int) echo.MiddlewareFunc {
	if perMinute <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	retry := strconv.Itoa(int(math.Ceil(60 / float64(perMinute))))
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate:      rate.Limit(float64(perMinute) / 60),
		Burst:     perMinute,
		ExpiresIn: 3 * time.Minute,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: store,
		IdentifierExtractor: func(c echo.Context) (string, error) {
			return account.ClientKey(c.RealIP()), nil
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retry)
			return echo.NewHTTPError(http.StatusTooManyRequests, msgTooMany)
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return echo.NewHTTPError(http.StatusForbidden, "Could not identify the client").SetInternal(err)
		},
	})
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
