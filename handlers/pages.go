package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// Pages serves the pages that are neither accounts nor events.
type Pages struct {
	cfg    Config
	events *Events
}

// homeEvents is how many upcoming events the home page shows.
const homeEvents = 5

// Home renders the landing page with the next upcoming public events.
func (p *Pages) Home(c echo.Context) error {
	list, err := p.events.events.List(c.Request().Context(), models.EventQuery{
		Order: models.OrderUpcoming, Limit: homeEvents, Now: p.events.clock(),
	})
	if err != nil {
		return err
	}
	upcoming := make([]views.EventView, 0, len(list.Events))
	for i := range list.Events {
		upcoming = append(upcoming, p.events.view(&list.Events[i], viewer(c)))
	}
	return render(c, http.StatusOK, views.Home(page(c, "Planner"), upcoming))
}

// NotFound is the catch-all for unknown addresses.
func NotFound(c echo.Context) error {
	return echo.ErrNotFound
}
