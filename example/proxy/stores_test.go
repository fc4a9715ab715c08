package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
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

// named is an origin that answers every path with its own name, cacheable,
// and counts the requests reaching it.
type named struct {
	name string
	hits atomic.Int64
}

func (o *named) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	w.Header().Set("Cache-Control", "max-age=600")
	io.WriteString(w, o.name+" "+r.URL.Path)
}

// fetchHost is a GET of base+path with the Host header host, as a client of
// a virtual host sends it.
func fetchHost(t *testing.T, base, host, path string) (*http.Response, string) {
	t.Helper()
	return fetchAs(t, "GET", base+path, host)
}

// storedVia requests host+path through base until it is a hit (writes to
// Redis land in the background), at most 40 s, and returns its body.
func storedVia(t *testing.T, base, host, path string) string {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		resp, body := fetchHost(t, base, host, path)
		if resp.Header.Get("Cache-Status") == "httpcache; hit" {
			return body
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s%s via %s never served from the store", host, path, base)
	return ""
}

// TestProxiesForDifferentOriginsNeverShareEntries: two proxy processes
// with different -origin on one Redis each serve their own origin's
// response for the same Host and path, never the other's. Proxies for one
// origin share entries, by default.
func TestProxiesForDifferentOriginsNeverShareEntries(t *testing.T) {
	bin := buildProxy(t)
	redis := testserver.Redis(t)
	a, b := &named{name: "A"}, &named{name: "B"}
	originA, originB := httptest.NewServer(a), httptest.NewServer(b)
	defer originA.Close()
	defer originB.Close()
	store := []string{"-store", "redis", "-redis", redis.URL()}
	proxyA := startBinary(t, bin, append([]string{"-origin", originA.URL}, store...)...)
	proxyB := startBinary(t, bin, append([]string{"-origin", originB.URL}, store...)...)

	const host, path = "www.example.com", "/page"
	if body := storedVia(t, proxyA.base, host, path); body != "A "+path {
		t.Fatalf("proxy A served %q", body)
	}
	resp, body := fetchHost(t, proxyB.base, host, path)
	if body != "B "+path || b.hits.Load() != 1 {
		t.Fatalf("proxy B served %q (%s) with origin A's entry in the store; origin B reached %d times",
			body, resp.Header.Get("Cache-Status"), b.hits.Load())
	}
	if body := storedVia(t, proxyB.base, host, path); body != "B "+path {
		t.Fatalf("proxy B served %q", body)
	}
	if _, body := fetchHost(t, proxyA.base, host, path); body != "A "+path {
		t.Fatalf("proxy A served %q once proxy B had stored its own", body)
	}

	// A second proxy for origin A, with the default prefix, finds what
	// the first stored.
	hits := a.hits.Load()
	proxyA2 := startBinary(t, bin, append([]string{"-origin", originA.URL}, store...)...)
	if resp, body := fetchHost(t, proxyA2.base, host, path); body != "A "+path || resp.Header.Get("Cache-Status") != "httpcache; hit" || a.hits.Load() != hits {
		t.Fatalf("a second proxy for origin A: %q (%s), origin reached again: %v", body, resp.Header.Get("Cache-Status"), a.hits.Load() != hits)
	}
}

// TestProxiesWithDifferentKeyPrefixesNeverShareEntries: -key-prefix sets
// the prefix explicitly; proxies for one origin with different prefixes on
// one Redis each keep their own entries.
func TestProxiesWithDifferentKeyPrefixesNeverShareEntries(t *testing.T) {
	bin := buildProxy(t)
	redis := testserver.Redis(t)
	o := &named{name: "O"}
	origin := httptest.NewServer(o)
	defer origin.Close()
	args := []string{"-origin", origin.URL, "-store", "redis", "-redis", redis.URL()}
	proxyA := startBinary(t, bin, append(args, "-key-prefix", "siteA:")...)
	proxyB := startBinary(t, bin, append(args, "-key-prefix", "siteB:")...)

	const host, path = "www.example.com", "/page"
	storedVia(t, proxyA.base, host, path)
	hits := o.hits.Load()
	resp, _ := fetchHost(t, proxyB.base, host, path)
	if o.hits.Load() != hits+1 || !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("proxy B (-key-prefix siteB:) answered from proxy A's entry: %q", resp.Header.Get("Cache-Status"))
	}
	// And the same explicit prefix is shared.
	proxyA2 := startBinary(t, bin, append(args, "-key-prefix", "siteA:")...)
	hits = o.hits.Load()
	if resp, _ := fetchHost(t, proxyA2.base, host, path); resp.Header.Get("Cache-Status") != "httpcache; hit" || o.hits.Load() != hits {
		t.Fatalf("a second proxy with -key-prefix siteA: did not find the first's entry: %q", resp.Header.Get("Cache-Status"))
	}
}

// TestProxyTagPurgeLeavesOtherKeyPrefixEntries: two proxies for one origin
// with different -key-prefix on one Redis: a tag purge through one drops
// its own tagged entries and leaves the other's.
func TestProxyTagPurgeLeavesOtherKeyPrefixEntries(t *testing.T) {
	bin := buildProxy(t)
	redis := testserver.Redis(t)
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "article:1")
		io.WriteString(w, "article "+r.URL.Path)
	}))
	defer origin.Close()
	args := []string{"-origin", origin.URL, "-store", "redis", "-redis", redis.URL(), "-purge-token", "T"}
	proxyA := startBinary(t, bin, append(args, "-key-prefix", "siteA:")...)
	proxyB := startBinary(t, bin, append(args, "-key-prefix", "siteB:")...)

	const host, path = "www.example.com", "/article/1"
	storedVia(t, proxyA.base, host, path)
	storedVia(t, proxyB.base, host, path)

	req, _ := http.NewRequest("PURGE", proxyA.base+"/", nil)
	req.Host = host
	req.Header.Set("Authorization", "Bearer T")
	req.Header.Set("Cache-Tag", "article:1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PURGE through proxy A: %d %q", resp.StatusCode, body)
	}

	before := hits.Load()
	if resp, _ := fetchHost(t, proxyB.base, host, path); resp.Header.Get("Cache-Status") != "httpcache; hit" || hits.Load() != before {
		t.Fatalf("proxy B (siteB:) after a tag purge through proxy A (siteA:): %q, origin reached %d more times",
			resp.Header.Get("Cache-Status"), hits.Load()-before)
	}
	if resp, _ := fetchHost(t, proxyA.base, host, path); !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=uri-miss") || hits.Load() != before+1 {
		t.Fatalf("proxy A after its own tag purge: %q, want a miss", resp.Header.Get("Cache-Status"))
	}
}
