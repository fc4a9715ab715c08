package httpcacheotel_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/seedcache/httpcache"
	httpcacheotel "github.com/seedcache/httpcache/contrib/otel"
	"github.com/seedcache/httpcache/stores/memory"
)

const route = "GET /pages/{id}"

// page is the handler behind the cache: a cacheable page.
var page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Cache-Tag", "pages")
	io.WriteString(w, "hello")
})

// downStore is a store that fails every operation, as an unreachable one
// does.
type downStore struct{}

// downError is downStore's error, of a type of its own so that error.type
// can be checked.
type downError struct{}

func (downError) Error() string { return "store down" }

func (downStore) Get(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("get: %w", downError{}) // error.type looks through fmt's wrapping
}
func (downStore) Set(context.Context, string, []byte, time.Duration) error { return downError{} }
func (downStore) Delete(context.Context, ...string) error                  { return downError{} }

// meter is a MeterProvider read through a ManualReader.
type meter struct {
	*sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
}

func newMeter(t *testing.T) meter {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	return meter{mp, r}
}

// collect reads every metric, by name.
func (m meter) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			out[mt.Name] = mt
		}
	}
	return out
}

// sum returns the value of metric name's data point with exactly the
// attributes kv (0 when there is none), failing if it is not an int64 sum
// or gauge.
func sum(t *testing.T, ms map[string]metricdata.Metrics, name string, kv ...attribute.KeyValue) int64 {
	t.Helper()
	want := attribute.NewSet(append([]attribute.KeyValue(nil), kv...)...) // NewSet sorts in place
	var points []metricdata.DataPoint[int64]
	switch d := ms[name].Data.(type) {
	case metricdata.Sum[int64]:
		points = d.DataPoints
	case metricdata.Gauge[int64]:
		points = d.DataPoints
	case nil:
		t.Fatalf("no metric %s", name)
	default:
		t.Fatalf("metric %s is a %T", name, d)
	}
	for _, p := range points {
		if p.Attributes.Equals(&want) {
			return p.Value
		}
	}
	return 0
}

// count returns how many values histogram name's data point with exactly
// the attributes kv holds (0 when there is none).
func count(t *testing.T, ms map[string]metricdata.Metrics, name string, kv ...attribute.KeyValue) uint64 {
	t.Helper()
	want := attribute.NewSet(append([]attribute.KeyValue(nil), kv...)...) // NewSet sorts in place
	h, ok := ms[name].Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("metric %s is a %T, want a float64 histogram", name, ms[name].Data)
	}
	for _, p := range h.DataPoints {
		if p.Attributes.Equals(&want) {
			return p.Count
		}
	}
	return 0
}

// get serves a GET of target through h and returns the response.
func get(h http.Handler, target string, header ...string) *http.Response {
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// routed mounts cache in front of page at route, so that hits carry the
// route too.
func routed(cache *httpcache.Cache) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(route, cache.Handler(page))
	return mux
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func attrs(kv ...attribute.KeyValue) []attribute.KeyValue { return kv }

// TestMetricsCountHitMissAndBypass serves a miss, a hit and a bypass and
// reads each request's measurements through a ManualReader: requests by
// outcome, detail and route, their durations, bytes stored and served, the
// store's operations by store and operation, and no store error.
func TestMetricsCountHitMissAndBypass(t *testing.T) {
	m := newMeter(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m, StoreName: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	h := routed(httpcache.New(memory.New(memory.Options{}), opts))

	for _, c := range []struct {
		name, status string
		header       []string
	}{
		{"miss", "fwd=uri-miss; stored", nil},
		{"hit", "hit", nil},
		{"bypass", "fwd=bypass; detail=range", []string{"Range", "bytes=0-1"}},
	} {
		res := get(h, "http://example.com/pages/1", c.header...)
		if got := res.Header.Get("Cache-Status"); got != "httpcache; "+c.status {
			t.Fatalf("%s: Cache-Status %q, want %q", c.name, got, "httpcache; "+c.status)
		}
	}

	ms := m.collect(t)
	r := httpcacheotel.RouteKey.String(route)
	miss, hit := httpcacheotel.OutcomeKey.String("miss"), httpcacheotel.OutcomeKey.String("hit")
	bypass := httpcacheotel.OutcomeKey.String("bypass")
	for _, c := range []struct {
		name string
		kv   []attribute.KeyValue
		want int64
	}{
		{"miss", attrs(miss, r), 1},
		{"hit", attrs(hit, r), 1},
		{"bypass", attrs(bypass, r, httpcacheotel.DetailKey.String("range")), 1},
	} {
		if got := sum(t, ms, "httpcache.requests", c.kv...); got != c.want {
			t.Errorf("httpcache.requests %s = %d, want %d", c.name, got, c.want)
		}
		if got := count(t, ms, "httpcache.request.duration", c.kv[:2]...); got != 1 {
			t.Errorf("httpcache.request.duration %s: %d values, want 1", c.name, got)
		}
	}
	if got := count(t, ms, "httpcache.lookup.duration", hit, r) + count(t, ms, "httpcache.lookup.duration", miss, r); got != 2 {
		t.Errorf("httpcache.lookup.duration: %d values for the hit and the miss, want 2", got)
	}
	if got := count(t, ms, "httpcache.lookup.duration", bypass, r); got != 0 {
		t.Errorf("httpcache.lookup.duration: %d values for a bypass, never looked up", got)
	}
	if got := sum(t, ms, "httpcache.stored.size", miss, r); got != 5 {
		t.Errorf("httpcache.stored.size = %d, want 5 (the miss's body)", got)
	}
	if got := sum(t, ms, "httpcache.served.size", hit, r); got != 5 {
		t.Errorf("httpcache.served.size = %d, want 5 (the hit's body)", got)
	}

	store := httpcacheotel.StoreKey.String("memory")
	for _, op := range []string{"get", "set"} {
		if got := count(t, ms, "httpcache.store.operation.duration", store, httpcacheotel.OperationKey.String(op)); got == 0 {
			t.Errorf("httpcache.store.operation.duration: no %s recorded", op)
		}
	}
	if ms["httpcache.store.errors"].Data != nil {
		t.Errorf("httpcache.store.errors reported on a healthy store: %+v", ms["httpcache.store.errors"].Data)
	}
	if u := ms["httpcache.request.duration"].Unit; u != "s" {
		t.Errorf("httpcache.request.duration unit %q, want s", u)
	}
	if u := ms["httpcache.store.operation.duration"].Unit; u != "s" {
		t.Errorf("httpcache.store.operation.duration unit %q, want s", u)
	}
}

// TestMetricsCountStoreFailure serves a request through a store that fails:
// the request is a miss the store failed (detail store-error), and the
// failed operations count in httpcache.store.errors with their error.type.
func TestMetricsCountStoreFailure(t *testing.T) {
	m := newMeter(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m, StoreName: "down"})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	cache := httpcache.New(downStore{}, opts)
	res := get(routed(cache), "http://example.com/pages/1")
	cache.Wait() // the write, made in the background, fails too
	if res.StatusCode != 200 {
		t.Fatalf("status %d: the handler should have served the request", res.StatusCode)
	}

	ms := m.collect(t)
	if got := sum(t, ms, "httpcache.requests", httpcacheotel.OutcomeKey.String("miss"),
		httpcacheotel.RouteKey.String(route), httpcacheotel.DetailKey.String("store-error")); got != 1 {
		t.Errorf("httpcache.requests for a miss with detail store-error = %d, want 1 (Cache-Status %q)", got, res.Header.Get("Cache-Status"))
	}
	failed := attrs(httpcacheotel.StoreKey.String("down"), httpcacheotel.OperationKey.String("get"),
		httpcacheotel.ErrorTypeKey.String("httpcacheotel_test.downError"))
	if got := sum(t, ms, "httpcache.store.errors", failed...); got != 1 {
		t.Errorf("httpcache.store.errors %v = %d, want 1; have %+v", failed, got, ms["httpcache.store.errors"].Data)
	}
	if got := count(t, ms, "httpcache.store.operation.duration", failed...); got != 1 {
		t.Errorf("httpcache.store.operation.duration of the failed get: %d values, want 1", got)
	}
}

// TestWatchReportsStats pins the instruments read from Cache.Stats and the
// memory store's Stats at collection, and that unregistering stops them.
func TestWatchReportsStats(t *testing.T) {
	m := newMeter(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m, StoreName: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(memory.Options{})
	cache := httpcache.New(st, httpcache.Options{Logger: quiet})
	reg, err := o.Watch(cache)
	if err != nil {
		t.Fatal(err)
	}
	mreg, err := o.WatchMemory(st)
	if err != nil {
		t.Fatal(err)
	}
	h := routed(cache)
	get(h, "http://example.com/pages/1")
	get(h, "http://example.com/pages/2")
	if err := cache.PurgeURL(t.Context(), "http://example.com/pages/1"); err != nil {
		t.Fatal(err)
	}

	ms := m.collect(t)
	s, store := cache.Stats(), httpcacheotel.StoreKey.String("memory")
	for _, c := range []struct {
		name string
		kv   []attribute.KeyValue
		want int64
	}{
		{"httpcache.purges", nil, 1},
		{"httpcache.store.writes", attrs(store), int64(s.Stores)},
		{"httpcache.waiting_requests", nil, 0},
		{"httpcache.store.circuit.open", attrs(store), 0},
		{"httpcache.coalesced_requests", nil, 0},
		{"httpcache.memory.entries", nil, st.Stats().Entries},
		{"httpcache.memory.size", nil, st.Stats().Bytes},
	} {
		if got := sum(t, ms, c.name, c.kv...); got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
	if s.Stores < 2 || st.Stats().Entries == 0 {
		t.Errorf("the test stored nothing: %+v, %+v", s, st.Stats())
	}
	for _, name := range []string{"httpcache.stale_responses", "httpcache.revalidations", "httpcache.invalidations",
		"httpcache.store.skips", "httpcache.store.dropped_writes", "httpcache.memory.evictions"} {
		if _, ok := ms[name]; !ok {
			t.Errorf("no %s", name)
		}
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := mreg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatalf("a second Unregister: %v", err)
	}
	ms = m.collect(t)
	if _, ok := ms["httpcache.purges"]; ok {
		t.Errorf("httpcache.purges still reported after Unregister: %+v", ms["httpcache.purges"].Data)
	}
}

// TestWatchAddsCachesUp pins that two Caches watched through one Observer
// report their sum, once per collection.
func TestWatchAddsCachesUp(t *testing.T) {
	m := newMeter(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{Logger: quiet})
		reg, err := o.Watch(cache)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Unregister() })
		if err := cache.PurgeURL(t.Context(), "http://example.com/a"); err != nil {
			t.Fatal(err)
		}
	}
	if got := sum(t, m.collect(t), "httpcache.purges"); got != 2 {
		t.Errorf("httpcache.purges = %d, want 2 (one per Cache)", got)
	}
}

// TestInstrumentKeepsHooksAlreadySet pins that Instrument chains the hooks
// an application set before it: they still see every event and operation.
func TestInstrumentKeepsHooksAlreadySet(t *testing.T) {
	m := newMeter(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m})
	if err != nil {
		t.Fatal(err)
	}
	var events, ops int
	opts := httpcache.Options{
		Logger:    quiet,
		OnEvent:   func(httpcache.Event) { events++ },
		OnStoreOp: func(httpcache.StoreOp) { ops++ },
	}
	o.Instrument(&opts)
	h := routed(httpcache.New(memory.New(memory.Options{}), opts))
	get(h, "http://example.com/pages/1")
	get(h, "http://example.com/pages/1")
	if events != 2 || ops == 0 {
		t.Errorf("hooks set before Instrument saw %d events and %d store ops, want 2 and some", events, ops)
	}
	if got := sum(t, m.collect(t), "httpcache.requests", httpcacheotel.OutcomeKey.String("hit"), httpcacheotel.RouteKey.String(route)); got != 1 {
		t.Errorf("httpcache.requests hit = %d, want 1", got)
	}
}

// TestOptionsAttributesOnEveryMeasurement pins Options.Attributes.
func TestOptionsAttributesOnEveryMeasurement(t *testing.T) {
	m := newMeter(t)
	name := attribute.String("cache", "pages")
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m, Attributes: attrs(name)})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	cache := httpcache.New(memory.New(memory.Options{}), opts)
	reg, err := o.Watch(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	get(routed(cache), "http://example.com/pages/1")
	ms := m.collect(t)
	if got := sum(t, ms, "httpcache.requests", name, httpcacheotel.OutcomeKey.String("miss"), httpcacheotel.RouteKey.String(route)); got != 1 {
		t.Errorf("httpcache.requests with %v = %d, want 1", name, got)
	}
	if got := count(t, ms, "httpcache.store.operation.duration", name, httpcacheotel.OperationKey.String("get")); got == 0 {
		t.Errorf("httpcache.store.operation.duration: no get with %v", name)
	}
	if got := sum(t, ms, "httpcache.store.writes", name); got != 1 {
		t.Errorf("httpcache.store.writes with %v = %d, want 1", name, got)
	}
}

// TestNewReportsToTheGlobalProviderWhenNil pins the zero Options: New
// succeeds on the global (no-op) providers and the hooks run.
func TestNewReportsToTheGlobalProviderWhenNil(t *testing.T) {
	o, err := httpcacheotel.New(httpcacheotel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	cache := httpcache.New(memory.New(memory.Options{}), opts)
	reg, err := o.Watch(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	if res := get(routed(cache), "http://example.com/pages/1"); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

// TestConcurrentRequestsWatchAndCollection runs requests, collections and
// Watch/Unregister at once (for the race detector, and for a deadlock
// between the Observer's lock and the SDK's, held around the callback,
// which shows as the test timing out): every request is counted once.
func TestConcurrentRequestsWatchAndCollection(t *testing.T) {
	m := newMeter(t)
	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: m})
	if err != nil {
		t.Fatal(err)
	}
	opts := httpcache.Options{Logger: quiet}
	o.Instrument(&opts)
	cache := httpcache.New(memory.New(memory.Options{}), opts)
	h := routed(cache)
	const workers, each = 4, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				get(h, fmt.Sprintf("http://example.com/pages/%d", (w*each+i)%7))
			}
		})
	}
	done := make(chan struct{})
	stopped := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	var churn sync.WaitGroup
	churn.Go(func() { // the callback registered and unregistered, again and again
		for i := 0; i < 2000 || !stopped(); i++ {
			reg, err := o.Watch(cache)
			if err != nil {
				t.Error(err)
				return
			}
			if err := reg.Unregister(); err != nil {
				t.Error(err)
			}
		}
	})
	churn.Go(func() { // collections meanwhile, running the callback
		for i := 0; i < 2000 || !stopped(); i++ {
			var rm metricdata.ResourceMetrics
			if err := m.reader.Collect(context.Background(), &rm); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(done)
	churn.Wait()
	ms := m.collect(t)
	var total int64
	for _, outcome := range []string{"hit", "miss", "collapsed"} {
		total += sum(t, ms, "httpcache.requests", httpcacheotel.OutcomeKey.String(outcome), httpcacheotel.RouteKey.String(route))
	}
	if total != workers*each {
		t.Errorf("%d requests counted, want %d: %+v", total, workers*each, ms["httpcache.requests"].Data)
	}
}
