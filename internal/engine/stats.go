package engine

import (
	"net/http"
	"sync/atomic"
)

// Stats is a snapshot of the counters: httpcache.Stats, which documents
// each field, converts from it.
type Stats struct {
	Hits         uint64
	Misses       uint64
	Uncacheable  uint64
	Bypasses     uint64
	OtherMethods uint64
	Stores       uint64
	StoreErrors  uint64
	StoreSkips   uint64
	Dropped      uint64
	Invalidated  uint64
	Stale        uint64
	Coalesced    uint64
	Revalidated  uint64
	Purges       uint64
	Waiting      int64
	CircuitOpen  bool
}

// counters are updated with atomics on the request path; Stats reads them.
type counters struct {
	hits, misses, uncacheable, bypasses, otherMethods atomic.Uint64
	stores, storeErrors, invalidated                  atomic.Uint64
	storeSkips, writesDropped                         atomic.Uint64
	stale, coalesced, revalidated, purges             atomic.Uint64
	waiting                                           atomic.Int64
}

// Stats returns the current counters.
func (c *Engine) Stats() Stats {
	return Stats{
		Hits:         c.stats.hits.Load(),
		Misses:       c.stats.misses.Load(),
		Uncacheable:  c.stats.uncacheable.Load(),
		Bypasses:     c.stats.bypasses.Load(),
		OtherMethods: c.stats.otherMethods.Load(),
		Stores:       c.stats.stores.Load(),
		StoreErrors:  c.stats.storeErrors.Load(),
		StoreSkips:   c.stats.storeSkips.Load(),
		Dropped:      c.stats.writesDropped.Load(),
		Invalidated:  c.stats.invalidated.Load(),
		Stale:        c.stats.stale.Load(),
		Coalesced:    c.stats.coalesced.Load(),
		Revalidated:  c.stats.revalidated.Load(),
		Purges:       c.stats.purges.Load(),
		Waiting:      c.stats.waiting.Load(),
		CircuitOpen:  c.circuit != nil && c.circuit.CircuitOpen(),
	}
}

// countable reports whether w is a client's: a background refresh writes
// to a discard, and is not counted as a request.
func countable(w http.ResponseWriter) bool {
	_, background := w.(*discard)
	return !background
}
