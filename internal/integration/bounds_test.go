package integration_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestHugeQueriesDoNotGrowTheHeap: 200 requests with 256 KiB query
// strings, on a response that varies (so that, on a networked store, the
// URL's Vary index would be hinted in process), grow the process's live
// heap by under 16 MiB on every store, and write nothing to it: such
// requests bypass the cache (Options.MaxURLBytes), and nothing about them
// is kept.
func TestHugeQueriesDoNotGrowTheHeap(t *testing.T) {
	type opener struct {
		name string
		open func(t *testing.T) httpcache.Store
	}
	stores := []opener{{"memory", func(*testing.T) httpcache.Store { return memory.New(memory.Options{}) }}}
	for _, b := range backends {
		stores = append(stores, opener{b.name, func(t *testing.T) httpcache.Store {
			srv := b.start(t)
			return b.dial(t, srv.Addr(), httpcache.GuardOptions{})
		}})
	}
	query := strings.Repeat("q", 256<<10)
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			cache := httpcache.New(st.open(t), httpcache.Options{Logger: quiet()})
			a := &app{}
			h := cache.Handler(a)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range 200 {
				r := httptest.NewRequest("GET", "/page?vary=1&i="+strconv.Itoa(i)+"&q="+query, nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK || rec.Header().Get("Cache-Status") != "httpcache; fwd=bypass; detail=too-long" {
					t.Fatalf("request %d: %d %q", i, rec.Code, rec.Header().Get("Cache-Status"))
				}
			}
			cache.Wait()
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(cache)
			grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("live heap grew by %.2f MiB", float64(grown)/(1<<20))
			if grown > 16<<20 {
				t.Fatalf("live heap grew by %d bytes after 200 requests with 256 KiB queries", grown)
			}
			if n := a.calls.Load(); n != 200 {
				t.Fatalf("handler called %d times, want 200", n)
			}
		})
	}
}
