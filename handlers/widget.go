package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/views"
)

// Widget serves the page that explains the embeddable events widget.
type Widget struct {
	cfg Config
}

// Show renders the widget page: what the widget does, a live preview of it,
// and the snippet to paste. The snippet's origin comes from the configured
// base URL, never from the Host header, so a forged Host cannot end up in
// code that people copy into their sites.
func (w *Widget) Show(c echo.Context) error {
	origin := (&url.URL{Scheme: w.cfg.BaseURL.Scheme, Host: w.cfg.BaseURL.Host}).String()
	return render(c, http.StatusOK, views.Widget(page(c, "Events widget"), views.WidgetPage{
		Origin:  origin,
		Snippet: widgetSnippet(origin),
	}))
}

// widgetSnippet is the code a site owner pastes to show Planner's events.
func widgetSnippet(origin string) string {
	return `<div data-planner-events data-limit="5"></div>` + "\n" +
		`<script src="` + origin + `/static/widget.js" async></script>`
}

// widgetAsset lets any site use the widget: its script and its stylesheet
// are served with Access-Control-Allow-Origin: * and
// Cross-Origin-Resource-Policy: cross-origin, so they load on pages of any
// origin, including pages that isolate themselves with COEP. Other assets
// are for Planner's own pages and get neither. staticCache sets the cache
// lifetime of all of them.
func widgetAsset(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().URL.Path {
		case "/static/widget.js", "/static/widget.css":
			h := c.Response().Header()
			h.Set(echo.HeaderAccessControlAllowOrigin, "*")
			h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		}
		return next(c)
	}
}
