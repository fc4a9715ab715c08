package engine

import (
	"sync"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
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
