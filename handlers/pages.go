package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/models"
	"github.com/planner/planner/views"
)

// eventLister lists events (*models.Events).
type eventLister interface {
	List(ctx context.Context, q models.EventQuery) (models.EventPage, error)
}

// Pages serves the pages that are neither accounts nor events.
type Pages struct {
	events   eventLister
	timezone *time.Location
	clock    models.Clock
}

// NewPages returns the home page and its like.
func NewPages(cfg Config, events eventLister) *Pages {
	return &Pages{events: events, timezone: cfg.Timezone, clock: cfg.Clock}
}

// homeEvents is how many upcoming events the home page shows.
const homeEvents = 5

// Home renders the landing page with the next upcoming public events.
func (p *Pages) Home(c echo.Context) error {
	list, err := p.events.List(c.Request().Context(), models.EventQuery{
		Order: models.OrderUpcoming, Limit: homeEvents, Now: p.clock.Now(),
	})
	if err != nil {
		return err
	}
	upcoming := make([]views.EventView, 0, len(list.Events))
	for i := range list.Events {
		upcoming = append(upcoming, eventView(&list.Events[i], viewer(c), p.timezone))
	}
	return render(c, http.StatusOK, views.Home(page(c, "Planner"), upcoming))
}
