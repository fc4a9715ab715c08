package memcached

import (
	"bytes"
	"context"
	"net"
	"sync"
)

// tap counts and records what a client sends, through Client.DialContext:
// dials, writes, reads, and flights (a write that follows a read or starts
// a connection: one request, so one round trip, on that connection).
type tap struct {
	mu       sync.Mutex
	dials    int
	writes   int
	reads    int
	flights  int
	inFlight int // connections that wrote and have not yet read a reply
	maxIn    int // the most connections in flight at once
	sent     bytes.Buffer
	gate     chan struct{} // if not nil, dials wait for it to close
}

// dial is a Client.DialContext.
func (tp *tap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if tp.gate != nil {
		select {
		case <-tp.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tp.mu.Lock()
	tp.dials++
	tp.mu.Unlock()
	return &tapConn{Conn: c, tap: tp}, nil
}

// counts is a snapshot of a tap's counters.
type counts struct{ dials, writes, reads, flights, maxInFlight int }

// take returns the counters and what was sent since the last take, and
// resets them.
func (tp *tap) take() (counts, string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	c := counts{tp.dials, tp.writes, tp.reads, tp.flights, tp.maxIn}
	sent := tp.sent.String()
	tp.dials, tp.writes, tp.reads, tp.flights, tp.maxIn = 0, 0, 0, 0, tp.inFlight
	tp.sent.Reset()
	return c, sent
}

type tapConn struct {
	net.Conn
	tap     *tap
	writing bool // guarded by tap.mu: the last operation was a write
}

func (c *tapConn) Write(p []byte) (int, error) {
	tp := c.tap
	tp.mu.Lock()
	tp.writes++
	if !c.writing {
		c.writing = true
		tp.flights++
		tp.inFlight++
		tp.maxIn = max(tp.maxIn, tp.inFlight)
	}
	tp.sent.Write(p)
	tp.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	tp := c.tap
	tp.mu.Lock()
	tp.reads++
	if c.writing && n > 0 {
		c.writing = false
		tp.inFlight--
	}
	tp.mu.Unlock()
	return n, err
}

func (c *tapConn) Close() error {
	tp := c.tap
	tp.mu.Lock()
	if c.writing {
		c.writing = false
		tp.inFlight--
	}
	tp.mu.Unlock()
	return c.Conn.Close()
}
