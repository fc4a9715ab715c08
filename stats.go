package httpcache

import "sync/atomic"

// Stats is a snapshot of a Cache's counters since it was created.
type Stats struct {
	Hits        uint64 // served from cache (including 304s)
	Misses      uint64 // looked up, not served from cache
	Bypasses    uint64 // never looked up (method, Range, policy, …)
	Stores      uint64 // responses written to the store
	StoreErrors uint64 // store operations that failed (the request did not)
	StoreSkips  uint64 // store operations not tried: the circuit was open
	Dropped     uint64 // background writes dropped: too many in flight
	Invalidated uint64 // invalidations after unsafe methods
	Stale       uint64 // stale responses served (stale-while-revalidate, stale-if-error, max-stale)
	Coalesced   uint64 // requests answered from another request's fetch
	Revalidated uint64 // stale responses the handler confirmed with a 304
	Purges      uint64 // purges recorded (Cache.Purge calls that returned nil)
	Waiting     int64  // requests waiting now for another request's fetch
}

// counters are updated with atomics on the request path; Stats reads them.
type counters struct {
	hits, misses, bypasses, stores, storeErrors, invalidated atomic.Uint64
	storeSkips, writesDropped                                atomic.Uint64
	stale, coalesced, revalidated, purges                    atomic.Uint64
	waiting                                                  atomic.Int64
}

// Stats returns the current counters.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:        c.stats.hits.Load(),
		Misses:      c.stats.misses.Load(),
		Bypasses:    c.stats.bypasses.Load(),
		Stores:      c.stats.stores.Load(),
		StoreErrors: c.stats.storeErrors.Load(),
		StoreSkips:  c.stats.storeSkips.Load(),
		Dropped:     c.stats.writesDropped.Load(),
		Invalidated: c.stats.invalidated.Load(),
		Stale:       c.stats.stale.Load(),
		Coalesced:   c.stats.coalesced.Load(),
		Revalidated: c.stats.revalidated.Load(),
		Purges:      c.stats.purges.Load(),
		Waiting:     c.stats.waiting.Load(),
	}
}
