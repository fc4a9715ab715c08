package httpcacheprom

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedcache/httpcache"
)

// Label values the collector makes itself.
const (
	// RouteUnrouted is the route label of a request the router had not
	// matched when the cache saw it (Event.Route is "").
	RouteUnrouted = "unrouted"
	// Other is the label value standing for any value past a bound: a
	// route past Options.MaxRoutes, a detail or an outcome this version
	// does not know, a store operation it does not know.
	Other = "other"
)

// outcomes are the outcome label's values, in index order; Other last.
var outcomes = [...]string{
	httpcache.OutcomeHit,
	httpcache.OutcomeStale,
	httpcache.OutcomeRevalidated,
	httpcache.OutcomeMiss,
	httpcache.OutcomeCollapsed,
	httpcache.OutcomeBypass,
	httpcache.OutcomeMethod,
	Other,
}

const numOutcomes = len(outcomes)

// outcomeIndex is o's index in outcomes.
func outcomeIndex(o string) int {
	switch o {
	case httpcache.OutcomeHit:
		return 0
	case httpcache.OutcomeStale:
		return 1
	case httpcache.OutcomeRevalidated:
		return 2
	case httpcache.OutcomeMiss:
		return 3
	case httpcache.OutcomeCollapsed:
		return 4
	case httpcache.OutcomeBypass:
		return 5
	case httpcache.OutcomeMethod:
		return 6
	}
	return numOutcomes - 1
}

// servedFromCache reports whether a request of outcome index o was served
// a stored response's body.
func servedFromCache(o int) bool {
	switch outcomes[o] {
	case httpcache.OutcomeHit, httpcache.OutcomeStale, httpcache.OutcomeRevalidated, httpcache.OutcomeCollapsed:
		return true
	}
	return false
}

// details are the Cache-Status details httpcache emits (Event.Detail): the
// detail label takes these and Other, so that its cardinality stays bounded
// whatever a response's Cache-Status says. TestDetailsCoverTheEngine checks
// this list against the core module's source.
var details = [...]string{
	// Why a request bypassed the cache (outcome "bypass").
	"upgrade", "range", "precondition", "policy", "cookie", "body", "host", "path", "too-long",
	// A method that invalidated (outcome "method"); an only-if-cached
	// request with nothing stored (a 504, outcome "miss").
	"invalidated", "only-if-cached",
	// Which rule served a stale response (outcome "stale").
	"max-stale", "stale-while-revalidate", "stale-if-error",
	// Why a response was not stored: its own header or the request's
	// (RFC 9111, internal/rfc9111's reasons) ...
	"status", "no-store", "request-no-store", "private", "no-cache", "authorization",
	"vary-star", "vary-invalid", "set-cookie", "no-freshness", "stale", "ttl-zero",
	"too-large", "head", "cache-control",
	// ... the writer's limits, or the store.
	"event-stream", "trailers", "tags", "store-error", "circuit-open",
	Other,
}

const numDetails = len(details)

// detailIndexes maps a detail to its index in details.
var detailIndexes = func() map[string]int {
	m := make(map[string]int, numDetails)
	for i, d := range details {
		m[d] = i
	}
	return m
}()

// detailIndex is d's index in details, Other's for a value not listed.
func detailIndex(d string) int {
	if i, ok := detailIndexes[d]; ok {
		return i
	}
	return numDetails - 1
}

// operations are the operation label's values (StoreOp.Op), Other last.
var operations = [...]string{"get", "get-multi", "set", "delete", "purge", Other}

const numOperations = len(operations)

func operationIndex(op string) int {
	switch op {
	case "get":
		return 0
	case "get-multi":
		return 1
	case "set":
		return 2
	case "delete":
		return 3
	case "purge":
		return 4
	}
	return numOperations - 1
}

// counterSlot holds a counter child made on first use, so that a series
// appears once something is counted in it and is looked up once. Callers
// call WithLabelValues only when load returns nil: its variadic label
// slice is then built (and allocated) only once per series.
type counterSlot struct {
	p atomic.Pointer[prometheus.Counter]
}

func (s *counterSlot) load() prometheus.Counter {
	if c := s.p.Load(); c != nil {
		return *c
	}
	return nil
}

// store keeps c, the vector's child: racing callers get the same child
// from the vector, so whichever is kept counts for all.
func (s *counterSlot) store(c prometheus.Counter) prometheus.Counter {
	s.p.Store(&c)
	return c
}

// observerSlot is counterSlot for a histogram child.
type observerSlot struct {
	p atomic.Pointer[prometheus.Observer]
}

func (s *observerSlot) load() prometheus.Observer {
	if o := s.p.Load(); o != nil {
		return *o
	}
	return nil
}

func (s *observerSlot) store(o prometheus.Observer) prometheus.Observer {
	s.p.Store(&o)
	return o
}

// routeSeries are one route's requests_total children, by outcome.
type routeSeries struct {
	route    string
	outcomes [numOutcomes]counterSlot
}

// routes maps route labels to their series. Reads take no lock (the map
// is replaced, never modified, when a route is added): a request of a
// route seen before costs a map lookup and allocates nothing.
type routes struct {
	max   int
	m     atomic.Pointer[map[string]*routeSeries]
	mu    sync.Mutex // serializes additions
	other *routeSeries
}

func newRoutes(max int) *routes {
	rs := &routes{max: max, other: &routeSeries{route: Other}}
	m := map[string]*routeSeries{}
	rs.m.Store(&m)
	return rs
}

// series returns route's series: Other's once max routes are known.
func (rs *routes) series(route string) *routeSeries {
	m := *rs.m.Load()
	if s, ok := m[route]; ok {
		return s
	}
	if len(m) >= rs.max {
		return rs.other // no lock taken: overflowing routes stay cheap
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	old := *rs.m.Load()
	if s, ok := old[route]; ok {
		return s
	}
	if len(old) >= rs.max {
		return rs.other
	}
	next := make(map[string]*routeSeries, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	s := &routeSeries{route: route}
	next[route] = s
	rs.m.Store(&next)
	return s
}
