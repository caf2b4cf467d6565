// Command planner-baseline is the ceiling Planner's API is measured
// against by make bench: a bare Echo server with no database, no auth and
// no middleware that only encodes events it was given. It answers
//
//	GET /api/event/     the whole list, encoded on every request
//	GET /api/event/:id  one event of the list, encoded on every request
//	GET /events         the events page as Planner shows it to the bench's
//	                    signed-in user: its first 20 events, with Planner's
//	                    own templ components, rendered on every request
//
// The events are read once at start from the JSON array in --events, which
// the bench driver fetches from a seeded Planner, so both servers encode the
// very same data. It prints "listening on http://ADDR" once it listens.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/planner/planner/handlers"
)

// event is the API's event JSON.
type event = handlers.EventJSON

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "planner-baseline: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("planner-baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	file := fs.String("events", "", "JSON array of events to serve (required)")
	zone := fs.String("timezone", "UTC", "the default zone (Planner's PLANNER_TIMEZONE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	var events []event
	if err := json.Unmarshal(raw, &events); err != nil {
		return fmt.Errorf("decode events: %w", err)
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	e, err := newApp(events, loc)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newApp is the baseline's Echo app, serving events.
func newApp(events []event, zone *time.Location) (*echo.Echo, error) {
	byID := make(map[uint]*event, len(events))
	for i := range events {
		byID[events[i].ID] = &events[i]
	}
	page, err := newEventsPage(slices.Clone(events), zone)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	list := func(c echo.Context) error { return c.JSON(http.StatusOK, events) }
	e.GET("/api/event/", list)
	e.GET("/api/event", list)
	e.GET("/api/event/:id", func(c echo.Context) error {
		id, err := strconv.ParseUint(c.Param("id"), 10, 32)
		ev := byID[uint(id)]
		if err != nil || ev == nil {
			return c.JSON(http.StatusNotFound, map[string]string{"detail": "Event with supplied ID does not exist"})
		}
		return c.JSON(http.StatusOK, ev)
	})
	e.GET("/events", page.serve)
	return e, nil
}
