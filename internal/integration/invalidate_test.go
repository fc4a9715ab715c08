package integration_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/seedcache/httpcache/internal/testwait"
)

// TestInvalidatedVariantStaysGone: one instance's GET reads a URL's Vary
// index; while its handler runs, a POST through the other instance
// invalidates the URL; the GET's variant outlives the index it read. The
// index must not be rewritten with its old epoch, which would bring back
// the variants stored before the POST — on Redis, Memcached and tiered.
func TestInvalidatedVariantStaysGone(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			var version atomic.Int64
			var h1 http.Handler
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					version.Add(1)
					w.WriteHeader(http.StatusNoContent)
					return
				}
				lang := r.Header.Get("Accept-Language")
				maxAge := 100
				if lang == "en" {
					maxAge = 1000
					if r.Header.Get("X-Post-Meanwhile") != "" {
						rec := httptest.NewRecorder()
						h1.ServeHTTP(rec, httptest.NewRequest("POST", "http://example.com/a", nil))
						if rec.Code != http.StatusNoContent {
							panic(rec.Code)
						}
					}
				}
				w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", maxAge))
				w.Header().Set("Vary", "Accept-Language")
				fmt.Fprintf(w, "%s v%d", lang, version.Load())
			})
			c1, c2 := newCache(b.open(t, srv.Addr())), newCache(b.open(t, srv.Addr()))
			h1 = c1.Handler(app)
			h2 := c2.Handler(app)
			serve := func(h http.Handler, lang string, post bool) (string, string) {
				r := httptest.NewRequest("GET", "http://example.com/a", nil)
				r.Header.Set("Accept-Language", lang)
				if post {
					r.Header.Set("X-Post-Meanwhile", "1")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				body, _ := io.ReadAll(rec.Result().Body)
				return string(body), rec.Header().Get("Cache-Status")
			}
			serve(h1, "fr", false)
			c1.Wait()
			if body, st := serve(h2, "fr", false); body != "fr v0" || st != "httpcache; hit" {
				t.Fatalf("fr not shared: %q %q", body, st)
			}
			if body, _ := serve(h2, "en", true); body != "en v1" {
				t.Fatalf("en: %q", body)
			}
			c2.Wait()
			c1.Wait()
			if b.lagging {
				// Instance 2's L1 may serve its copy until the pub/sub
				// message of instance 1's delete arrives (at most its
				// L1 TTL). An index rewritten in the shared store would
				// keep it from ever seeing v1.
				testwait.For(t, "instance 2 to hear of the POST", func() bool {
					body, _ := serve(h2, "fr", false)
					return body == "fr v1"
				})
			}
			for i, h := range []http.Handler{h1, h2} {
				if body, st := serve(h, "fr", false); body != "fr v1" {
					t.Errorf("instance %d, after the POST invalidated /a: fr served %q (%s), want \"fr v1\"", i+1, body, st)
				}
			}
		})
	}
}
