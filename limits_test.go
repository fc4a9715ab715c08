package httpcache_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
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
