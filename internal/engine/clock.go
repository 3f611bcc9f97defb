package engine

import (
	"sync"
	"time"
)

// clock is the engine's time. Deadlines are stored as wall-clock instants
// (they must survive a restart), but the waits towards them must not stretch
// when the wall clock is stepped back: a step back of an hour would
// otherwise make every removal an hour late. So the clock follows the wall
// clock forward, and when the wall clock goes back it keeps counting from
// the last instant it trusted by monotonic time. A step forward is taken at
// once: it can only make a removal early, never late.
type clock struct {
	wall func() time.Time
	mono func() time.Duration

	mu         sync.Mutex
	anchorWall time.Time
	anchorMono time.Duration
}

func newClock(wall func() time.Time, mono func() time.Duration) *clock {
	c := &clock{wall: wall, mono: mono}
	c.anchorWall, c.anchorMono = wall(), mono()
	return c
}

// monotonic is the default monotonic source: time since the process
// started, read from Go's monotonic clock reading.
func monotonic() func() time.Duration {
	origin := time.Now()
	return func() time.Duration { return time.Since(origin) }
}

// Now never goes back, and never runs slower than monotonic time.
func (c *clock) Now() time.Time {
	w, m := c.wall(), c.mono()
	c.mu.Lock()
	defer c.mu.Unlock()
	est := c.anchorWall.Add(m - c.anchorMono)
	if !w.Before(est) {
		c.anchorWall, c.anchorMono = w, m
		return w
	}
	return est
}
