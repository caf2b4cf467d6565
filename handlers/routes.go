package handlers

import (
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/planner/planner/static"
)

// chain is a named list of middleware, like snippetbox's dynamic and
// protected chains: each route below says which chain guards it.
type chain []echo.MiddlewareFunc

// with returns a new chain: ch, then ms.
func (ch chain) with(ms ...echo.MiddlewareFunc) chain { return append(slices.Clip(ch), ms...) }

// routes is the whole URL surface of Planner and who may reach what. Each
// route names its handler (a feature struct's method, in the handler file
// of the same name) and its chain.
func (s *Server) routes(e *echo.Echo, f features, sessions *Sessions) {
	secure := s.cfg.Secure()
	assets := static.Version()

	// Every request: bounded request id and HEAD routed as GET (before
	// routing); WWW-Authenticate on every 401 and no-store for bearer
	// callers, request id, request log, recover, 405 with Allow for a known
	// path's wrong method, the request deadline (PLANNER_REQUEST_TIMEOUT),
	// body limit, security headers, CORS (for /api only, but on every request
	// so that preflights of any /api path are answered), the assets version.
	headAsGet, methodCheck := methodRules(e)
	e.Pre(boundRequestID, headAsGet)
	e.Use(
		authAndCacheHeaders,
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: requestIDs()}),
		requestLogger(s.log),
		recoverPanics(s.log),
		methodCheck,
		deadline(s.cfg.RequestTimeout),
		middleware.BodyLimit(BodyLimit),
		securityHeaders(secure),
		apiCORS(s.cfg.CORSOrigins),
		withAssets(assets),
	)

	// The chains. Pages run inside the "" group below (session cookie and
	// CSRF); the API's chains read bearer tokens only.
	stepUp := recentAuth(s.cfg)                                 // StepUpAge: else 303 to /login/confirm
	adminMFA := requireAdminMFA(s.cfg.AdminMFARequired, secure) // PLANNER_ADMIN_MFA: else 303 to /account/mfa
	var (
		limited        = chain{ipRateLimit(s.rateLimits, s.cfg.IPRate, s.cfg.Clock)} // runs bcrypt or sends mail: per-IP limit (429)
		signedIn       = chain{RequireUser}                                          // else 303 to /login?next=
		signedInBcrypt = signedIn.with(limited...)                                   // signed in, and runs bcrypt
		verified       = signedIn.with(requireVerified(s.cfg.RequireVerified))       // PLANNER_REQUIRE_VERIFIED: else 403
		ownerOrAdmin   = signedIn.with(f.events.OwnerOrAdmin)                        // else 404 (unseen) or 403 page
		recent         = signedIn.with(stepUp)                                       // signed in within StepUpAge, else 303 to /login/confirm
		recentBcrypt   = recent.with(limited...)                                     // and runs bcrypt or checks a code
		admin          = signedIn.with(RequireAdmin, adminMFA, stepUp)               // else 403 page; then enrolled, then recent
		anyCaller      = chain{sessions.bearer(true)}                                // optional token; a bad one is 401
		caller         = chain{sessions.bearer(false)}                               // else 401
		apiVerified    = caller.with(requireVerified(s.cfg.RequireVerified))         // PLANNER_REQUIRE_VERIFIED: else 403
		apiOwner       = caller.with(f.apiEvents.OwnerOrAdmin)                       // else 404 or 403 JSON
	)

	// Probes and assets: no session, no CSRF.
	e.GET("/healthz", f.health.Live)
	e.GET("/readyz", f.health.Ready)
	e.Group("/static", staticCache(assets), widgetAsset).StaticFS("/", static.Files)

	// Pages. The "" group's catch-all also gives unknown addresses the
	// session (so the 404 page shows who is signed in) and CSRF. Guards are
	// attached per route: a Group("") with them would also claim every
	// unknown address for the sign-in redirect instead of the 404 page.
	pages := e.Group("", sessions.PageSession(), csrf(secure, s.cfg.SecretKeys))
	pages.GET("/", f.events.Home)
	pages.GET("/widget", f.widget.Show)

	pages.GET("/signup", f.auth.NewSignup)
	pages.POST("/signup", f.auth.Signup, limited...)
	pages.GET("/login", f.auth.NewLogin)
	pages.POST("/login", f.auth.Login, limited...)
	pages.POST("/logout", f.auth.Logout)
	pages.GET("/login/mfa", f.auth.NewLoginMFA)
	pages.POST("/login/mfa", f.auth.LoginMFA, limited...)
	pages.GET("/login/confirm", f.auth.NewConfirm, signedIn...)
	pages.POST("/login/confirm", f.auth.Confirm, signedInBcrypt...)
	pages.POST("/login/passkey/options", f.passkeys.LoginOptions, limited.with(f.passkeys.enabled)...)
	pages.POST("/login/passkey", f.passkeys.Login, limited.with(f.passkeys.enabled)...)

	pages.GET("/events", f.events.Index)
	pages.GET("/events/new", f.events.New, verified...)
	pages.GET("/events/mine", f.events.Mine, signedIn...)
	pages.POST("/events", f.events.Create, verified...)
	pages.GET("/events/:id", f.events.Show) // and /events/{id}.ics; ?key= opens a shared private event
	pages.POST("/events/:id/rsvp", f.events.RSVP, verified...)
	pages.POST("/events/:id/rsvp/cancel", f.events.CancelRSVP, signedIn...)
	pages.GET("/events/:id/attendees", f.events.Attendees, ownerOrAdmin...)
	pages.GET("/events/:id/attendees.csv", f.events.AttendeesCSV, ownerOrAdmin...)
	pages.POST("/events/:id/share", f.events.Share, ownerOrAdmin...)
	pages.GET("/events/:id/edit", f.events.Edit, ownerOrAdmin...)
	pages.POST("/events/:id/edit", f.events.Update, ownerOrAdmin...)
	pages.GET("/events/:id/delete", f.events.ConfirmDelete, ownerOrAdmin...)
	pages.POST("/events/:id/delete", f.events.Delete, ownerOrAdmin...)

	pages.GET("/account", f.account.Show, signedIn...)
	pages.POST("/account", f.account.UpdateName, signedIn...)
	pages.POST("/account/password", f.account.ChangePassword, recentBcrypt...)
	pages.GET("/account/signout-all", f.account.ConfirmSignOutAll, signedIn...) // asks first, like deleting an event
	pages.POST("/account/signout-all", f.account.SignOutAll, signedIn...)
	pages.POST("/account/timezone", f.account.UpdateTimezone, signedIn...)
	pages.POST("/account/calendar", f.account.RotateCalendar, signedIn...)

	pages.GET("/account/sessions", f.devices.Index, recent...)
	pages.POST("/account/sessions/:id/revoke", f.devices.Revoke, recent...)
	pages.GET("/account/mfa", f.mfa.Show, recent...)
	pages.POST("/account/mfa/setup", f.mfa.Setup, recent...)
	pages.POST("/account/mfa/confirm", f.mfa.Confirm, recentBcrypt...)
	pages.POST("/account/mfa/disable", f.mfa.Disable, recentBcrypt...)
	pages.GET("/account/passkeys", f.passkeys.Index, recent.with(f.passkeys.enabled)...)
	pages.POST("/account/passkeys/options", f.passkeys.RegisterOptions, recent.with(f.passkeys.enabled)...)
	pages.POST("/account/passkeys", f.passkeys.Register, recentBcrypt.with(f.passkeys.enabled)...)
	pages.POST("/account/passkeys/:id/delete", f.passkeys.Delete, recent.with(f.passkeys.enabled)...)
	pages.GET("/account/verify", f.recovery.NewVerify)
	pages.POST("/account/verify", f.recovery.Verify, limited...)
	pages.POST("/account/verify/resend", f.recovery.Resend, signedIn.with(limited...)...) // sends mail: per-IP limit too

	pages.GET("/password/forgot", f.recovery.NewForgot)
	pages.POST("/password/forgot", f.recovery.Forgot, limited...)
	pages.GET("/password/reset", f.recovery.NewReset)
	pages.POST("/password/reset", f.recovery.Reset, limited...)

	// Calendar feeds: the secret token in the path is the credential
	// (calendar apps send no cookies), so no session and no CSRF.
	e.GET("/calendar/:token", f.calendar.Feed)

	// Admin: its own group, so unknown /admin addresses are guarded too.
	adm := pages.Group("/admin", admin...)
	adm.GET("", f.admin.Dashboard)
	adm.GET("/users", f.admin.Users)
	adm.POST("/users/:id/promote", f.admin.Promote)
	adm.POST("/users/:id/demote", f.admin.Demote)
	adm.POST("/users/:id/disable", f.admin.Disable)
	adm.POST("/users/:id/enable", f.admin.Enable)
	adm.POST("/users/:id/revoke", f.admin.Revoke)
	adm.POST("/users/:id/unlock", f.admin.Unlock)
	adm.POST("/users/:id/mfa/reset", f.admin.ResetMFA)
	adm.GET("/users/:id/delete", f.admin.ConfirmDeleteUser)
	adm.POST("/users/:id/delete", f.admin.DeleteUser)
	adm.GET("/events", f.admin.Events)
	adm.GET("/events/:id/delete", f.admin.ConfirmDeleteEvent)
	adm.POST("/events/:id/delete", f.admin.DeleteEvent)
	adm.GET("/audit", f.admin.Audit)

	// JSON API: bearer tokens only (cookies are never read there).
	api := e.Group("/api")
	api.POST("/user/signup", f.api.Signup, limited...)
	api.POST("/user/signin", f.api.Signin, limited...)
	api.POST("/user/signout", f.api.Signout, caller...)
	api.GET("/user/me", f.api.Me, caller...)
	api.POST("/user/password/forgot", f.recovery.APIForgot, limited...)
	api.POST("/user/password/reset", f.recovery.APIReset, limited...)
	api.GET("/user/sessions", f.devices.APIList, caller...)
	api.DELETE("/user/sessions/:id", f.devices.APIDelete, caller...)
	api.GET("/event/", f.apiEvents.List, anyCaller...)
	api.GET("/event", f.apiEvents.List, anyCaller...)
	api.GET("/event/:id", f.apiEvents.Get, anyCaller...)
	api.POST("/event/new", f.apiEvents.Create, apiVerified...)
	api.PUT("/event/:id", f.apiEvents.Update, apiOwner...)
	api.DELETE("/event/:id", f.apiEvents.Delete, apiOwner...)
	api.POST("/event/:id/rsvp", f.apiEvents.RSVP, apiVerified...)
	api.DELETE("/event/:id/rsvp", f.apiEvents.CancelRSVP, caller...)
	api.GET("/event/:id/attendees", f.apiEvents.Attendees, apiOwner...)
	api.GET("/openapi.json", f.docs.OpenAPI)
	api.GET("/docs", f.docs.Page)
}
