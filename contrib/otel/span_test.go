package httpcacheotel_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seedcache/httpcache"
	httpcacheotel "github.com/seedcache/httpcache/contrib/otel"
	"github.com/seedcache/httpcache/stores/memory"
)

// tracing is a TracerProvider whose ended spans a SpanRecorder keeps.
type tracing struct {
	*sdktrace.TracerProvider
	rec *tracetest.SpanRecorder
}

func newTracing(t *testing.T) tracing {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	return tracing{tp, rec}
}

// server wraps h as an application's HTTP instrumentation (otelhttp) does:
// each request runs in a server span of its own.
func (tr tracing) server(h http.Handler) http.Handler {
	tracer := tr.Tracer("test-server")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// last returns the last span ended, failing if there are not n in all.
func (tr tracing) last(t *testing.T, n int) sdktrace.ReadOnlySpan {
	t.Helper()
	ended := tr.rec.Ended()
	if len(ended) != n {
		t.Fatalf("%d spans ended, want %d", len(ended), n)
	}
	return ended[n-1]
}

// spanAttrs returns a span's attributes by key.
func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestSpanAttributesOnHitAndMiss serves a miss and a hit in server spans
// and checks what the Observer set on each: outcome, stored, the key
// digest (the same for both), size, lookup time, and the age on the hit.
// It creates no span of its own.
func TestSpanAttributesOnHitAndMiss(t *testing.T) {
	tr := newTracing(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: newMeter(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	cache := httpcache.New(memory.New(memory.Options{}), opts)
	h := tr.server(routed(cache))
	keys, err := cache.Keys("http://example.com/pages/1")
	if err != nil || len(keys) == 0 {
		t.Fatalf("Keys: %v, %v", keys, err)
	}

	get(h, "http://example.com/pages/1")
	miss := spanAttrs(tr.last(t, 1))
	get(h, "http://example.com/pages/1")
	hit := spanAttrs(tr.last(t, 2)) // two spans: the server spans, none of the Observer's

	for _, c := range []struct {
		name string
		got  map[attribute.Key]attribute.Value
		want map[attribute.Key]attribute.Value
	}{
		{"miss", miss, map[attribute.Key]attribute.Value{
			httpcacheotel.OutcomeKey: attribute.StringValue("miss"),
			httpcacheotel.StoredKey:  attribute.BoolValue(true),
			httpcacheotel.KeyKey:     attribute.StringValue(keys[0]),
			httpcacheotel.SizeKey:    attribute.IntValue(5),
			httpcacheotel.TagsKey:    attribute.StringSliceValue([]string{"pages"}),
		}},
		{"hit", hit, map[attribute.Key]attribute.Value{
			httpcacheotel.OutcomeKey: attribute.StringValue("hit"),
			httpcacheotel.StoredKey:  attribute.BoolValue(false),
			httpcacheotel.KeyKey:     attribute.StringValue(keys[0]),
			httpcacheotel.SizeKey:    attribute.IntValue(5),
			httpcacheotel.TagsKey:    attribute.StringSliceValue([]string{"pages"}),
		}},
	} {
		for k, v := range c.want {
			if got := c.got[k]; got != v {
				t.Errorf("%s: %s = %v, want %v", c.name, k, got.Emit(), v.Emit())
			}
		}
		if v, ok := c.got[httpcacheotel.LookupDurationKey]; !ok || v.Type() != attribute.FLOAT64 || v.AsFloat64() < 0 {
			t.Errorf("%s: %s = %v, want a duration in seconds", c.name, httpcacheotel.LookupDurationKey, v.Emit())
		}
		if _, ok := c.got[httpcacheotel.DetailKey]; ok {
			t.Errorf("%s: %s set, want none", c.name, httpcacheotel.DetailKey)
		}
	}
	if v, ok := hit[httpcacheotel.AgeKey]; !ok || v.Type() != attribute.FLOAT64 || v.AsFloat64() < 0 {
		t.Errorf("hit: %s = %v, want an age in seconds", httpcacheotel.AgeKey, v.Emit())
	}
	if _, ok := miss[httpcacheotel.AgeKey]; ok {
		t.Errorf("miss: %s set, want none: nothing stored was served", httpcacheotel.AgeKey)
	}
}

// TestSpanAttributesOnBypass pins a request never looked up: its outcome
// and detail, and no key or lookup time.
func TestSpanAttributesOnBypass(t *testing.T) {
	tr := newTracing(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: newMeter(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	h := tr.server(routed(httpcache.New(memory.New(memory.Options{}), opts)))
	get(h, "http://example.com/pages/1", "Range", "bytes=0-1")
	a := spanAttrs(tr.last(t, 1))
	if a[httpcacheotel.OutcomeKey].AsString() != "bypass" || a[httpcacheotel.DetailKey].AsString() != "range" {
		t.Errorf("outcome %q detail %q, want bypass and range", a[httpcacheotel.OutcomeKey].Emit(), a[httpcacheotel.DetailKey].Emit())
	}
	for _, k := range []attribute.Key{httpcacheotel.KeyKey, httpcacheotel.LookupDurationKey} {
		if _, ok := a[k]; ok {
			t.Errorf("%s set on a request never looked up", k)
		}
	}
}

// TestSpanEventOnStoreFailure pins the event a failed lookup adds to the
// request's span, with the store's error, and that the span's status is
// left alone: the request was served.
func TestSpanEventOnStoreFailure(t *testing.T) {
	tr := newTracing(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: newMeter(t)})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	cache := httpcache.New(downStore{}, opts)
	get(tr.server(routed(cache)), "http://example.com/pages/1")
	cache.Wait()
	span := tr.last(t, 1)
	var found bool
	for _, ev := range span.Events() {
		if ev.Name != httpcacheotel.StoreErrorEvent {
			continue
		}
		found = true
		a := map[attribute.Key]string{}
		for _, kv := range ev.Attributes {
			a[kv.Key] = kv.Value.Emit()
		}
		if a[httpcacheotel.ErrorTypeKey] != "httpcacheotel_test.downError" || a[httpcacheotel.ErrorMessageKey] != "get: store down" {
			t.Errorf("event attributes %v, want the store's error type and message", a)
		}
	}
	if !found {
		t.Errorf("no %s event in %+v", httpcacheotel.StoreErrorEvent, span.Events())
	}
	if d := spanAttrs(span)[httpcacheotel.DetailKey].AsString(); d != "store-error" {
		t.Errorf("detail %q, want store-error", d)
	}
	if st := span.Status(); st.Code != codes.Unset {
		t.Errorf("span status %+v, want unset", st)
	}
}

// TestLookupSpansOption pins Options.LookupSpans: a child span of the
// request's span for the lookup, ending no earlier than it starts.
func TestLookupSpansOption(t *testing.T) {
	tr := newTracing(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: newMeter(t), TracerProvider: tr, LookupSpans: true})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	h := tr.server(routed(httpcache.New(memory.New(memory.Options{}), opts)))
	get(h, "http://example.com/pages/1")
	ended := tr.rec.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans ended, want the lookup's and the server's", len(ended))
	}
	lookup, server := ended[0], ended[1]
	if lookup.Name() != "httpcache.lookup" || lookup.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Errorf("span %q with parent %v, want httpcache.lookup under the server span %v",
			lookup.Name(), lookup.Parent().SpanID(), server.SpanContext().SpanID())
	}
	if lookup.EndTime().Before(lookup.StartTime()) {
		t.Errorf("lookup span ends (%v) before it starts (%v)", lookup.EndTime(), lookup.StartTime())
	}
	if spanAttrs(lookup)[httpcacheotel.OutcomeKey].AsString() != "miss" {
		t.Errorf("lookup span attributes %v", lookup.Attributes())
	}
}
