// Package httpcacheprom exports an httpcache Cache's metrics to Prometheus.
//
// A Metrics is a prometheus.Collector for one Cache. Its metrics come from
// two sources, and each metric has exactly one:
//
//   - Events, per request and per store operation: Instrument sets
//     Options.OnEvent and Options.OnStoreOp before httpcache.New. They give
//     requests by outcome and route, why requests bypassed the cache or were
//     not stored, bytes served from cache, request durations, and store
//     operation latency and errors.
//   - The Cache's own counters, read from Cache.Stats when Prometheus
//     scrapes: Watch(cache) after httpcache.New. They give the hit ratio
//     (lookups by result), store writes, writes dropped, store operations
//     skipped by the circuit breaker, invalidations, purges, revalidations,
//     and the gauges of requests waiting for another's fetch and of the
//     circuit's state. WatchMemory adds a memory store's entries, bytes and
//     evictions.
//
// No metric is exported from both sources: Stats.Hits and the requests
// counted with outcome "hit" do not mean the same thing (a stale hit is a
// hit to Stats and has outcome "stale"), so they have different names:
// httpcache_lookups_total{result="hit"} and
// httpcache_requests_total{outcome="hit"}. The README's table lists every
// metric with its source.
//
// Wiring, with chi:
//
//	reg := prometheus.NewRegistry()
//	m := httpcacheprom.New(httpcacheprom.Options{Store: "memory"})
//	opts := httpcache.Options{}
//	m.Instrument(&opts)
//	mem := memory.New(memory.Options{MaxBytes: 256 << 20})
//	cache := httpcache.New(mem, opts)
//	m.Watch(cache)
//	m.WatchMemory(mem)
//	reg.MustRegister(m)
//	r := chi.NewRouter()
//	r.With(cache.Page(time.Minute)).Get("/articles/{id}", articles)
//	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Labels and cardinality
//
// Every series carries a cache label (Options.Cache), so that one registry
// can hold several Caches' metrics; store metrics carry a store label
// (Options.Store) too. The route label is the route's pattern
// (Event.Route: "/articles/{id}", never the path "/articles/42"), "unrouted"
// when the request was not routed before the cache saw it, and "other" past
// Options.MaxRoutes distinct routes: a label per path would make a series
// per URL and exhaust Prometheus' memory. The detail label takes only the
// Cache-Status details httpcache emits (a small fixed set), and "other" for
// anything else.
//
// # Cost
//
// OnEvent and OnStoreOp allocate nothing once a route's and an outcome's
// series exist: the series are resolved once and kept, and the route table
// is a map read without a lock. A hit costs a map lookup, two counter
// increments and two histogram observations more than a hit without hooks
// (see BenchmarkHit).
package httpcacheprom
