package bench

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/stampede"
	memcache "github.com/goware/cachestore-mem"
	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
	vscache "github.com/victorspringer/http-cache"
	vsmemory "github.com/victorspringer/http-cache/adapter/memory"
)

// sink is a minimal ResponseWriter reused across iterations, so that what
// is measured is the handler and the middleware, not a recorder's buffers.
// A Write without WriteHeader means 200, as in net/http (victorspringer's
// hit never calls WriteHeader).
type sink struct {
	h      http.Header
	status int
	n      int
}

func newSink() *sink { return &sink{h: make(http.Header)} }

func (s *sink) Header() http.Header { return s.h }

func (s *sink) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

func (s *sink) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	s.n += len(p)
	return len(p), nil
}

func (s *sink) reset() { clear(s.h); s.status, s.n = 0, 0 }

// page is the handler every contender caches: typical headers, a shared
// cache lifetime of an hour, optionally Vary: Accept-Encoding, and a body.
// It counts its calls, so that a benchmark of hits can show they were hits.
type page struct {
	body  []byte
	vary  bool
	calls atomic.Int64
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Etag", `"5f2b9c1e"`)
	h.Set("Last-Modified", "Mon, 02 Jan 2026 15:04:05 GMT")
	if p.vary {
		h.Set("Vary", "Accept-Encoding")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(p.body)
}

var sizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// contender is one way of serving the page: the bare handler or a cache in
// front of it. wrap returns the handler to measure and the number of page
// calls expected for n requests after priming (n for the bare handler, 0
// for a cache).
type contender struct {
	kind string
	// varies is true if the contender keys on Vary: the peers ignore it
	// (they key on the URL alone), so they are measured without Vary only.
	varies bool
	wrap   func(tb testing.TB, p *page) http.Handler
	// hits is false for the bare handler, which calls the page every time.
	hits bool
}

var contenders = []contender{
	{kind: "bare", varies: true, wrap: func(tb testing.TB, p *page) http.Handler { return p }},
	{kind: "httpcache", varies: true, hits: true, wrap: func(tb testing.TB, p *page) http.Handler {
		c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
		return waitAfterPriming{c.Handler(p), c}
	}},
	{kind: "stampede", hits: true, wrap: func(tb testing.TB, p *page) http.Handler {
		backend, err := memcache.NewBackend(1024)
		if err != nil {
			tb.Fatal(err)
		}
		return stampede.Handler(slog.New(slog.DiscardHandler), backend, time.Hour)(p)
	}},
	{kind: "victorspringer", hits: true, wrap: func(tb testing.TB, p *page) http.Handler {
		adapter, err := vsmemory.NewAdapter(vsmemory.AdapterWithAlgorithm(vsmemory.LRU), vsmemory.AdapterWithCapacity(1024))
		if err != nil {
			tb.Fatal(err)
		}
		client, err := vscache.NewClient(vscache.ClientWithAdapter(adapter), vscache.ClientWithTTL(time.Hour))
		if err != nil {
			tb.Fatal(err)
		}
		return client.Middleware(p)
	}},
}

// waitAfterPriming lets prime wait for httpcache's background write.
type waitAfterPriming struct {
	http.Handler
	c *httpcache.Cache
}

func newRequest() *http.Request {
	req := httptest.NewRequest("GET", "http://example.com/articles/42?page=2", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	return req
}

// prime serves the first request, which stores the response, with a
// writer of its own: stampede keeps the first writer's header map as its
// stored header, so the reused sink must not be that map.
func prime(tb testing.TB, h http.Handler, req *http.Request) {
	w := newSink()
	h.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		tb.Fatalf("priming: status %d", w.status)
	}
	if wp, ok := h.(waitAfterPriming); ok {
		wp.c.Wait()
	}
}

// BenchmarkPeers serves the page through each contender, every request a
// hit after the first, side by side in one run:
//
//	go test -run '^$' -bench Peers -benchtime 1s -count 10 > peers.txt
//	benchstat -col /kind peers.txt
//
// kind=bare is the handler alone, the baseline. The peers key on the URL
// alone and so appear only with vary=false.
func BenchmarkPeers(b *testing.B) {
	for _, sz := range sizes {
		for _, vary := range []bool{false, true} {
			for _, c := range contenders {
				if vary && !c.varies {
					continue
				}
				name := fmt.Sprintf("size=%s/vary=%s/kind=%s", sz.name, strconv.FormatBool(vary), c.kind)
				b.Run(name, func(b *testing.B) {
					p := &page{body: bytes.Repeat([]byte("x"), sz.size), vary: vary}
					h := c.wrap(b, p)
					req := newRequest()
					prime(b, h, req)
					before := p.calls.Load()
					w := newSink()
					b.ReportAllocs()
					n := 0
					for b.Loop() {
						w.reset()
						h.ServeHTTP(w, req)
						n++
					}
					b.StopTimer()
					if w.status != http.StatusOK || w.n != sz.size {
						b.Fatalf("status %d, %d bytes, want 200 and %d", w.status, w.n, sz.size)
					}
					want := int64(n)
					if c.hits {
						want = 0
					}
					if got := p.calls.Load() - before; got != want {
						b.Fatalf("the page was called %d times for %d requests, want %d", got, n, want)
					}
				})
			}
		}
	}
}

// TestContendersServeHits checks what BenchmarkPeers relies on: after the
// first request, every cache answers with the page's status, headers and
// body without calling it.
func TestContendersServeHits(t *testing.T) {
	for _, c := range contenders {
		t.Run(c.kind, func(t *testing.T) {
			p := &page{body: bytes.Repeat([]byte("y"), 1<<10)}
			h := c.wrap(t, p)
			req := newRequest()
			prime(t, h, req)
			for i := range 3 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				res := rec.Result()
				if res.StatusCode != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), p.body) {
					t.Fatalf("request %d: status %d, %d bytes", i, res.StatusCode, rec.Body.Len())
				}
				if got := res.Header.Get("Cache-Control"); got != "public, max-age=3600" {
					t.Errorf("request %d: Cache-Control %q", i, got)
				}
			}
			want := int64(1)
			if !c.hits {
				want = 4
			}
			if got := p.calls.Load(); got != want {
				t.Errorf("page called %d times for 4 requests, want %d", got, want)
			}
		})
	}
}
