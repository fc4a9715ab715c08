package httpcacheotel_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seedcache/httpcache"
	httpcacheotel "github.com/seedcache/httpcache/contrib/otel"
	"github.com/seedcache/httpcache/stores/memory"
)

// sink is a ResponseWriter that keeps nothing, reused across iterations.
type sink struct {
	h      http.Header
	status int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkHit measures a memory-store hit of a routed 1 KiB page: with
// no hook, with the Observer on an SDK MeterProvider, and with it also
// annotating a recording span (the span is started outside the timed
// code's cost only in that it is made once: SetAttributes on it is timed).
func BenchmarkHit(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<10)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(body)
	})
	meterOpts := func(b *testing.B) httpcache.Options {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { mp.Shutdown(context.Background()) })
		o, err := httpcacheotel.New(httpcacheotel.Options{MeterProvider: mp, StoreName: "memory"})
		if err != nil {
			b.Fatal(err)
		}
		var opts httpcache.Options
		o.Instrument(&opts)
		return opts
	}
	for _, c := range []struct {
		name string
		opts func(*testing.B) httpcache.Options
		span bool
	}{
		{"hook=none", func(*testing.B) httpcache.Options { return httpcache.Options{} }, false},
		{"hook=otel", meterOpts, false},
		{"hook=otel-span", meterOpts, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			cache := httpcache.New(memory.New(memory.Options{}), c.opts(b))
			mux := http.NewServeMux()
			mux.Handle("GET /pages/{id}", cache.Handler(handler))
			req := httptest.NewRequest("GET", "http://example.com/pages/1", nil)
			if c.span {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
				b.Cleanup(func() { tp.Shutdown(context.Background()) })
				ctx, span := tp.Tracer("bench").Start(req.Context(), "GET", trace.WithSpanKind(trace.SpanKindServer))
				b.Cleanup(func() { span.End() })
				req = req.WithContext(ctx)
			}
			w := &sink{h: make(http.Header)}
			mux.ServeHTTP(w, req) // stores the page
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				mux.ServeHTTP(w, req)
			}
			if s := cache.Stats(); s.Hits < uint64(b.N) {
				b.Fatalf("%d hits in %d iterations", s.Hits, b.N)
			}
		})
	}
}
