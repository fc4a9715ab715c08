package httpcache

import (
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/engine"
)

// Outcomes of a request, as Event.Outcome gives them. Each is what this
// cache's Cache-Status member for the request says, in one word.
const (
	// OutcomeHit: served from a fresh stored response (also the 304s the
	// cache answers to conditional requests). Cache-Status "hit".
	OutcomeHit = engine.OutcomeHit
	// OutcomeStale: served a stale stored response, as max-stale,
	// stale-while-revalidate or stale-if-error allowed (Detail says which).
	OutcomeStale = engine.OutcomeStale
	// OutcomeRevalidated: a stale stored response the handler confirmed
	// with a 304, served renewed (fwd=stale; fwd-status=304).
	OutcomeRevalidated = engine.OutcomeRevalidated
	// OutcomeMiss: answered by the handler (fwd=uri-miss, vary-miss, stale
	// or request); Stored says whether the response was kept, and when it
	// was not, Detail says why (its Cache-Control, its size, the store…).
	OutcomeMiss = engine.OutcomeMiss
	// OutcomeCollapsed: answered from another request's fetch, without a
	// handler call of its own (collapsed).
	OutcomeCollapsed = engine.OutcomeCollapsed
	// OutcomeBypass: never looked up (fwd=bypass); Detail says why: range,
	// upgrade, precondition, policy (Options.Bypass), cookie
	// (Options.BypassCookies), body, host, path, too-long.
	OutcomeBypass = engine.OutcomeBypass
	// OutcomeMethod: a method other than GET and HEAD, passed through to
	// the handler (fwd=method); an unsafe one may invalidate.
	OutcomeMethod = engine.OutcomeMethod
)

// Event describes one request a Cache handled, for Options.OnEvent: what
// an operator needs to count hits by route, see why requests miss, and
// measure the store. Nested layers of one Cache report a request once.
type Event struct {
	// Request is the request, as the Cache received it. Its context
	// carries the request's trace span, if any.
	Request *http.Request
	// Route is the pattern the router matched (Request.Pattern, which
	// net/http's ServeMux and chi set), or "" when the request was not
	// routed before the cache saw it: a cache mounted for a whole mux
	// serves hits without routing them, so use it per route (chi's
	// r.With(c.Page(…)) or a Group's Use) to get routes on hits too.
	Route string
	// Outcome is one of the Outcome constants.
	Outcome string
	// Detail is the Cache-Status detail: why a request bypassed the
	// cache or was not stored, or which rule served it stale. Often "".
	Detail string
	// Stored reports that this request's response was stored.
	Stored bool
	// Key is the request's primary key, as Cache.Keys gives them (a
	// digest of the key material: it holds no URL or header text; with
	// stores/memory, a digest of this process's own); "" when the request
	// was not looked up.
	Key string
	// Size is the body length of the stored response served (hits,
	// stale, collapsed) or of the response stored (misses), in bytes.
	Size int
	// Age is the age of the stored response served.
	Age time.Duration
	// Lookup is how long the request's lookup took, store reads included.
	Lookup time.Duration
	// StoreError is the store's error on the lookup, if it failed (the
	// request was then served by the handler).
	StoreError error
	// Tags are the tags of the response served or stored: the stored
	// entry's own, to be read, never modified.
	Tags []string
	// Duration is how long the Cache spent on the request, the handler
	// included: until the response was written, not until background
	// writes ended.
	Duration time.Duration
}

// StoreOp describes one store operation, for Options.OnStoreOp.
type StoreOp struct {
	// Op is "get", "get-multi" (several keys in one round trip: a Vary
	// index, its variant and the purge clock), "set", "delete" or
	// "purge" (recording a purge: markers and clock, with retries).
	Op string
	// Duration is how long the operation took.
	Duration time.Duration
	// Err is the store's error, or nil. A key not found, or a value
	// larger than the store takes, is not an error.
	Err error
}

// events is o's observers for the engine, nil where o sets none.
func (o *Options) events() (func(engine.Event), func(engine.StoreOp)) {
	var ev func(engine.Event)
	var op func(engine.StoreOp)
	if f := o.OnEvent; f != nil {
		ev = func(e engine.Event) { f(Event(e)) }
	}
	if f := o.OnStoreOp; f != nil {
		op = func(s engine.StoreOp) { f(StoreOp(s)) }
	}
	return ev, op
}
