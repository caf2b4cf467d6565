package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/views"
)

// Pages serves the pages that are neither accounts nor events.
type Pages struct {
	cfg Config
}

// Home renders the landing page.
func (p *Pages) Home(c echo.Context) error {
	return render(c, http.StatusOK, views.Home(page(c, "Planner")))
}

// NotFound is the catch-all for unknown addresses.
func NotFound(c echo.Context) error {
	return echo.ErrNotFound
}
