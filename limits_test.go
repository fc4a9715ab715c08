package httpcache_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestOversizedURLBypassesCache: a request whose URL (host, path and query)
// is longer than Options.MaxURLBytes (8 KiB by default, nginx's 414
// boundary) bypasses the cache: nothing about it is looked up, stored or
// remembered, so a client sending huge URLs cannot make the cache spend
// memory or store space on them.
func TestOversizedURLBypassesCache(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		query int // length of the query string
		kept  bool
	}{
		{"default, under", 0, 8000, true},
		{"default, over", 0, 8 << 10, false},
		{"configured, under", 100, 50, true},
		{"configured, over", 100, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{MaxURLBytes: tc.max})
			h := e.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60", "Vary": "Accept-Language"}, "x"))
			target := "/a?q=" + strings.Repeat("x", tc.query-2)
			first := do(t, h, get(target))
			second := do(t, h, get(target))
			if tc.kept {
				if !isHit(second) {
					t.Fatalf("second request: %q, want a hit", second.cacheStatus())
				}
				return
			}
			for _, res := range []result{first, second} {
				if res.status != http.StatusOK || res.cacheStatus() != "httpcache; fwd=bypass; detail=too-long" {
					t.Fatalf("%d %q, want 200 and a bypass (detail=too-long)", res.status, res.cacheStatus())
				}
			}
			if n := e.store.Stats().Entries; n != 0 {
				t.Fatalf("the store holds %d entries after oversized requests, want 0", n)
			}
		})
	}
}

// TestVaryKeyMaterialBoundedForHugeHeaders: the request headers a
// response varies on enter its key, and the entry keeps that key material;
// a value longer than 256 bytes once normalised (a 64 KiB Accept-Language)
// is keyed by its digest, so that neither the key nor the stored entry
// grows with what a client sends. Equal huge values still share their
// variant, and different ones do not.
func TestVaryKeyMaterialBoundedForHugeHeaders(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	c := respond(200, map[string]string{"Cache-Control": "max-age=60", "Vary": "Accept-Language"}, "x")
	h := e.cache.Handler(c)
	do(t, h, get("/a")) // the URL's Vary index
	huge := strings.Repeat("en-US,", (64<<10)/6)
	before := e.store.Stats().Bytes
	do(t, h, get("/a", "Accept-Language", huge))
	if grown := e.store.Stats().Bytes - before; grown > 8<<10 {
		t.Fatalf("the store grew by %d bytes for one request with a %d-byte Accept-Language", grown, len(huge))
	}
	if res := do(t, h, get("/a", "Accept-Language", huge)); !isHit(res) {
		t.Fatalf("the same huge Accept-Language again: %q, want a hit", res.cacheStatus())
	}
	if res := do(t, h, get("/a", "Accept-Language", huge+"fr")); isHit(res) || c.n() != 3 {
		t.Fatalf("a different huge Accept-Language: %q after %d calls, want its own fetch", res.cacheStatus(), c.n())
	}
}

// TestMemoryStoreBudgetBoundsLiveHeap: a memory store filled through the
// cache holds about what its MaxBytes says — the values, the decoded
// responses kept beside them, keys and bookkeeping — so that the live heap
// grows by at most the budget and a small constant, however small the
// responses and however many their header fields.
func TestMemoryStoreBudgetBoundsLiveHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap; skipped in -short mode")
	}
	const budget = 8 << 20
	for _, fields := range []int{6, 20} {
		t.Run(itoa(int64(fields))+" header fields", func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			store := memory.New(memory.Options{MaxBytes: budget})
			cache := httpcache.New(store, httpcache.Options{})
			body := strings.Repeat("b", 100)
			h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=3600")
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				for i := 2; i < fields; i++ {
					w.Header().Set("X-Field-"+itoa(int64(i)), "value of a header field")
				}
				io.WriteString(w, body)
			}))
			for i := range 40000 {
				h.ServeHTTP(&discard{header: http.Header{}}, httptest.NewRequest("GET", "/page/"+itoa(int64(i)), nil))
			}
			st := store.Stats()
			if st.Evictions == 0 {
				t.Fatalf("the store never filled: %+v", st)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(cache)
			grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("live heap grew by %.1f MiB for a %d MiB budget (%d entries, %d bytes counted)",
				float64(grown)/(1<<20), budget>>20, st.Entries, st.Bytes)
			if limit := int64(budget + budget/8 + 2<<20); grown > limit {
				t.Fatalf("live heap grew by %d bytes, over the %d-byte budget plus slack (%d)", grown, budget, limit)
			}
		})
	}
}

// discard is a ResponseWriter that keeps nothing but its header.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
