package engine

import (
	"context"
	"sync"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// flights collapse concurrent requests for one key into one handler call:
// the first (the leader) runs the handler, the others wait for its result.
//
// golang.org/x/sync/singleflight runs the shared function on a goroutine of
// its own, and turns a panic in it into a crash of the program. Here the
// leader's handler must run on the leader's own request goroutine: it writes
// through to the leader's client as it goes, reaches Flush and Hijack through
// the leader's ResponseWriter, and a panic must reach net/http's recovery
// like any other. So the leader runs the handler itself and publishes what
// it stored; the waiters only wait, each bounded by its own request context.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one collapsed fetch of a key.
type flight struct {
	// done is closed when the leader has its result. It is made only
	// when a request first waits (see flights.wait): most flights have
	// nobody waiting. done and landed are under flights.mu.
	done   chan struct{}
	landed bool

	// Set by the leader before done is closed; read-only afterwards.
	result *entry.Entry // what the leader stored (decoded), or nil
	found  bool         // result was found in the store, not fetched
	lost   bool         // no result, for reasons of the leader's own request
	// cookie: lost because the leader's Cookie kept its response from
	// the store: a waiter with a cookie of its own would be refused as
	// well, and fetches for itself at once instead of leading in turn.
	cookie bool
	stale  *entry.Entry // a stale entry the leader served in place of an error
	status string       // the Cache-Status value it was served with
	start  fetchStart   // what the leader knew of purges when it began
	invGen uint64       // the Cache's invalidations of the key before then

	// checks ask the store once, for all the waiters, whether result
	// (0) or stale (1) has been purged since.
	checks purgeChecks
}

// fetchStart is what a fetch knew of purges when it began: what was
// fetched after may be served unless a purge has finished since.
type fetchStart struct {
	purged  uint64 // how many purges the Cache had finished
	seq     uint64 // the purge clock, read before the fetch,
	seqRead bool   // if it could be read
	at      int64  // when the fetch began at the latest (Unix µs; 0 unknown)
}

// begin notes, for the waiters, what the leader knew when its fetch began
// at now: lk, its lookup, and the time. They read it only once f lands.
func (f *flight) begin(lk *lookup, now time.Time) {
	f.start = lk.start()
	f.start.at = now.UnixMicro()
	f.invGen = lk.invGen
}

// lead makes the caller the leader of key's flight, or returns the flight
// in progress (leader false) for the caller to wait on.
func (fs *flights) lead(key string) (f *flight, leader bool) { return fs.leadAfter(key, nil) }

// leadAfter makes the caller the leader of a new flight of key in place of
// old (if not nil), whose result it could not use; or returns the flight
// in progress that is not old, for the caller to wait on. (old's leader
// forgets only old.)
func (fs *flights) leadAfter(key string, old *flight) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok && f != old {
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f = &flight{}
	fs.m[key] = f
	return f, true
}

// wait returns a channel closed once f's leader has its result (see
// landed).
func (fs *flights) wait(f *flight) <-chan struct{} {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.done == nil {
		if f.landed {
			return closedChan
		}
		f.done = make(chan struct{})
	}
	return f.done
}

// landed wakes the requests waiting for f: its leader has set its result.
func (fs *flights) landed(f *flight) {
	fs.mu.Lock()
	f.landed = true
	if f.done != nil {
		close(f.done)
	}
	fs.mu.Unlock()
}

// closedChan is a closed channel, for waiting on what has happened.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// find returns key's flight in progress, or nil: for a request that may
// be served from it but may not lead (see Cache.mayLead).
func (fs *flights) find(key string) *flight {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.m[key]
}

// forget removes key's flight, if it is still f.
func (fs *flights) forget(key string, f *flight) {
	fs.mu.Lock()
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	fs.mu.Unlock()
}

// leadership is a fetch's hold on its key's flight. A nested layer of the
// same Cache that takes the request over takes the flight with it; a
// wrapper such as http.TimeoutHandler may run that layer on another
// goroutine, hence the lock.
type leadership struct {
	mu      sync.Mutex
	f       *flight
	key     string
	result  *entry.Entry // what was stored, for the waiters
	found   bool         // result was found in the store, not fetched
	writing bool         // a write is under way; it forgets the flight when done
	unlease func()       // gives up the cross-process lease, if one was taken

	// refused is set when the response may not be shared for reasons of
	// its own (private, too large, ...): the waiters then fetch each for
	// itself. A flight that lands with no result and not refused (a
	// panic, the leader's client gone) was lost: its waiters elect
	// another leader.
	refused bool
	cookie  bool            // refused for the leader's Cookie (see flight.cookie)
	ctx     context.Context // the leader's request's, if any
}

// take hands the flight to a nested layer.
func (l *leadership) take() *leadership {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := &leadership{f: l.f, key: l.key, unlease: l.unlease, ctx: l.ctx}
	l.f, l.unlease = nil, nil
	return t
}

// land publishes the result and wakes the waiters, unless the flight was
// handed on. It runs on panics too: the flight is then lost, and its
// waiters elect another leader.
func (l *leadership) land(c *Engine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.f
	if f == nil {
		return
	}
	l.f = nil // landed once
	f.result, f.found = l.result, l.found
	gone := l.ctx != nil && l.ctx.Err() != nil
	f.lost = f.result == nil && f.stale == nil && (!l.refused || gone)
	f.cookie = f.lost && l.cookie
	c.flights.landed(f)
	if !l.writing {
		l.finish(c, l.key, f)
	}
}

// landRefused lands the flight with no result to share, for reasons of
// the response itself unless the leader's client has gone: its waiters
// then fetch each for itself.
func (l *leadership) landRefused(c *Engine) { l.landNotShared(c, "") }

// landNotShared lands the flight with no result to share, why being the
// policy's reason. A reason of the leader's own request (requestBound:
// its cookie, credentials) loses the flight, and one waiter leads in its
// place — but for its cookie, the waiters with cookies of their own fetch
// each for itself (see flight.cookie); any other refuses it, and each
// waiter fetches for itself.
func (l *leadership) landNotShared(c *Engine, why string) {
	l.mu.Lock()
	l.refused = !requestBound(why)
	l.cookie = why == rfc9111.ReasonCookie
	l.mu.Unlock()
	l.land(c)
}

// finish forgets flight f of key, once its result is stored (or will not
// be), and gives up the lease.
func (l *leadership) finish(c *Engine, key string, f *flight) {
	c.flights.forget(key, f)
	l.release()
}

func (l *leadership) release() {
	if l.unlease != nil {
		l.unlease()
	}
}

// onDone is what to do once the writes of m's result are done: the flight
// stays findable until then. It is kept in m (no closure to allocate).
func (l *leadership) onDone(c *Engine, m *miss) *writesDone {
	l.mu.Lock()
	defer l.mu.Unlock()
	m.done = writesDone{}
	if l.f != nil {
		m.done = writesDone{l: l, c: c, key: l.key, f: l.f}
	}
	return &m.done
}

// writesDone finishes flight f of key for leadership l once the writes of
// its result are done (see leadership.finish); nothing when l is nil.
type writesDone struct {
	l   *leadership
	c   *Engine
	key string
	f   *flight
}

// run is called once the writes are done, or will not be made.
func (d *writesDone) run() {
	if d.l != nil {
		d.l.finish(d.c, d.key, d.f)
	}
}
