package httpcacheprom_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seedcache/httpcache"
	httpcacheprom "github.com/seedcache/httpcache/contrib/prometheus"
	"github.com/seedcache/httpcache/stores/memory"
)

// Wire a Cache's metrics into a chi application: Instrument the options
// before httpcache.New, Watch the Cache after it, register, and serve
// /metrics with promhttp. The cache is used per route (r.With), so that
// hits carry their route's pattern too.
func ExampleNew() {
	reg := prometheus.NewRegistry()
	metrics := httpcacheprom.New(httpcacheprom.Options{Store: "memory"})

	opts := httpcache.Options{}
	metrics.Instrument(&opts) // sets opts.OnEvent and opts.OnStoreOp
	mem := memory.New(memory.Options{MaxBytes: 64 << 20})
	cache := httpcache.New(mem, opts)
	metrics.Watch(cache)     // Stats-based metrics, read at each scrape
	metrics.WatchMemory(mem) // entries, bytes, evictions
	reg.MustRegister(metrics)

	r := chi.NewRouter()
	r.With(cache.Page(time.Minute)).Get("/articles/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "article %s", chi.URLParam(r, "id"))
	})
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// http.ListenAndServe(":8080", r); here, requests through a recorder:

	for _, path := range []string{"/articles/1", "/articles/1", "/articles/2"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "httpcache_requests_total") || strings.HasPrefix(line, "httpcache_lookups_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// httpcache_lookups_total{cache="default",result="hit"} 1
	// httpcache_lookups_total{cache="default",result="miss"} 2
	// httpcache_lookups_total{cache="default",result="uncacheable"} 0
	// httpcache_requests_total{cache="default",outcome="hit",route="/articles/{id}"} 1
	// httpcache_requests_total{cache="default",outcome="miss",route="/articles/{id}"} 2
}

// Serve /metrics on an admin listener, apart from the application's: the
// wiring of a production server (this example starts servers, so it is
// compiled, not run).
func ExampleMetrics_Instrument() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))

	metrics := httpcacheprom.New(httpcacheprom.Options{Cache: "pages", Store: "memory"})
	opts := httpcache.Options{
		// A hook of the application's own, kept by Instrument.
		OnEvent: func(ev httpcache.Event) {
			if ev.StoreError != nil {
				fmt.Println("store failed:", ev.StoreError)
			}
		},
	}
	metrics.Instrument(&opts)
	cache := httpcache.New(memory.New(memory.Options{}), opts)
	metrics.Watch(cache)
	reg.MustRegister(metrics)

	app := chi.NewRouter()
	app.With(cache.Page(5*time.Minute)).Get("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "home")
	})
	admin := http.NewServeMux()
	admin.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	go http.ListenAndServe("127.0.0.1:9090", admin)
	http.ListenAndServe(":8080", app)
}
