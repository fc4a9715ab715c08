package httpcacheotel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/store"
)

// ScopeName is the instrumentation scope of the Observer's meter and
// tracer: this package's import path.
const ScopeName = "github.com/seedcache/httpcache/contrib/otel"

// Attribute keys the Observer sets, on measurements and on spans.
const (
	// OutcomeKey is the request's outcome, one of httpcache's Outcome
	// constants: hit, stale, revalidated, miss, collapsed, bypass, method.
	OutcomeKey = attribute.Key("httpcache.outcome")
	// DetailKey is the Cache-Status detail: why a request bypassed the
	// cache or was not stored, or which rule served it stale. Omitted
	// when there is none.
	DetailKey = attribute.Key("httpcache.detail")
	// RouteKey is the matched route pattern (OpenTelemetry's http.route),
	// omitted when the request was not routed before the cache saw it.
	RouteKey = attribute.Key("http.route")
	// StoreKey is Options.StoreName, on store measurements; omitted when
	// it is "".
	StoreKey = attribute.Key("httpcache.store")
	// OperationKey is the store operation: get, get-multi, set, delete,
	// purge.
	OperationKey = attribute.Key("httpcache.store.operation")
	// ErrorTypeKey is OpenTelemetry's error.type, on a failed store
	// operation: "circuit_open" (refused by the store's circuit breaker,
	// not tried), "timeout" (a deadline passed), "canceled", or the
	// error's Go type ("*net.OpError").
	ErrorTypeKey = attribute.Key("error.type")

	// Span attributes only.

	// StoredKey reports that the request's response was stored.
	StoredKey = attribute.Key("httpcache.stored")
	// KeyKey is the request's primary key digest (no URL or header text),
	// as Cache.Keys gives them; omitted when the request was not looked up.
	KeyKey = attribute.Key("httpcache.key")
	// SizeKey is the body length of the stored response served, or of the
	// response stored, in bytes.
	SizeKey = attribute.Key("httpcache.size")
	// AgeKey is the age of the stored response served, in seconds; set on
	// hit, stale and revalidated only.
	AgeKey = attribute.Key("httpcache.age")
	// LookupDurationKey is how long the lookup took, store reads
	// included, in seconds; omitted when the request was not looked up.
	LookupDurationKey = attribute.Key("httpcache.lookup.duration")
	// TagsKey is the tags of the response served or stored.
	TagsKey = attribute.Key("httpcache.tags")
	// ErrorMessageKey is the store error's text, on the
	// httpcache.store.error span event.
	ErrorMessageKey = attribute.Key("error.message")
)

// StoreErrorEvent is the name of the span event added when the store failed
// a request's lookup.
const StoreErrorEvent = "httpcache.store.error"

// Options configures an Observer. The zero value reports to the global
// providers.
type Options struct {
	// MeterProvider makes the Observer's meter. If nil,
	// otel.GetMeterProvider(): the global one, which forwards to the
	// provider the application sets with otel.SetMeterProvider, even
	// later.
	MeterProvider metric.MeterProvider

	// TracerProvider makes the lookup spans of LookupSpans. If nil,
	// otel.GetTracerProvider(). It plays no part in setting attributes on
	// the request's own span, which comes from the request's context.
	TracerProvider trace.TracerProvider

	// StoreName names the Cache's store ("redis", "memory", "tiered") in
	// the httpcache.store attribute of store measurements. If "", the
	// attribute is omitted.
	StoreName string

	// Attributes are added to every measurement, for instance to tell
	// apart Caches that report through one MeterProvider (one Observer
	// each). If nil, none.
	Attributes []attribute.KeyValue

	// LookupSpans makes the Observer record a child span of the request's
	// span, "httpcache.lookup", for each request that was looked up,
	// with the attributes it sets on the request's span (see the package
	// doc). The event comes after the response, so the span is made then,
	// its start computed back from the request's duration: its times are
	// approximate. If the request's context has no span, the lookup span
	// is a root span. If false, the Observer creates no spans.
	LookupSpans bool
}

// maxAttrSets bounds the attribute sets kept for reuse: one per outcome,
// detail and route seen. Past it, sets are built for each request (and
// allocate): routes are patterns, so an application that has more than
// this has something else in its routes.
const maxAttrSets = 1024

// Observer records a Cache's events and store operations as OpenTelemetry
// metrics and span attributes, and reads the counters of watched Caches at
// collection. It is safe for concurrent use.
type Observer struct {
	storeName   string
	attrs       []attribute.KeyValue
	tracer      trace.Tracer // nil without LookupSpans
	meter       metric.Meter
	requests    metric.Int64Counter
	reqDuration metric.Float64Histogram
	lookup      metric.Float64Histogram
	served      metric.Int64Counter
	stored      metric.Int64Counter
	opDuration  metric.Float64Histogram
	storeErrors metric.Int64Counter

	mu   sync.RWMutex
	sets map[setKey]*measureOpts // by outcome, detail and route
	ops  map[string]*measureOpts // successful store operations, by op

	obs observables
}

// setKey identifies the attribute set of a request's measurements.
type setKey struct{ outcome, detail, route string }

// measureOpts holds the options of one attribute set, built once: passing
// a kept slice to Add and Record allocates nothing.
type measureOpts struct {
	add    []metric.AddOption    // outcome, detail, route
	record []metric.RecordOption // outcome, route: the histograms
	bytes  []metric.AddOption    // outcome, route: the byte counters
}

// Bucket boundaries, in seconds, advised for the duration histograms: a
// hit takes microseconds, a store round trip a millisecond, a miss what
// the handler takes (OpenTelemetry's http.server.request.duration
// boundaries, with finer ones below 5 ms).
var (
	requestBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	storeBuckets   = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// New returns an Observer with its instruments made on opts.MeterProvider.
// It fails only if the MeterProvider refuses an instrument.
func New(opts Options) (*Observer, error) {
	mp := opts.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	o := &Observer{
		storeName: opts.StoreName,
		attrs:     append([]attribute.KeyValue(nil), opts.Attributes...),
		meter:     mp.Meter(ScopeName),
		sets:      make(map[setKey]*measureOpts),
		ops:       make(map[string]*measureOpts),
	}
	if opts.LookupSpans {
		tp := opts.TracerProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		o.tracer = tp.Tracer(ScopeName)
	}
	m := o.meter
	var err, e error
	o.requests, e = m.Int64Counter("httpcache.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests the cache handled, by outcome."))
	err = errors.Join(err, e)
	o.reqDuration, e = m.Float64Histogram("httpcache.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Time the cache spent on a request, the handler included."),
		metric.WithExplicitBucketBoundaries(requestBuckets...))
	err = errors.Join(err, e)
	o.lookup, e = m.Float64Histogram("httpcache.lookup.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a request's lookup took, store reads included."),
		metric.WithExplicitBucketBoundaries(storeBuckets...))
	err = errors.Join(err, e)
	o.served, e = m.Int64Counter("httpcache.served.size", metric.WithUnit("By"),
		metric.WithDescription("Body bytes served from stored responses and from other requests' fetches."))
	err = errors.Join(err, e)
	o.stored, e = m.Int64Counter("httpcache.stored.size", metric.WithUnit("By"),
		metric.WithDescription("Body bytes of the responses stored."))
	err = errors.Join(err, e)
	o.opDuration, e = m.Float64Histogram("httpcache.store.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of store operations."),
		metric.WithExplicitBucketBoundaries(storeBuckets...))
	err = errors.Join(err, e)
	o.storeErrors, e = m.Int64Counter("httpcache.store.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Store operations that failed."))
	err = errors.Join(err, e)
	err = errors.Join(err, o.obs.init(m))
	if err != nil {
		return nil, fmt.Errorf("httpcacheotel: %w", err)
	}
	o.obs.cacheOpts = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(o.attrs...))}
	storeAttrs := o.attrs[:len(o.attrs):len(o.attrs)]
	if o.storeName != "" {
		storeAttrs = append(storeAttrs, StoreKey.String(o.storeName))
	}
	o.obs.storeOpts = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(storeAttrs...))}
	for _, op := range []string{"get", "get-multi", "set", "delete", "purge"} {
		o.ops[op] = o.opOpts(op, "")
	}
	return o, nil
}

// Instrument sets opts.OnEvent and opts.OnStoreOp to report to o, after
// calling the hooks already set there, if any. Call it once per Options,
// before httpcache.New.
func (o *Observer) Instrument(opts *httpcache.Options) {
	if prev := opts.OnEvent; prev != nil {
		opts.OnEvent = func(e httpcache.Event) { prev(e); o.OnEvent(e) }
	} else {
		opts.OnEvent = o.OnEvent
	}
	if prev := opts.OnStoreOp; prev != nil {
		opts.OnStoreOp = func(s httpcache.StoreOp) { prev(s); o.OnStoreOp(s) }
	} else {
		opts.OnStoreOp = o.OnStoreOp
	}
}

// OnEvent records e: a function for httpcache.Options.OnEvent.
func (o *Observer) OnEvent(e httpcache.Event) {
	ctx := context.Background()
	if e.Request != nil {
		ctx = e.Request.Context()
	}
	mo := o.eventOpts(setKey{e.Outcome, e.Detail, e.Route})
	o.requests.Add(ctx, 1, mo.add...)
	o.reqDuration.Record(ctx, e.Duration.Seconds(), mo.record...)
	lookedUp := e.Key != ""
	if lookedUp {
		o.lookup.Record(ctx, e.Lookup.Seconds(), mo.record...)
	}
	if servedFromCache(e.Outcome) && e.Size > 0 {
		o.served.Add(ctx, int64(e.Size), mo.bytes...)
	}
	if e.Stored && e.Size > 0 {
		o.stored.Add(ctx, int64(e.Size), mo.bytes...)
	}
	o.annotate(ctx, e)
}

// servedFromCache reports whether a request with this outcome was served a
// body the handler did not produce for it.
func servedFromCache(outcome string) bool {
	switch outcome {
	case httpcache.OutcomeHit, httpcache.OutcomeStale, httpcache.OutcomeRevalidated, httpcache.OutcomeCollapsed:
		return true
	}
	return false
}

// OnStoreOp records s: a function for httpcache.Options.OnStoreOp.
func (o *Observer) OnStoreOp(s httpcache.StoreOp) {
	ctx := context.Background() // a store operation carries no request
	if s.Err == nil {
		mo := o.ops[s.Op] // read only after New
		if mo == nil {
			mo = o.opOpts(s.Op, "")
		}
		o.opDuration.Record(ctx, s.Duration.Seconds(), mo.record...)
		return
	}
	mo := o.opOpts(s.Op, errorType(s.Err))
	o.opDuration.Record(ctx, s.Duration.Seconds(), mo.record...)
	o.storeErrors.Add(ctx, 1, mo.add...)
}

// errorType names err for the error.type attribute: a few cases an
// operator acts on by name, else the error's Go type, looking through the
// wrappers fmt.Errorf makes (they add text, not kind).
func errorType(err error) string {
	var t interface{ Timeout() bool }
	switch {
	case errors.Is(err, store.ErrCircuitOpen):
		return "circuit_open"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &t) && t.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	name := fmt.Sprintf("%T", err)
	for name == "*fmt.wrapError" {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err, name = u, fmt.Sprintf("%T", u)
	}
	return name
}

// eventOpts returns the measurement options for k, kept for reuse up to
// maxAttrSets.
func (o *Observer) eventOpts(k setKey) *measureOpts {
	o.mu.RLock()
	mo := o.sets[k]
	o.mu.RUnlock()
	if mo != nil {
		return mo
	}
	kv := append(o.attrs[:len(o.attrs):len(o.attrs)], OutcomeKey.String(k.outcome))
	if k.route != "" {
		kv = append(kv, RouteKey.String(k.route))
	}
	short := attribute.NewSet(kv...) // outcome and route
	if k.detail != "" {
		kv = append(kv, DetailKey.String(k.detail))
	}
	full := attribute.NewSet(kv...)
	mo = &measureOpts{
		add:    []metric.AddOption{metric.WithAttributeSet(full)},
		record: []metric.RecordOption{metric.WithAttributeSet(short)},
		bytes:  []metric.AddOption{metric.WithAttributeSet(short)},
	}
	o.mu.Lock()
	if len(o.sets) < maxAttrSets {
		o.sets[k] = mo
	}
	o.mu.Unlock()
	return mo
}

// opOpts builds the measurement options of a store operation; errType is
// "" for one that succeeded.
func (o *Observer) opOpts(op, errType string) *measureOpts {
	kv := append(o.attrs[:len(o.attrs):len(o.attrs)], OperationKey.String(op))
	if o.storeName != "" {
		kv = append(kv, StoreKey.String(o.storeName))
	}
	if errType != "" {
		kv = append(kv, ErrorTypeKey.String(errType))
	}
	set := attribute.NewSet(kv...)
	return &measureOpts{
		add:    []metric.AddOption{metric.WithAttributeSet(set)},
		record: []metric.RecordOption{metric.WithAttributeSet(set)},
	}
}
