package main

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testserver"
)

// TestProxyStores runs the proxy over each shared store, against real
// servers: it caches as it does with the memory store, and while the store
// is stopped it keeps answering from the origin.
func TestProxyStores(t *testing.T) {
	tests := []struct {
		kind   string
		server func(tb testing.TB) *testserver.Server
		flag   func(s *testserver.Server) []string
	}{
		{"redis", testserver.Redis, func(s *testserver.Server) []string { return []string{"-redis", s.URL()} }},
		{"tiered", testserver.Redis, func(s *testserver.Server) []string { return []string{"-redis", s.URL()} }},
		{"memcached", testserver.Memcached, func(s *testserver.Server) []string { return []string{"-memcached", s.Addr()} }},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			srv := tc.server(t)
			srv.SkipIfExternal(t) // the test stops and starts it
			o := &origin{}
			originSrv := httptest.NewServer(o)
			defer originSrv.Close()
			base := startProxy(t, append([]string{"-origin", originSrv.URL, "-store", tc.kind}, tc.flag(srv)...)...)

			// Cached: writes to a shared store land in the background,
			// so poll (bounded) for the first hit.
			if !eventuallyHit(t, base+"/cacheable") {
				t.Fatalf("never served from the %s store", tc.kind)
			}
			hits := o.hits.Load()
			if resp, _ := fetch(t, "GET", base+"/cacheable"); resp.Header.Get("Age") == "" || o.hits.Load() != hits {
				t.Fatalf("hit reached the origin or lacks Age: %v", resp.Header)
			}
			fetch(t, "GET", base+"/nostore")
			if resp, _ := fetch(t, "GET", base+"/nostore"); !strings.Contains(resp.Header.Get("Cache-Status"), "detail=no-store") {
				t.Fatalf("no-store: %q", resp.Header.Get("Cache-Status"))
			}

			// The store goes away: every request is still answered, by
			// the origin. (tiered may still serve its L1 copy for a moment.)
			srv.Stop()
			for i := range 20 {
				resp, body := fetch(t, "GET", base+"/fresh?i="+strconv.Itoa(i))
				if resp.StatusCode != 200 || body != "GET /fresh?i="+strconv.Itoa(i) {
					t.Fatalf("with the store down: %d %q", resp.StatusCode, body)
				}
			}
			srv.Start()
			// And caching resumes once the circuit breaker's probe finds
			// it back (cooldown 1 s, doubling while it was down).
			if !eventuallyHit(t, base+"/cacheable?after=restart") {
				t.Fatal("caching did not resume after the store came back")
			}
		})
	}
}

// eventuallyHit requests url until it is served from cache, for at most 40 s
// (the breaker's cooldown may have doubled a few times while a store was down).
func eventuallyHit(t *testing.T, url string) bool {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		resp, _ := fetch(t, "GET", url)
		if resp.Header.Get("Cache-Status") == "httpcache; hit" {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
