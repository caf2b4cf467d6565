package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/planner/planner/static"
)

// routes is the whole URL surface of Planner and who may reach what.
//
// Every request: bounded request id, recover, request log, body limit,
// security headers. Pages additionally: the session cookie read by echo-jwt
// (anonymous when absent) and CSRF on every unsafe method. Protected pages
// add RequireUser (303 to /login?next=); admin pages add RequireAdmin (403).
func (s *Server) routes(e *echo.Echo, f features, sessions *Sessions) {
	assets := static.Version()
	e.Pre(boundRequestID)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: requestIDs()}),
		requestLogger(s.log),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisableStackAll: true,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				s.log.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
					"err", err, "stack", string(stack))
				return err
			},
		}),
		middleware.BodyLimit(BodyLimit),
		securityHeaders(s.cfg.Secure()),
		// CORS opens /api (and only /api) to the configured origins. It runs
		// for every request, not in the /api group, so that preflights of
		// any /api path are answered.
		middleware.CORSWithConfig(middleware.CORSConfig{
			Skipper:          func(c echo.Context) bool { return !isAPI(c.Request().URL.Path) },
			AllowOrigins:     s.cfg.CORSOrigins,
			AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions},
			AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType},
			ExposeHeaders:    []string{"Link", echo.HeaderLocation, "Retry-After"},
			AllowCredentials: false,
			MaxAge:           600,
		}),
		func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { c.Set(assetsKey, assets); return next(c) }
		},
	)

	// Probes and assets: no session, no CSRF.
	e.GET("/healthz", f.health.Live)
	e.GET("/readyz", f.health.Ready)
	e.Group("/static", staticCache(assets), widgetAsset).StaticFS("/", static.Files)

	// Pages. The "" group's catch-all also gives unknown addresses the
	// session (so the 404 page shows who is signed in) and CSRF.
	pages := e.Group("", sessions.PageSession(), csrf(s.cfg.Secure()))
	pages.GET("/", f.pages.Home)
	pages.GET("/widget", f.widget.Show)

	limited := ipRateLimit(s.cfg.IPRate)
	pages.GET("/signup", f.auth.NewSignup)
	pages.POST("/signup", f.auth.Signup, limited)
	pages.GET("/login", f.auth.NewLogin)
	pages.POST("/login", f.auth.Login, limited)
	pages.POST("/logout", f.auth.Logout)

	// JSON API: bearer tokens only (cookies are never read there), CORS
	// above. Reads take an optional token; writes require one.
	api := e.Group("/api")
	optional, required := sessions.bearer(true), sessions.bearer(false)
	api.POST("/user/signup", f.api.Signup, limited)
	api.POST("/user/signin", f.api.Signin, limited)
	api.POST("/user/signout", f.api.Signout, required)
	api.GET("/user/me", f.api.Me, required)
	api.GET("/event/", f.apiEvents.List, optional)
	api.GET("/event", f.apiEvents.List, optional)
	api.GET("/event/:id", f.apiEvents.Get, optional)
	api.POST("/event/new", f.apiEvents.Create, required)
	api.PUT("/event/:id", f.apiEvents.Update, required)
	api.DELETE("/event/:id", f.apiEvents.Delete, required)
	api.GET("/openapi.json", f.docs.OpenAPI)
	api.GET("/docs", f.docs.Page)

	// Signed-in pages (events/new and the event changes, the account).
	// RequireUser is attached per route: a Group("") with
	// middleware would also claim every unknown address for the sign-in
	// redirect instead of the 404 page.
	pages.GET("/events", f.events.Index)
	pages.GET("/events/new", f.events.New, RequireUser)
	pages.POST("/events", f.events.Create, RequireUser)
	pages.GET("/events/:id", f.events.Show)
	pages.GET("/events/:id/edit", f.events.Edit, RequireUser)
	pages.POST("/events/:id/edit", f.events.Update, RequireUser)
	pages.GET("/events/:id/delete", f.events.ConfirmDelete, RequireUser)
	pages.POST("/events/:id/delete", f.events.Delete, RequireUser)

	pages.GET("/account", f.account.Show, RequireUser)
	pages.POST("/account", f.account.UpdateName, RequireUser)
	pages.POST("/account/password", f.account.ChangePassword, RequireUser)
	pages.POST("/account/signout-all", f.account.SignOutAll, RequireUser)

	// Admin: signed in (303 to sign-in otherwise) and role admin (403
	// otherwise). Its own group, so unknown /admin addresses are guarded too.
	admin := pages.Group("/admin", RequireUser, RequireAdmin)
	admin.GET("", f.admin.Dashboard)
	admin.GET("/users", f.admin.Users)
	admin.POST("/users/:id/promote", f.admin.Promote)
	admin.POST("/users/:id/demote", f.admin.Demote)
	admin.POST("/users/:id/disable", f.admin.Disable)
	admin.POST("/users/:id/enable", f.admin.Enable)
	admin.POST("/users/:id/revoke", f.admin.Revoke)
	admin.POST("/users/:id/unlock", f.admin.Unlock)
	admin.GET("/users/:id/delete", f.admin.ConfirmDeleteUser)
	admin.POST("/users/:id/delete", f.admin.DeleteUser)
	admin.GET("/events", f.admin.Events)
	admin.POST("/events/:id/delete", f.admin.DeleteEvent)
	admin.GET("/audit", f.admin.Audit)
}
