package httpcacheotel_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/seedcache/httpcache"
	httpcacheotel "github.com/seedcache/httpcache/contrib/otel"
	"github.com/seedcache/httpcache/stores/memory"
)

// Example wires an Observer into a Cache and reads the requests it
// counted. An application passes its own MeterProvider (or none, for the
// global one) and wraps its mux with otelhttp for the server spans the
// Observer annotates; this example reads the metrics itself.
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: mp, StoreName: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	opts := httpcache.Options{}
	o.Instrument(&opts) // before httpcache.New
	st := memory.New(memory.Options{})
	cache := httpcache.New(st, opts)
	reg, err := o.Watch(cache) // Cache.Stats, read at each collection
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()
	mreg, err := o.WatchMemory(st) // the memory store's entries and bytes
	if err != nil {
		log.Fatal(err)
	}
	defer mreg.Unregister()

	mux := http.NewServeMux()
	// Per route, so that hits carry http.route too.
	mux.Handle("GET /articles/{id}", cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "article "+r.PathValue("id"))
	})))
	for _, path := range []string{"/articles/1", "/articles/1", "/articles/1", "/articles/2"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Sum[int64]); ok && (m.Name == "httpcache.requests" || m.Name == "httpcache.memory.entries") {
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// httpcache.memory.entries{} 2
	// httpcache.requests{http.route=GET /articles/{id},httpcache.outcome=hit} 2
	// httpcache.requests{http.route=GET /articles/{id},httpcache.outcome=miss} 2
}
