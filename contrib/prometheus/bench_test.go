package httpcacheprom_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedcache/httpcache"
	httpcacheprom "github.com/seedcache/httpcache/contrib/prometheus"
	"github.com/seedcache/httpcache/stores/memory"
)

// sink is a ResponseWriter that keeps nothing but the status and a count.
type sink struct {
	h      http.Header
	status int
	n      int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(p []byte) (int, error) { s.n += len(p); return len(p), nil }
func (s *sink) reset()                      { clear(s.h); s.status, s.n = 0, 0 }

// BenchmarkHit measures a 1 KiB memory-store hit of a routed request with
// no hooks (kind=none), with no-op hooks (kind=noop: the core's cost of
// making events), and with a registered Metrics' hooks (kind=collector),
// side by side in one run.
func BenchmarkHit(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<10)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(body)
	})
	for _, kind := range []string{"none", "noop", "collector"} {
		b.Run("kind="+kind, func(b *testing.B) {
			var opts httpcache.Options
			switch kind {
			case "noop":
				opts.OnEvent = func(httpcache.Event) {}
				opts.OnStoreOp = func(httpcache.StoreOp) {}
			case "collector":
				m := httpcacheprom.New(httpcacheprom.Options{})
				m.Instrument(&opts)
				prometheus.NewRegistry().MustRegister(m)
			}
			c := httpcache.New(memory.New(memory.Options{}), opts)
			h := c.Handler(page)
			req := httptest.NewRequest("GET", "http://example.com/articles/42", nil)
			req.Pattern = "/articles/{id}" // as the router leaves it
			w := &sink{h: make(http.Header)}
			h.ServeHTTP(w, req) // stores
			c.Wait()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
			}
			if s := c.Stats(); w.status != http.StatusOK || w.n != len(body) || s.Hits != uint64(b.N) {
				b.Fatalf("status %d, %d bytes, %d hits of %d", w.status, w.n, s.Hits, b.N)
			}
		})
	}
}
