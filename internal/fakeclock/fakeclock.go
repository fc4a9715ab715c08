// Package fakeclock is a clock for tests: time moves only when told to.
package fakeclock

import (
	"sync/atomic"
	"time"
)

// Clock is a clock that starts at a given time and moves only by Advance.
// It is safe for concurrent use.
type Clock struct {
	base   time.Time
	offset atomic.Int64 // nanoseconds advanced
}

// New returns a Clock reading start.
func New(start time.Time) *Clock { return &Clock{base: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.base.Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d (back, if d is negative).
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
