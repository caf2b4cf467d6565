package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Widget serves the page that explains the embeddable events widget.
type Widget struct {
	cfg Config
}

// Show renders the widget page.
func (w *Widget) Show(c echo.Context) error {
	return c.String(http.StatusOK, "widget")
}

// widgetAsset lets any site load /static/widget.js.
func widgetAsset(next echo.HandlerFunc) echo.HandlerFunc {
	return next
}
