package httpcacheprom

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// DefaultMaxRoutes is Options.MaxRoutes' default.
const DefaultMaxRoutes = 200

// DefaultRequestBuckets are Options.RequestBuckets' default, in seconds:
// from 100 µs, where hits from memory lie, to 10 s, where slow handlers
// do. New copies them; changing them later changes nothing made before.
var DefaultRequestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// DefaultStoreBuckets are Options.StoreBuckets' default, in seconds: from
// 50 µs (memory, a Redis on the same host) to 1 s (a store in trouble, or
// past its guard's timeout).
var DefaultStoreBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// Options configure a Metrics.
type Options struct {
	// Cache is the cache label's value on every series: the Cache's name
	// in a registry that holds several Caches' metrics (each then needs a
	// Metrics of its own with its own name; registering two with the same
	// name fails). If empty, "default".
	Cache string

	// Store is the store label's value on the store's series (store
	// operations, writes, the circuit, the memory store): "memory",
	// "redis", "tiered". If empty, "default".
	Store string

	// Route gives a request's route label from its event. It must return
	// one of a small fixed set of values, such as route patterns or names,
	// never a path or anything taken from the URL: each value is a series
	// per outcome, kept until the process ends. Past MaxRoutes values,
	// requests count under route "other". If nil, Event.Route: the pattern
	// the router matched ("/articles/{id}"; net/http's ServeMux and chi
	// set it). A route of "" counts as "unrouted".
	Route func(httpcache.Event) string

	// MaxRoutes bounds the number of route label values, a guard against a
	// Route that returns paths: requests of further routes count under
	// route "other". If zero, DefaultMaxRoutes.
	MaxRoutes int

	// RequestBuckets are the buckets of httpcache_request_duration_seconds,
	// in increasing order. If nil, DefaultRequestBuckets.
	RequestBuckets []float64

	// StoreBuckets are the buckets of
	// httpcache_store_operation_duration_seconds, in increasing order. If
	// nil, DefaultStoreBuckets.
	StoreBuckets []float64
}

// Metrics is a prometheus.Collector of one Cache's metrics: register it
// with a prometheus.Registerer. Its methods are safe for concurrent use.
type Metrics struct {
	route  func(httpcache.Event) string
	routes *routes

	// From events (Instrument).
	requests  *prometheus.CounterVec   // route, outcome
	details   *prometheus.CounterVec   // outcome, detail
	durations *prometheus.HistogramVec // outcome
	served    prometheus.Counter
	stored    prometheus.Counter
	storeOps  *prometheus.HistogramVec // operation
	storeErrs *prometheus.CounterVec   // operation

	detailSlots   [numOutcomes][numDetails]counterSlot
	durationSlots [numOutcomes]observerSlot
	opSlots       [numOperations]observerSlot
	errSlots      [numOperations]counterSlot

	// From Stats and memory.Stats, at scrape time (Watch, WatchMemory).
	cache  atomic.Pointer[httpcache.Cache]
	memory atomic.Pointer[memory.Store]
	stats  statsDescs
}

// New returns a Metrics configured by opts. It panics if a bucket list is
// not increasing or MaxRoutes is negative.
func New(opts Options) *Metrics {
	if opts.Cache == "" {
		opts.Cache = "default"
	}
	if opts.Store == "" {
		opts.Store = "default"
	}
	switch {
	case opts.MaxRoutes < 0:
		panic(fmt.Sprintf("httpcacheprom: negative MaxRoutes %d", opts.MaxRoutes))
	case opts.MaxRoutes == 0:
		opts.MaxRoutes = DefaultMaxRoutes
	}
	reqBuckets := buckets("RequestBuckets", opts.RequestBuckets, DefaultRequestBuckets)
	storeBuckets := buckets("StoreBuckets", opts.StoreBuckets, DefaultStoreBuckets)

	cache := prometheus.Labels{"cache": opts.Cache}
	withStore := prometheus.Labels{"cache": opts.Cache, "store": opts.Store}
	return &Metrics{
		route:  opts.Route,
		routes: newRoutes(opts.MaxRoutes),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "httpcache_requests_total",
			Help:        "Requests the cache handled, by route pattern and outcome (the request's Cache-Status: hit, stale, revalidated, miss, collapsed, bypass, method).",
			ConstLabels: cache,
		}, []string{"route", "outcome"}),
		details: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "httpcache_request_details_total",
			Help:        "Requests whose Cache-Status carries a detail, by outcome and detail: why a request bypassed the cache or its response was not stored, which rule served it stale.",
			ConstLabels: cache,
		}, []string{"outcome", "detail"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "httpcache_request_duration_seconds",
			Help:        "Time the cache spent on a request, the handler included, until the response was written, by outcome.",
			ConstLabels: cache,
			Buckets:     reqBuckets,
		}, []string{"outcome"}),
		served: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "httpcache_served_bytes_total",
			Help:        "Body bytes served from stored responses (outcomes hit, stale, revalidated, collapsed; HEAD requests serve none).",
			ConstLabels: cache,
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "httpcache_stored_bytes_total",
			Help:        "Body bytes of the responses requests stored.",
			ConstLabels: cache,
		}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "httpcache_store_operation_duration_seconds",
			Help:        "Latency of the store operations the cache made (get, get-multi, set, delete, purge), failed ones included, refusals by the open circuit not.",
			ConstLabels: withStore,
			Buckets:     storeBuckets,
		}, []string{"operation"}),
		storeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "httpcache_store_errors_total",
			Help:        "Store operations that failed, by operation (a key not found is no failure; refusals by the open circuit count in httpcache_store_skips_total).",
			ConstLabels: withStore,
		}, []string{"operation"}),
		stats: newStatsDescs(cache, withStore),
	}
}

// buckets validates b, named name, or copies def when b is nil.
func buckets(name string, b, def []float64) []float64 {
	if b == nil {
		b = def
	}
	if len(b) == 0 {
		panic("httpcacheprom: empty " + name)
	}
	for i := 1; i < len(b); i++ {
		if !(b[i] > b[i-1]) {
			panic(fmt.Sprintf("httpcacheprom: %s not increasing: %v", name, b))
		}
	}
	return append([]float64(nil), b...)
}

// Instrument sets o's OnEvent and OnStoreOp to m's, before httpcache.New.
// Hooks o already has are kept: each is called first, then m's.
func (m *Metrics) Instrument(o *httpcache.Options) {
	if prev := o.OnEvent; prev != nil {
		o.OnEvent = func(ev httpcache.Event) { prev(ev); m.OnEvent(ev) }
	} else {
		o.OnEvent = m.OnEvent
	}
	if prev := o.OnStoreOp; prev != nil {
		o.OnStoreOp = func(op httpcache.StoreOp) { prev(op); m.OnStoreOp(op) }
	} else {
		o.OnStoreOp = m.OnStoreOp
	}
}

// OnEvent counts a request's event: an httpcache.Options.OnEvent.
// It allocates nothing once the request's series exist.
func (m *Metrics) OnEvent(ev httpcache.Event) {
	o := outcomeIndex(ev.Outcome)
	outcome := outcomes[o]
	route := ev.Route
	if m.route != nil {
		route = m.route(ev)
	}
	if route == "" {
		route = RouteUnrouted
	}
	rs := m.routes.series(route)

	// Each series is resolved once; the label slices of WithLabelValues
	// are built (and allocated) only then.
	c := rs.outcomes[o].load()
	if c == nil {
		c = rs.outcomes[o].store(m.requests.WithLabelValues(rs.route, outcome))
	}
	c.Inc()
	h := m.durationSlots[o].load()
	if h == nil {
		h = m.durationSlots[o].store(m.durations.WithLabelValues(outcome))
	}
	h.Observe(ev.Duration.Seconds())
	if ev.Detail != "" {
		d := detailIndex(ev.Detail)
		slot := &m.detailSlots[o][d]
		c := slot.load()
		if c == nil {
			c = slot.store(m.details.WithLabelValues(outcome, details[d]))
		}
		c.Inc()
	}
	if ev.Size > 0 {
		if servedFromCache(o) && (ev.Request == nil || ev.Request.Method != http.MethodHead) {
			m.served.Add(float64(ev.Size))
		}
		if ev.Stored {
			m.stored.Add(float64(ev.Size))
		}
	}
}

// OnStoreOp counts a store operation: an httpcache.Options.OnStoreOp. An
// operation the open circuit refused (store.ErrCircuitOpen) never reached
// the store and is not counted here: Stats counts it, as
// httpcache_store_skips_total.
func (m *Metrics) OnStoreOp(op httpcache.StoreOp) {
	if op.Err != nil && errors.Is(op.Err, store.ErrCircuitOpen) {
		return
	}
	i := operationIndex(op.Op)
	h := m.opSlots[i].load()
	if h == nil {
		h = m.opSlots[i].store(m.storeOps.WithLabelValues(operations[i]))
	}
	h.Observe(op.Duration.Seconds())
	if op.Err != nil {
		c := m.errSlots[i].load()
		if c == nil {
			c = m.errSlots[i].store(m.storeErrs.WithLabelValues(operations[i]))
		}
		c.Inc()
	}
}

// Describe sends the descriptors of every metric m may collect: a
// prometheus.Collector method.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.details.Describe(ch)
	m.durations.Describe(ch)
	m.served.Describe(ch)
	m.stored.Describe(ch)
	m.storeOps.Describe(ch)
	m.storeErrs.Describe(ch)
	m.stats.describe(ch)
}

// Collect sends the current metrics, reading the watched Cache's Stats and
// memory store's counters now: a prometheus.Collector method.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.details.Collect(ch)
	m.durations.Collect(ch)
	m.served.Collect(ch)
	m.stored.Collect(ch)
	m.storeOps.Collect(ch)
	m.storeErrs.Collect(ch)
	if c := m.cache.Load(); c != nil {
		m.stats.collectCache(ch, c.Stats())
	}
	if s := m.memory.Load(); s != nil {
		m.stats.collectMemory(ch, s.Stats())
	}
}

// Watch makes m export c's Stats (the metrics the README lists as from
// Stats), read each time m is collected. Call it after httpcache.New with
// the Cache that Instrument's options built; a later call replaces c.
func (m *Metrics) Watch(c *httpcache.Cache) { m.cache.Store(c) }

// WatchMemory makes m export s's entries, bytes and evictions, read each
// time m is collected: the Cache's memory store, or the memory tier of its
// tiered store. A later call replaces s.
func (m *Metrics) WatchMemory(s *memory.Store) { m.memory.Store(s) }

var _ prometheus.Collector = (*Metrics)(nil)
