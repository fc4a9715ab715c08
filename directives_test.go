package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestRequestDirectives: with Options.RequestDirectives, the client's
// Cache-Control is honoured; without, only no-store is, so clients cannot
// push requests past the cache.
func TestRequestDirectives(t *testing.T) {
	tests := []struct {
		name    string
		honour  bool
		advance time.Duration // after the fill; the response is max-age=60
		header  []string
		status  int
		cs      string // Cache-Status
		calls   int64  // handler calls in all, the fill included
	}{
		{"no-cache ignored by default", false, 0, []string{"Cache-Control", "no-cache"}, 200, "httpcache; hit", 1},
		{"max-age=0 ignored by default", false, 0, []string{"Cache-Control", "max-age=0"}, 200, "httpcache; hit", 1},
		{"no-cache", true, 0, []string{"Cache-Control", "no-cache"}, 200, "httpcache; fwd=request", 2},
		{"Pragma: no-cache", true, 0, []string{"Pragma", "no-cache"}, 200, "httpcache; fwd=request", 2},
		{"Pragma ignored beside Cache-Control", true, 0, []string{"Pragma", "no-cache", "Cache-Control", "max-stale"}, 200, "httpcache; hit", 1},
		{"max-age too old", true, 10 * time.Second, []string{"Cache-Control", "max-age=5"}, 200, "httpcache; fwd=request", 2},
		{"max-age young enough", true, 10 * time.Second, []string{"Cache-Control", "max-age=20"}, 200, "httpcache; hit", 1},
		{"min-fresh unmet", true, 50 * time.Second, []string{"Cache-Control", "min-fresh=20"}, 200, "httpcache; fwd=request", 2},
		{"min-fresh met", true, 30 * time.Second, []string{"Cache-Control", "min-fresh=20"}, 200, "httpcache; hit", 1},
		{"max-stale allows stale", true, 70 * time.Second, []string{"Cache-Control", "max-stale=20"}, 200, "httpcache; hit; detail=max-stale", 1},
		{"max-stale too short", true, 90 * time.Second, []string{"Cache-Control", "max-stale=20"}, 200, "httpcache; fwd=stale; stored", 2},
		{"max-stale without a value", true, 90 * time.Second, []string{"Cache-Control", "max-stale"}, 200, "httpcache; hit; detail=max-stale", 1},
		{"only-if-cached hit", true, 0, []string{"Cache-Control", "only-if-cached"}, 200, "httpcache; hit", 1},
		{"only-if-cached stale", true, 70 * time.Second, []string{"Cache-Control", "only-if-cached"}, 504, "httpcache; detail=only-if-cached", 1},
		// A stale entry within its stale-while-revalidate window, refused
		// by the client's no-cache, is reported stale (RFC 9211 §2.2).
		{"no-cache on a stale entry", true, 70 * time.Second, []string{"Cache-Control", "no-cache"}, 200, "httpcache; fwd=stale; stored", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			e.cache = httpcache.New(e.store, httpcache.Options{Clock: e.clock.Now, RequestDirectives: tc.honour})
			c := respond(200, map[string]string{"Cache-Control": "max-age=60", "Last-Modified": lmStr}, "x")
			h := e.cache.Handler(c)
			do(t, h, get("/d"))
			e.clock.Advance(tc.advance)
			res := do(t, h, get("/d", tc.header...))
			if res.status != tc.status || res.cacheStatus() != tc.cs || c.n() != tc.calls {
				t.Fatalf("got %d %q with %d calls; want %d %q with %d", res.status, res.cacheStatus(), c.n(), tc.status, tc.cs, tc.calls)
			}
		})
	}
}

// TestOnlyIfCachedMiss: nothing stored at all gives 504 without calling the
// handler.
func TestOnlyIfCachedMiss(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	e.cache = httpcache.New(e.store, httpcache.Options{Clock: e.clock.Now, RequestDirectives: true})
	c := respond(200, maxAge("60"), "x")
	res := do(t, e.cache.Handler(c), get("/none", "Cache-Control", "only-if-cached"))
	if res.status != http.StatusGatewayTimeout || c.n() != 0 || res.cacheStatus() != "httpcache; detail=only-if-cached" {
		t.Fatalf("%d %q, %d calls", res.status, res.cacheStatus(), c.n())
	}
}

// TestCacheStatusFwdReasons: fwd says why the request went forward (RFC
// 9211 §2.2): stale when the stored response was stale (even one
// stale-while-revalidate would have served), request when it was fresh
// but the client asked for more — through a revalidation too.
func TestCacheStatusFwdReasons(t *testing.T) {
	t.Run("stale in its SWR window, client no-cache", func(t *testing.T) {
		e := newEnv(t, httpcache.Options{RequestDirectives: true})
		v := newVersioned("max-age=10, stale-while-revalidate=60")
		h := e.cache.Handler(v)
		do(t, h, get("/a"))
		e.clock.Advance(20 * time.Second)
		if res := do(t, h, get("/a", "Cache-Control", "no-cache")); res.cacheStatus() != "httpcache; fwd=stale; stored" {
			t.Errorf("got %q", res.cacheStatus())
		}
	})
	t.Run("fresh, revalidated for the client's no-cache", func(t *testing.T) {
		e := newEnv(t, httpcache.Options{RequestDirectives: true})
		h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("ETag", `"a"`)
			if r.Header.Get("If-None-Match") == `"a"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			io.WriteString(w, "body")
		}})
		do(t, h, get("/a"))
		e.clock.Advance(5 * time.Second)
		if res := do(t, h, get("/a", "Cache-Control", "no-cache")); res.cacheStatus() != "httpcache; fwd=request; fwd-status=304" {
			t.Errorf("got %q", res.cacheStatus())
		}
	})
}

// TestClientForcedFetchDoesNotReplaceFreshEntry: a response fetched only
// because the client's Cache-Control refused a fresh stored response
// (no-cache, max-age=0, Pragma: no-cache) is served to that client, and
// does not replace — or, through a 304, rewrite — what every other client
// is served: else any client could swap the entry at will (poisoning
// through an unkeyed header then works at any moment) and keep the origin
// busy. Options.ClientRefreshReplaces lets it replace the entry, as RFC
// 9111 allows.
func TestClientForcedFetchDoesNotReplaceFreshEntry(t *testing.T) {
	for _, force := range [][]string{
		{"Cache-Control", "no-cache"},
		{"Cache-Control", "max-age=0"},
		{"Pragma", "no-cache"},
	} {
		for _, replaces := range []bool{false, true} {
			t.Run(force[0]+": "+force[1]+map[bool]string{true: ", replaces"}[replaces], func(t *testing.T) {
				e := newEnv(t, httpcache.Options{RequestDirectives: true, ClientRefreshReplaces: replaces})
				var version int
				h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
					version++
					w.Header().Set("Cache-Control", "max-age=600")
					// What an unkeyed header makes of the page.
					fmt.Fprintf(w, "v%d %s", version, r.Header.Get("X-Forwarded-Host"))
				}})
				do(t, h, get("/a"))
				e.clock.Advance(time.Second)
				forced := do(t, h, get("/a", force[0], force[1], "X-Forwarded-Host", "evil.example"))
				if forced.body != "v2 evil.example" {
					t.Fatalf("forced fetch served %q (Cache-Status %q)", forced.body, forced.cacheStatus())
				}
				want, status := "v1 ", "httpcache; fwd=request"
				if replaces {
					want, status = "v2 evil.example", "httpcache; fwd=request; stored"
				}
				if forced.cacheStatus() != status {
					t.Errorf("forced fetch: Cache-Status %q, want %q", forced.cacheStatus(), status)
				}
				if res := do(t, h, get("/a")); res.body != want || !isHit(res) {
					t.Fatalf("next client served %q (Cache-Status %q), want %q from the cache", res.body, res.cacheStatus(), want)
				}
			})
		}
	}
}

// TestClientForcedRevalidationDoesNotRewriteFreshEntry: the same holds when
// the fresh entry is revalidated for the client and the handler answers
// 304 with header fields of its own: the client gets them, the entry keeps
// its own.
func TestClientForcedRevalidationDoesNotRewriteFreshEntry(t *testing.T) {
	e := newEnv(t, httpcache.Options{RequestDirectives: true})
	h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("ETag", `"a"`)
		if r.Header.Get("If-None-Match") == `"a"` {
			w.Header().Set("Link", "<https://evil.example/x.js>; rel=preload")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body")
	}})
	do(t, h, get("/a"))
	e.clock.Advance(5 * time.Second)
	forced := do(t, h, get("/a", "Cache-Control", "no-cache"))
	if forced.body != "body" || forced.cacheStatus() != "httpcache; fwd=request; fwd-status=304" {
		t.Fatalf("forced revalidation: %q, Cache-Status %q", forced.body, forced.cacheStatus())
	}
	e.clock.Advance(5 * time.Second)
	res := do(t, h, get("/a"))
	if !isHit(res) || res.header.Get("Link") != "" || res.header.Get("Age") != "10" {
		t.Fatalf("next client: Cache-Status %q, Link %q, Age %q; want the entry as stored 10 s ago",
			res.cacheStatus(), res.header.Get("Link"), res.header.Get("Age"))
	}
}
