package httpcache

// Stats is a snapshot of a Cache's counters since it was created.
//
// Every GET or HEAD request the Cache looks up counts once, in Hits, Misses
// or Uncacheable: Hits/(Hits+Misses) is the share of what could be served
// from the cache that was, and Uncacheable is what never could be, as the
// application answers it. Requests never looked up count in Bypasses or
// OtherMethods. Stale, Coalesced and Revalidated say more of some hits and
// misses. Background refreshes (stale-while-revalidate) are not requests:
// they count in none of these but Revalidated. Nested layers of one Cache
// count a request once.
type Stats struct {
	// Hits counts requests answered from a stored response without
	// calling the handler for them: fresh, or stale as allowed
	// (max-stale, stale-while-revalidate: also in Stale), including the
	// 304s the cache answers to a client's conditional request.
	Hits uint64
	// Misses counts requests that found nothing usable stored as it was,
	// answered with a response that may be stored: fetched from the
	// handler (and stored, unless the store failed or it turned out
	// larger than the store takes), served from another request's fetch
	// (also in Coalesced), a stale response the handler confirmed with a
	// 304 (also in Revalidated) or that stood in for its error
	// (stale-if-error, also in Stale). Also the 504s to only-if-cached
	// requests, and requests whose client went away while waiting for
	// another's fetch. A HEAD counts as a miss when a GET's response
	// would have been stored.
	Misses uint64
	// Uncacheable counts requests that were looked up, answered by the
	// handler, and whose response may not be stored: by the policy
	// (private, no-store, Set-Cookie, no freshness, a status not
	// understood, …) or by the writer (a body over MaxBodySize, a stream
	// past MaxStreamDuration, text/event-stream, trailers, too many
	// tags, a hijacked connection, a failed write, a panic).
	Uncacheable uint64
	// Bypasses counts GET and HEAD requests never looked up: Range,
	// Upgrade, preconditions, content, an unusual Host, Options.Bypass,
	// Options.BypassCookies (Cache-Status fwd=bypass).
	Bypasses uint64
	// OtherMethods counts requests with a method other than GET and
	// HEAD, passed through to the handler (Cache-Status fwd=method); the
	// unsafe ones may invalidate (Invalidated).
	OtherMethods uint64
	// Stores counts entries written to the store: a response that varies
	// writes its URL's Vary index too, when that is new or renewed.
	Stores uint64
	// StoreErrors counts store operations that failed (the request did
	// not).
	StoreErrors uint64
	// StoreSkips counts store operations not tried: the circuit was open.
	StoreSkips uint64
	// Dropped counts background writes dropped: too many were in flight
	// (Options.MaxPendingWrites).
	Dropped uint64
	// Invalidated counts invalidations after unsafe methods.
	Invalidated uint64
	// Stale counts stale responses served: under max-stale,
	// stale-while-revalidate (both hits) or stale-if-error (a miss).
	Stale uint64
	// Coalesced counts requests answered from another request's fetch
	// (misses that cost no handler call).
	Coalesced uint64
	// Revalidated counts stale responses the handler confirmed with a
	// 304, for a request (a miss) or a background refresh.
	Revalidated uint64
	// Purges counts purges recorded (Cache.Purge calls that returned
	// nil).
	Purges uint64
	// Waiting is how many requests wait now for another request's fetch.
	Waiting int64
	// CircuitOpen reports that the store's circuit breaker is open now:
	// the store kept failing, and requests go to the handler without
	// touching it until a probe finds it answering (Options.Guard).
	CircuitOpen bool
}

// Stats returns the current counters.
func (c *Cache) Stats() Stats { return Stats(c.e.Stats()) }
