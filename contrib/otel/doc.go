// Package httpcacheotel reports an httpcache.Cache to OpenTelemetry: its
// requests, store operations and counters as metrics, and each request's
// cache outcome as attributes of the request's span.
//
// Wiring, before the Cache is made:
//
//	o, err := httpcacheotel.New(httpcacheotel.Options{StoreName: "redis"})
//	if err != nil { … }
//	opts := httpcache.Options{}
//	o.Instrument(&opts) // sets OnEvent and OnStoreOp, keeping any already set
//	cache := httpcache.New(st, opts)
//	reg, err := o.Watch(cache) // the counters of Cache.Stats, read at collection
//	defer reg.Unregister()
//
// # Metrics
//
// Per request (Options.OnEvent): httpcache.requests, by httpcache.outcome,
// httpcache.detail and http.route; httpcache.request.duration and
// httpcache.lookup.duration (s); httpcache.served.size and
// httpcache.stored.size (By, body bytes). Per store operation
// (Options.OnStoreOp): httpcache.store.operation.duration (s) and
// httpcache.store.errors, by httpcache.store (Options.StoreName),
// httpcache.store.operation and, on failure, error.type. Read from
// Cache.Stats when a reader collects (Watch): httpcache.waiting_requests,
// httpcache.store.circuit.open, httpcache.coalesced_requests,
// httpcache.stale_responses, httpcache.revalidations,
// httpcache.invalidations, httpcache.purges, httpcache.store.writes,
// httpcache.store.skips and httpcache.store.dropped_writes; from a
// memory store's Stats (WatchMemory): httpcache.memory.entries,
// httpcache.memory.size and httpcache.memory.evictions. The README has the
// table with units and attributes.
//
// A request's measurements are recorded with its context, so an SDK that
// keeps exemplars links them to the request's trace.
//
// # Traces
//
// The Observer creates no spans by default: the application's HTTP
// instrumentation (otelhttp, or a router's) makes the server span, and the
// Observer sets on it, if it is recording, httpcache.outcome,
// httpcache.detail, httpcache.stored, httpcache.key (the key digest),
// httpcache.size, httpcache.age and httpcache.lookup.duration (both in
// seconds), httpcache.tags, and adds an httpcache.store.error event when the
// store failed the request's lookup. The span's status is left alone: the
// request was still served. Options.LookupSpans adds a child span for each
// lookup.
//
// # Cost
//
// With no recording span, an event costs the metric recordings only (five on
// a hit, the store read's included): the attribute sets of each outcome,
// detail and route are built once and kept (up to a bound), so a hit
// allocates nothing here beyond what the MeterProvider's instruments do —
// nothing, with the SDK's (BenchmarkHit). Annotating a recording span
// allocates its attributes.
package httpcacheotel
