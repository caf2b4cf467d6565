package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Health answers the load balancer's probes.
type Health struct {
	ping func(ctx context.Context) error
}

// NewHealth returns the probes; ping checks that the database answers.
func NewHealth(ping func(ctx context.Context) error) *Health { return &Health{ping: ping} }

// Live says the process is up.
func (h *Health) Live(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// Ready says the database answers; 503 otherwise, so a load balancer stops
// sending traffic to an instance that cannot serve it.
func (h *Health) Ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable")
	}
	return c.String(http.StatusOK, "ok")
}
