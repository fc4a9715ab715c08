package httpcache_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// sink is a minimal ResponseWriter reused across iterations, so that the
// benchmarks measure the handler and the middleware, not a recorder's
// buffer growth. Bare handler, hit and miss all write to it alike.
type sink struct {
	h      http.Header
	status int
	n      int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(p []byte) (int, error) { s.n += len(p); return len(p), nil }
func (s *sink) reset()                      { clear(s.h); s.status, s.n = 0, 0 }

// pageHandler is the handler the benchmarks serve: typical headers, with
// or without Vary: Accept-Encoding, and a body.
func pageHandler(body []byte, vary bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Etag", `"5f2b9c1e"`)
		h.Set("Last-Modified", "Mon, 02 Jan 2026 15:04:05 GMT")
		if vary {
			h.Set("Vary", "Accept-Encoding")
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// bytesOnly hides a store's optional interfaces.
type bytesOnly struct{ httpcache.Store }

var benchSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// BenchmarkServe compares, for each body size and with and without Vary,
// the bare handler with a memory-store hit and a miss (an expired entry
// refetched and stored again) of the same response, side by side in one run.
func BenchmarkServe(b *testing.B) {
	for _, sz := range benchSizes {
		for _, vary := range []bool{false, true} {
			benchServe(b, sz.name, sz.size, vary)
		}
	}
}

func benchServe(b *testing.B, sizeName string, size int, vary bool) {
	body := bytes.Repeat([]byte("x"), size)
	handler := pageHandler(body, vary)
	req := httptest.NewRequest("GET", "http://example.com/articles/42?page=2", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	name := "size=" + sizeName + "/vary=" + strconv.FormatBool(vary)
	b.Run(name+"/kind=bare", func(b *testing.B) {
		run(b, handler, req)
	})
	b.Run(name+"/kind=hit", func(b *testing.B) {
		c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
		benchHits(b, c, c.Handler(handler), req)
	})
	b.Run(name+"/kind=hit-event", func(b *testing.B) {
		// A no-op event hook: the cost of Options.OnEvent itself.
		c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{OnEvent: func(httpcache.Event) {}})
		benchHits(b, c, c.Handler(handler), req)
	})
	b.Run(name+"/kind=hit-decode", func(b *testing.B) {
		// The same store seen only as a Store: every hit decodes the
		// stored bytes, as it must with a networked store.
		// Such a store is written after the response, in the background.
		c := httpcache.New(bytesOnly{memory.New(memory.Options{})}, httpcache.Options{})
		benchHits(b, c, c.Handler(handler), req)
	})
	b.Run(name+"/kind=miss", func(b *testing.B) {
		clk := newClock()
		c := httpcache.New(memory.New(memory.Options{Clock: clk.Now}), httpcache.Options{Clock: clk.Now})
		cached := c.Handler(handler)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			clk.Advance(301 * time.Second) // what was stored is stale now
			cached.ServeHTTP(w, r)
		})
		run(b, h, req)
		if s := c.Stats(); s.Hits != 0 || s.Stores < uint64(b.N) {
			b.Fatalf("stats %+v for %d iterations", s, b.N)
		}
	})
}

// benchHits stores the response before timing (waiting for a write made
// in the background), then measures hits only.
func benchHits(b *testing.B, c *httpcache.Cache, h http.Handler, req *http.Request) {
	h.ServeHTTP(&sink{h: make(http.Header)}, req)
	c.Wait()
	run(b, h, req)
	if s := c.Stats(); s.Hits != uint64(b.N) {
		b.Fatalf("hits %d of %d", s.Hits, b.N)
	}
}

func run(b *testing.B, h http.Handler, req *http.Request) {
	w := &sink{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
	}
	if w.status != http.StatusOK || w.n == 0 {
		b.Fatalf("status %d, %d bytes", w.status, w.n)
	}
}

// BenchmarkHitParallel measures hits from all cores on one key.
func BenchmarkHitParallel(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<10)
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	h := c.Handler(pageHandler(body, true))
	req := httptest.NewRequest("GET", "http://example.com/articles/42", nil)
	h.ServeHTTP(&sink{h: make(http.Header)}, req)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &sink{h: make(http.Header)}
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkLoopback puts the comparison in context: the same handler, bare
// and behind a memory-store hit, served by net/http over loopback to a
// keep-alive client.
func BenchmarkLoopback(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<10)
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	for _, tc := range []struct {
		kind string
		h    http.Handler
	}{
		{"bare", pageHandler(body, true)},
		{"hit", c.Handler(pageHandler(body, true))},
	} {
		b.Run("kind="+tc.kind, func(b *testing.B) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			client := srv.Client()
			req, _ := http.NewRequest("GET", srv.URL+"/articles/42", nil)
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkHitAfterPurge: a memory-store hit on an entry stored before a
// purge (of another tag): its purge check is made once and remembered, so
// the hit costs what any hit does.
func BenchmarkHitAfterPurge(b *testing.B) {
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	h := c.Handler(pageHandler(bytes.Repeat([]byte("x"), 1<<10), false))
	req := httptest.NewRequest("GET", "http://example.com/articles/42", nil)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := c.PurgeTags(context.Background(), "other"); err != nil {
		b.Fatal(err)
	}
	run(b, h, req)
	if s := c.Stats(); s.Hits != uint64(b.N) {
		b.Fatalf("hits %d of %d", s.Hits, b.N)
	}
}

// BenchmarkRangeHit compares, on the memory store with RangeRequests, a
// hit for the whole 64 KiB response with a hit for its first 1 KiB (a 206),
// side by side in one run.
func BenchmarkRangeHit(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 64<<10)
	for _, kind := range []string{"full", "range"} {
		b.Run("kind="+kind, func(b *testing.B) {
			c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{RangeRequests: true})
			h := c.Handler(pageHandler(body, false))
			req := httptest.NewRequest("GET", "http://example.com/video", nil)
			h.ServeHTTP(&sink{h: make(http.Header)}, req)
			want := http.StatusOK
			if kind == "range" {
				req = req.Clone(req.Context())
				req.Header.Set("Range", "bytes=0-1023")
				want = http.StatusPartialContent
			}
			w := &sink{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
			}
			if w.status != want || c.Stats().Hits == 0 {
				b.Fatalf("status %d, hits %d", w.status, c.Stats().Hits)
			}
		})
	}
}
