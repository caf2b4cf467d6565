package models

import "time"

// Clock tells the time. The zero Clock is the system clock; tests that need
// a fixed or moving time pass their own function. Every part of Planner that
// asks "what time is it" asks a Clock, so one setting moves them all.
type Clock func() time.Time

// Now returns the clock's time, or the system's for the zero Clock.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
