package httpcacheprom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/seedcache/httpcache"
	httpcacheprom "github.com/seedcache/httpcache/contrib/prometheus"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// scrape is one scrape of a /metrics endpoint, parsed from the text
// exposition format.
type scrape map[string]*dto.MetricFamily

// scrapeURL GETs url over HTTP and parses what it serves.
func scrapeURL(t *testing.T, url string) scrape {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s\n%s", url, res.Status, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q, want the text format", url, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing the exposition format: %v", err)
	}
	return fams
}

// labels is a label set, "k=v" pairs, that a series must include.
func matches(m *dto.Metric, labels []string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for _, kv := range labels {
		k, v, _ := strings.Cut(kv, "=")
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// value is the value of the one series of name whose labels include
// labels (a histogram's sample count), and whether there is one. It fails
// the test if several series match.
func (s scrape) value(t *testing.T, name string, labels ...string) (float64, bool) {
	t.Helper()
	f, ok := s[name]
	if !ok {
		return 0, false
	}
	var found []float64
	for _, m := range f.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			found = append(found, m.GetCounter().GetValue())
		case dto.MetricType_GAUGE:
			found = append(found, m.GetGauge().GetValue())
		case dto.MetricType_HISTOGRAM:
			found = append(found, float64(m.GetHistogram().GetSampleCount()))
		default:
			t.Fatalf("%s has type %v", name, f.GetType())
		}
	}
	switch len(found) {
	case 0:
		return 0, false
	case 1:
		return found[0], true
	}
	t.Fatalf("%d series of %s match %v", len(found), name, labels)
	return 0, false
}

// want checks that the series of name with labels has value v: a
// missing series counts as 0, as Prometheus' rate() would take it.
func (s scrape) want(t *testing.T, v float64, name string, labels ...string) {
	t.Helper()
	if got, _ := s.value(t, name, labels...); got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

// series lists the series of name as label sets, for messages.
func (s scrape) series(name string) []string {
	var out []string
	for _, m := range s[name].GetMetric() {
		var ls []string
		for _, lp := range m.GetLabel() {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		out = append(out, strings.Join(ls, ","))
	}
	sort.Strings(out)
	return out
}

// app is a chi application with a Cache instrumented by a Metrics, and
// its registry's /metrics, both served over HTTP on loopback.
type app struct {
	cache   *httpcache.Cache
	srv     *httptest.Server
	metrics string // URL of /metrics
}

func newApp(t *testing.T, s store.Store, opts httpcache.Options, mo httpcacheprom.Options, route func(chi.Router, *httpcache.Cache)) *app {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := httpcacheprom.New(mo)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler) // the store failures are expected
	}
	m.Instrument(&opts)
	cache := httpcache.New(s, opts)
	m.Watch(cache)
	if mem, ok := s.(*memory.Store); ok {
		m.WatchMemory(mem)
	}
	reg.MustRegister(m)

	r := chi.NewRouter()
	route(r, cache)
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &app{cache: cache, srv: srv, metrics: srv.URL + "/metrics"}
}

// get requests path with the header fields in kv ("Name: value"), reads
// the body, and returns the response's Cache-Status.
func (a *app) get(t *testing.T, method, path string, kv ...string) string {
	t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range kv {
		k, v, _ := strings.Cut(f, ": ")
		req.Header.Set(k, v)
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	a.cache.Wait() // writes made after the response are counted before the scrape
	return res.Header.Get("Cache-Status")
}

const articleBody = "article body, 29 bytes long.\n"

// articles routes a cached article and a private page through the cache.
func articles(r chi.Router, cache *httpcache.Cache) {
	article := cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, articleBody)
	}))
	r.Method("GET", "/articles/{id}", article)
	r.Method("HEAD", "/articles/{id}", article)
	r.With(cache.Handler).Get("/account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		io.WriteString(w, "yours")
	})
}

// TestScrapeCountsHitMissAndBypass drives a chi application through a
// miss, a hit, a HEAD hit, a bypass and an uncacheable response, and reads
// each counter through a real registry scraped over HTTP: the event-based
// series by route and outcome, the details, the bytes served and stored,
// and the Stats-based lookups, writes and memory store gauges.
func TestScrapeCountsHitMissAndBypass(t *testing.T) {
	mem := memory.New(memory.Options{})
	a := newApp(t, mem, httpcache.Options{}, httpcacheprom.Options{Store: "memory"}, articles)

	before := scrapeURL(t, a.metrics)
	if _, ok := before.value(t, "httpcache_requests_total"); ok {
		t.Errorf("requests counted before any request: %v", before.series("httpcache_requests_total"))
	}
	before.want(t, 0, "httpcache_lookups_total", "result=hit")
	before.want(t, 0, "httpcache_memory_entries")

	for _, step := range []struct {
		method, path, header, status string
	}{
		{"GET", "/articles/1", "", "httpcache; fwd=uri-miss; stored"},
		{"GET", "/articles/1", "", "httpcache; hit"},
		{"HEAD", "/articles/1", "", "httpcache; hit"},
		{"GET", "/articles/1", "Range: bytes=0-3", "httpcache; fwd=bypass; detail=range"},
		{"GET", "/account", "", "httpcache; fwd=uri-miss; detail=private"},
	} {
		var kv []string
		if step.header != "" {
			kv = append(kv, step.header)
		}
		if got := a.get(t, step.method, step.path, kv...); got != step.status {
			t.Fatalf("%s %s %s: Cache-Status %q, want %q", step.method, step.path, step.header, got, step.status)
		}
	}

	s := scrapeURL(t, a.metrics)
	article := "route=/articles/{id}"
	s.want(t, 1, "httpcache_requests_total", "cache=default", article, "outcome=miss")
	s.want(t, 2, "httpcache_requests_total", "cache=default", article, "outcome=hit")
	s.want(t, 1, "httpcache_requests_total", "cache=default", article, "outcome=bypass")
	s.want(t, 1, "httpcache_requests_total", "cache=default", "route=/account", "outcome=miss")
	if got := len(s["httpcache_requests_total"].GetMetric()); got != 4 {
		t.Errorf("httpcache_requests_total has %d series, want 4: %v", got, s.series("httpcache_requests_total"))
	}
	s.want(t, 1, "httpcache_request_details_total", "outcome=bypass", "detail=range")
	s.want(t, 1, "httpcache_request_details_total", "outcome=miss", "detail=private")
	if got := len(s["httpcache_request_details_total"].GetMetric()); got != 2 {
		t.Errorf("httpcache_request_details_total has %d series, want 2: %v", got, s.series("httpcache_request_details_total"))
	}
	s.want(t, 2, "httpcache_request_duration_seconds", "outcome=miss")
	s.want(t, 2, "httpcache_request_duration_seconds", "outcome=hit")
	// One GET hit served the body; the HEAD hit served none.
	s.want(t, float64(len(articleBody)), "httpcache_served_bytes_total", "cache=default")
	s.want(t, float64(len(articleBody)), "httpcache_stored_bytes_total", "cache=default")

	// Every request but the bypass looked the store up once, and the miss
	// wrote its response.
	gets, _ := s.value(t, "httpcache_store_operation_duration_seconds", "store=memory", "operation=get")
	multi, _ := s.value(t, "httpcache_store_operation_duration_seconds", "store=memory", "operation=get-multi")
	if gets+multi < 4 {
		t.Errorf("store reads observed: get %v + get-multi %v, want at least 4", gets, multi)
	}
	s.want(t, 1, "httpcache_store_operation_duration_seconds", "store=memory", "operation=set")
	if _, ok := s.value(t, "httpcache_store_errors_total"); ok {
		t.Errorf("store errors counted: %v", s.series("httpcache_store_errors_total"))
	}

	// From Stats: the HEAD is a hit; the private page is uncacheable.
	s.want(t, 2, "httpcache_lookups_total", "cache=default", "result=hit")
	s.want(t, 1, "httpcache_lookups_total", "result=miss")
	s.want(t, 1, "httpcache_lookups_total", "result=uncacheable")
	s.want(t, 1, "httpcache_store_writes_total", "store=memory")
	s.want(t, 0, "httpcache_circuit_open", "store=memory")
	s.want(t, 0, "httpcache_waiting_requests")
	s.want(t, 1, "httpcache_memory_entries", "store=memory")
	if v, _ := s.value(t, "httpcache_memory_bytes", "store=memory"); v < float64(len(articleBody)) {
		t.Errorf("httpcache_memory_bytes %v, less than the body stored", v)
	}
	s.want(t, 0, "httpcache_memory_evictions_total")
}

// clock is a settable clock for the cache and its store: no sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestScrapeCountsStaleServed: a response served stale while it is
// refreshed counts as outcome stale, with the rule as its detail, and its
// body as bytes served from cache; it is a hit to Stats. The background
// refresh is not a request and adds no request series.
func TestScrapeCountsStaleServed(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)}
	mem := memory.New(memory.Options{Clock: clk.Now})
	opts := httpcache.Options{Clock: clk.Now, Policy: httpcache.Policy{StaleWhileRevalidate: time.Minute}}
	a := newApp(t, mem, opts, httpcacheprom.Options{}, func(r chi.Router, cache *httpcache.Cache) {
		r.With(cache.Handler).Get("/news", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			io.WriteString(w, articleBody)
		})
	})
	a.get(t, "GET", "/news")
	clk.Advance(20 * time.Second)
	if got := a.get(t, "GET", "/news"); got != "httpcache; hit; detail=stale-while-revalidate" {
		t.Fatalf("Cache-Status %q, want a stale hit", got)
	}
	s := scrapeURL(t, a.metrics)
	s.want(t, 1, "httpcache_requests_total", "route=/news", "outcome=stale")
	s.want(t, 1, "httpcache_requests_total", "route=/news", "outcome=miss")
	if got := s.series("httpcache_requests_total"); len(got) != 2 {
		t.Errorf("request series %v, want 2", got)
	}
	s.want(t, 1, "httpcache_request_details_total", "outcome=stale", "detail=stale-while-revalidate")
	s.want(t, float64(len(articleBody)), "httpcache_served_bytes_total")
	// The miss and the refresh stored the body.
	s.want(t, 2, "httpcache_store_writes_total")
	s.want(t, 1, "httpcache_lookups_total", "result=hit")
	s.want(t, 1, "httpcache_lookups_total", "result=miss")
}

// TestMetricTypesAndUnits pins each metric's name and type as the
// Prometheus naming guide has them: counters end in _total, durations are
// histograms in seconds, gauges have no suffix.
func TestMetricTypesAndUnits(t *testing.T) {
	mem := memory.New(memory.Options{})
	a := newApp(t, mem, httpcache.Options{}, httpcacheprom.Options{}, articles)
	a.get(t, "GET", "/articles/1")
	a.get(t, "GET", "/articles/1")
	a.get(t, "GET", "/articles/1", "Range: bytes=0-1")
	s := scrapeURL(t, a.metrics)
	for name, typ := range map[string]dto.MetricType{
		"httpcache_requests_total":                   dto.MetricType_COUNTER,
		"httpcache_request_details_total":            dto.MetricType_COUNTER,
		"httpcache_request_duration_seconds":         dto.MetricType_HISTOGRAM,
		"httpcache_served_bytes_total":               dto.MetricType_COUNTER,
		"httpcache_stored_bytes_total":               dto.MetricType_COUNTER,
		"httpcache_store_operation_duration_seconds": dto.MetricType_HISTOGRAM,
		"httpcache_lookups_total":                    dto.MetricType_COUNTER,
		"httpcache_revalidations_total":              dto.MetricType_COUNTER,
		"httpcache_invalidations_total":              dto.MetricType_COUNTER,
		"httpcache_purges_total":                     dto.MetricType_COUNTER,
		"httpcache_store_writes_total":               dto.MetricType_COUNTER,
		"httpcache_store_skips_total":                dto.MetricType_COUNTER,
		"httpcache_dropped_writes_total":             dto.MetricType_COUNTER,
		"httpcache_waiting_requests":                 dto.MetricType_GAUGE,
		"httpcache_circuit_open":                     dto.MetricType_GAUGE,
		"httpcache_memory_entries":                   dto.MetricType_GAUGE,
		"httpcache_memory_bytes":                     dto.MetricType_GAUGE,
		"httpcache_memory_evictions_total":           dto.MetricType_COUNTER,
	} {
		f, ok := s[name]
		if !ok {
			t.Errorf("%s not exposed", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s has type %v, want %v", name, f.GetType(), typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
	}
	for name := range s {
		if !strings.HasPrefix(name, "httpcache_") {
			t.Errorf("unexpected metric %s", name)
		}
	}
}

// downStore is a store that is down: every operation fails.
type downStore struct{}

var errDown = errors.New("store down")

func (downStore) Get(context.Context, string) ([]byte, error)              { return nil, errDown }
func (downStore) Set(context.Context, string, []byte, time.Duration) error { return errDown }
func (downStore) Delete(context.Context, ...string) error                  { return errDown }

// TestScrapeCountsStoreFailures: with a store that fails every operation,
// the failed lookups count as store errors by operation and as requests
// with detail store-error; once the guard's circuit opens, the gauge says
// so, and the operations it refuses count as skips, not as errors.
func TestScrapeCountsStoreFailures(t *testing.T) {
	opts := httpcache.Options{Guard: store.GuardOptions{Failures: 2, Cooldown: time.Hour}}
	a := newApp(t, store.Store(downStore{}), opts, httpcacheprom.Options{Store: "redis"}, articles)

	if got := a.get(t, "GET", "/articles/1"); got != "httpcache; fwd=uri-miss; detail=store-error" {
		t.Fatalf("first request: Cache-Status %q", got)
	}
	s := scrapeURL(t, a.metrics)
	s.want(t, 1, "httpcache_store_errors_total", "cache=default", "store=redis", "operation=get")
	s.want(t, 1, "httpcache_request_details_total", "outcome=miss", "detail=store-error")
	s.want(t, 1, "httpcache_requests_total", "route=/articles/{id}", "outcome=miss")
	s.want(t, 0, "httpcache_circuit_open", "store=redis")
	s.want(t, 0, "httpcache_store_skips_total", "store=redis")

	// The second failure in a row opens the circuit: the request's
	// response is not stored, for that reason.
	if got := a.get(t, "GET", "/articles/1"); got != "httpcache; fwd=uri-miss; detail=circuit-open" {
		t.Fatalf("second request: Cache-Status %q", got)
	}
	s = scrapeURL(t, a.metrics)
	s.want(t, 1, "httpcache_circuit_open", "store=redis")
	s.want(t, 2, "httpcache_store_errors_total", "operation=get")
	s.want(t, 0, "httpcache_store_skips_total", "store=redis")

	// The open circuit refuses the next lookup without calling the store:
	// a skip, not an error, and no store latency.
	if got := a.get(t, "GET", "/articles/1"); got != "httpcache; fwd=uri-miss; detail=circuit-open" {
		t.Fatalf("request with the circuit open: Cache-Status %q", got)
	}
	s = scrapeURL(t, a.metrics)
	s.want(t, 1, "httpcache_circuit_open", "store=redis")
	s.want(t, 2, "httpcache_store_errors_total", "operation=get")
	s.want(t, 2, "httpcache_store_operation_duration_seconds", "operation=get")
	s.want(t, 1, "httpcache_store_skips_total", "store=redis")
	s.want(t, 1, "httpcache_request_details_total", "outcome=miss", "detail=store-error")
	s.want(t, 2, "httpcache_request_details_total", "outcome=miss", "detail=circuit-open")
	s.want(t, 3, "httpcache_requests_total", "route=/articles/{id}", "outcome=miss")
	s.want(t, 3, "httpcache_lookups_total", "result=miss")
	s.want(t, 0, "httpcache_store_writes_total")
}

// TestRouteLabelIsBounded: a request the router had not matched when the
// cache saw it counts as "unrouted"; a Route that returns paths (the
// mistake MaxRoutes guards against) makes at most MaxRoutes route values,
// and the rest count as "other".
func TestRouteLabelIsBounded(t *testing.T) {
	t.Run("unrouted", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := httpcacheprom.New(httpcacheprom.Options{})
		var opts httpcache.Options
		m.Instrument(&opts)
		cache := httpcache.New(memory.New(memory.Options{}), opts)
		reg.MustRegister(m)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /articles/{id}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "article")
		})
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv := httptest.NewServer(cache.Handler(mux)) // the cache before the router
		defer srv.Close()
		a := &app{cache: cache, srv: srv}
		a.get(t, "GET", "/articles/1")
		a.get(t, "GET", "/articles/1")
		s := scrapeURL(t, srv.URL+"/metrics")
		s.want(t, 1, "httpcache_requests_total", "route=unrouted", "outcome=hit")
		// The miss was routed, on its way through the cache to the mux, but
		// the cache had seen it before: it counts as unrouted too.
		s.want(t, 1, "httpcache_requests_total", "route=unrouted", "outcome=miss")
	})
	t.Run("MaxRoutes", func(t *testing.T) {
		mo := httpcacheprom.Options{
			MaxRoutes: 2,
			Route:     func(ev httpcache.Event) string { return ev.Request.URL.Path }, // the mistake
		}
		a := newApp(t, memory.New(memory.Options{}), httpcache.Options{}, mo, articles)
		for _, p := range []string{"/articles/1", "/articles/2", "/articles/3", "/articles/4", "/articles/1"} {
			a.get(t, "GET", p)
		}
		s := scrapeURL(t, a.metrics)
		s.want(t, 1, "httpcache_requests_total", "route=/articles/1", "outcome=miss")
		s.want(t, 1, "httpcache_requests_total", "route=/articles/1", "outcome=hit")
		s.want(t, 1, "httpcache_requests_total", "route=/articles/2", "outcome=miss")
		s.want(t, 2, "httpcache_requests_total", "route=other", "outcome=miss")
		if got := s.series("httpcache_requests_total"); len(got) != 4 {
			t.Errorf("series %v, want 4", got)
		}
	})
}

// TestSeveralCachesInOneRegistry: two Caches' Metrics, named apart by
// Options.Cache, register in one registry and count apart; a second
// Metrics under a name already registered is refused.
func TestSeveralCachesInOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := chi.NewRouter()
	for _, name := range []string{"pages", "api"} {
		m := httpcacheprom.New(httpcacheprom.Options{Cache: name})
		var opts httpcache.Options
		m.Instrument(&opts)
		cache := httpcache.New(memory.New(memory.Options{}), opts)
		m.Watch(cache)
		if err := reg.Register(m); err != nil {
			t.Fatalf("registering cache %q: %v", name, err)
		}
		r.With(cache.Page(time.Minute)).Get("/"+name+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name)
		})
	}
	if err := reg.Register(httpcacheprom.New(httpcacheprom.Options{Cache: "api"})); err == nil {
		t.Error("a second Metrics named \"api\" registered")
	}
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	srv := httptest.NewServer(r)
	defer srv.Close()
	for _, p := range []string{"/pages/1", "/pages/1", "/api/1"} {
		res, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	s := scrapeURL(t, srv.URL+"/metrics")
	s.want(t, 1, "httpcache_requests_total", "cache=pages", "route=/pages/{id}", "outcome=hit")
	s.want(t, 1, "httpcache_requests_total", "cache=pages", "route=/pages/{id}", "outcome=miss")
	s.want(t, 1, "httpcache_requests_total", "cache=api", "route=/api/{id}", "outcome=miss")
	s.want(t, 1, "httpcache_lookups_total", "cache=pages", "result=hit")
	s.want(t, 0, "httpcache_lookups_total", "cache=api", "result=hit")
	s.want(t, 1, "httpcache_lookups_total", "cache=api", "result=miss")
}

// TestInstrumentKeepsHooksAlreadySet: hooks set before Instrument are
// still called, and the Metrics counts too.
func TestInstrumentKeepsHooksAlreadySet(t *testing.T) {
	var mu sync.Mutex
	var events, ops int
	opts := httpcache.Options{
		OnEvent:   func(httpcache.Event) { mu.Lock(); events++; mu.Unlock() },
		OnStoreOp: func(httpcache.StoreOp) { mu.Lock(); ops++; mu.Unlock() },
	}
	a := newApp(t, memory.New(memory.Options{}), opts, httpcacheprom.Options{}, articles) // Instruments opts
	a.get(t, "GET", "/articles/1")
	a.get(t, "GET", "/articles/1")
	mu.Lock()
	defer mu.Unlock()
	if events != 2 || ops == 0 {
		t.Fatalf("hooks set before Instrument saw %d events and %d store operations, want 2 and some", events, ops)
	}
	s := scrapeURL(t, a.metrics)
	s.want(t, 1, "httpcache_requests_total", "outcome=hit")
	s.want(t, 1, "httpcache_requests_total", "outcome=miss")
}

// TestNewPanicsOnBadOptions: options that cannot work are a programmer's
// error, caught at New rather than at the first request.
func TestNewPanicsOnBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts httpcacheprom.Options
	}{
		{"negative MaxRoutes", httpcacheprom.Options{MaxRoutes: -1}},
		{"buckets not increasing", httpcacheprom.Options{RequestBuckets: []float64{1, 0.5}}},
		{"empty store buckets", httpcacheprom.Options{StoreBuckets: []float64{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(fmt.Sprint(r), "httpcacheprom: ") {
					t.Fatalf("recovered %v, want a panic prefixed httpcacheprom:", r)
				}
			}()
			httpcacheprom.New(tc.opts)
		})
	}
}

// TestHooksAllocateNothing: once a request's series exist, counting its
// event and its store operations allocates nothing.
func TestHooksAllocateNothing(t *testing.T) {
	m := httpcacheprom.New(httpcacheprom.Options{})
	req := httptest.NewRequest("GET", "/articles/1", nil)
	hit := httpcache.Event{Request: req, Route: "/articles/{id}", Outcome: httpcache.OutcomeHit, Size: 100, Duration: time.Microsecond}
	stale := hit
	stale.Outcome, stale.Detail = httpcache.OutcomeStale, "stale-while-revalidate"
	get := httpcache.StoreOp{Op: "get", Duration: time.Microsecond}
	failed := httpcache.StoreOp{Op: "set", Duration: time.Microsecond, Err: errDown}
	for name, f := range map[string]func(){
		"hit":         func() { m.OnEvent(hit) },
		"stale":       func() { m.OnEvent(stale) },
		"store get":   func() { m.OnStoreOp(get) },
		"store error": func() { m.OnStoreOp(failed) },
	} {
		f() // makes the series
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
