package httpcache_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// article is a tiny resource: GET reads it, unsafe methods change it and
// answer with the status in the X-Status request header (default 200).
type article struct {
	version atomic.Int64
	gets    atomic.Int64
}

func (a *article) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		a.gets.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, r.URL.Path+" v"+itoa(a.version.Load()))
	default:
		status := http.StatusOK
		if s := r.Header.Get("X-Status"); s != "" {
			status = atoi(s)
		}
		if status < 400 {
			a.version.Add(1)
		}
		if loc := r.Header.Get("X-Location"); loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(status)
	}
}

// TestUnsafeMethodsInvalidate: a successful or redirecting response to an
// unsafe method (known or not) invalidates the URL's entries; an error
// response invalidates nothing, and other URLs are kept.
func TestUnsafeMethodsInvalidate(t *testing.T) {
	tests := []struct {
		name        string
		unsafe      request
		invalidates []string // paths whose entries are gone afterwards
		keeps       []string
	}{
		{name: "POST 200", unsafe: get("/a").with("POST"), invalidates: []string{"/a"}, keeps: []string{"/b"}},
		{name: "PUT 204", unsafe: get("/a", "X-Status", "204").with("PUT"), invalidates: []string{"/a"}},
		{name: "DELETE 303", unsafe: get("/a", "X-Status", "303").with("DELETE"), invalidates: []string{"/a"}},
		{name: "PATCH", unsafe: get("/a").with("PATCH"), invalidates: []string{"/a"}},
		{name: "unknown method", unsafe: get("/a").with("PURGEISH"), invalidates: []string{"/a"}},
		{name: "error response invalidates nothing", unsafe: get("/a", "X-Status", "500").with("POST"), keeps: []string{"/a"}},
		{name: "4xx invalidates nothing", unsafe: get("/a", "X-Status", "403").with("POST"), keeps: []string{"/a"}},
		{name: "OPTIONS is safe", unsafe: get("/a").with("OPTIONS"), keeps: []string{"/a"}},
		{name: "same-host Location too", unsafe: get("/a", "X-Status", "201", "X-Location", "/b").with("POST"), invalidates: []string{"/a", "/b"}},
		{name: "other-host Location not", unsafe: get("/a", "X-Status", "201", "X-Location", "http://other.example/b").with("POST"), invalidates: []string{"/a"}, keeps: []string{"/b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			a := &article{}
			h := e.cache.Handler(a)
			for _, p := range []string{"/a", "/b"} {
				do(t, h, get(p))
				if !isHit(do(t, h, get(p))) {
					t.Fatalf("%s not cached", p)
				}
			}
			res := do(t, h, tc.unsafe)
			if got := res.cacheStatus(); got != "httpcache; fwd=method" {
				t.Fatalf("Cache-Status %q", got)
			}
			for _, p := range tc.invalidates {
				if isHit(do(t, h, get(p))) {
					t.Errorf("%s still served from cache after %s", p, tc.unsafe.method)
				}
			}
			for _, p := range tc.keeps {
				if !isHit(do(t, h, get(p))) {
					t.Errorf("%s was invalidated", p)
				}
			}
		})
	}
}

// TestInvalidateAllVariants: a POST to a URL invalidates every one of its
// Vary variants.
func TestInvalidateAllVariants(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	a := &article{}
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		a.ServeHTTP(w, r)
	}))
	langs := []string{"en", "fr", "de"}
	for _, l := range langs {
		do(t, h, get("/v", "Accept-Language", l))
	}
	do(t, h, get("/v").with("POST"))
	for _, l := range langs {
		res := do(t, h, get("/v", "Accept-Language", l))
		if isHit(res) || res.body != "/v v1" {
			t.Fatalf("variant %s survived the POST: %q %q", l, res.body, res.cacheStatus())
		}
	}
}

// flakyStore is an in-process fault injector: a store whose every
// operation fails while down is set. Real servers cannot be made to fail
// on demand this precisely; the Redis and Memcached fault tests kill real
// servers.
type flakyStore struct {
	httpcache.Store
	down atomic.Bool
	ops  atomic.Int64
	mu   sync.Mutex
	keys []string // keys set, in order
}

var errDown = errors.New("store is down")

func (f *flakyStore) Get(ctx context.Context, key string) ([]byte, error) {
	f.ops.Add(1)
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Get(ctx, key)
}

func (f *flakyStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	f.ops.Add(1)
	if f.down.Load() {
		return errDown
	}
	f.mu.Lock()
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	return f.Store.Set(ctx, key, v, ttl)
}

func (f *flakyStore) Delete(ctx context.Context, keys ...string) error {
	f.ops.Add(1)
	if f.down.Load() {
		return errDown
	}
	return f.Store.Delete(ctx, keys...)
}

// TestStoreDownFailsOpen: with the store failing, requests are served by
// the handler, the circuit opens and stops calling the store, an
// invalidation that could not be made is remembered, and one probe closes
// the circuit once the store is back.
func TestStoreDownFailsOpen(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	fs := &flakyStore{Store: e.store}
	var opened, closed atomic.Int64
	c := httpcache.New(fs, httpcache.Options{Clock: e.clock.Now, Logger: discardLogger(),
		Guard: httpcache.GuardOptions{OnStateChange: func(open bool) {
			if open {
				opened.Add(1)
			} else {
				closed.Add(1)
			}
		}}})
	a := &article{}
	h := c.Handler(a)
	do(t, h, get("/x"))
	c.Wait()
	fs.down.Store(true)
	for i := 0; i < 10; i++ {
		res := do(t, h, get("/x"))
		if res.status != 200 || res.body != "/x v0" || isHit(res) {
			t.Fatalf("with the store down: %d %q %q", res.status, res.body, res.cacheStatus())
		}
	}
	// A POST while the store is down cannot invalidate: remembered.
	if res := do(t, h, get("/x").with("POST")); res.status != 200 {
		t.Fatalf("POST with the store down: %d", res.status)
	}
	c.Wait()
	s := c.Stats()
	if s.StoreErrors != 5 || opened.Load() != 1 {
		t.Fatalf("store errors = %d, circuit opened %d times; want the circuit open after 5 failures", s.StoreErrors, opened.Load())
	}
	if s.StoreSkips == 0 {
		t.Fatal("no operation was skipped with the circuit open")
	}
	callsWhileOpen := fs.ops.Load()
	do(t, h, get("/x"))
	if fs.ops.Load() != callsWhileOpen {
		t.Fatal("the open circuit still called the store")
	}

	// The store comes back; after the cooldown one probe closes the circuit.
	fs.down.Store(false)
	e.clock.Advance(1100 * time.Millisecond)
	res := do(t, h, get("/x"))
	c.Wait()
	if closed.Load() != 1 || res.body != "/x v1" {
		t.Fatalf("after the store came back: closed %d times, body %q (the old entry must not be served)", closed.Load(), res.body)
	}
	do(t, h, get("/x"))
	c.Wait()
	if res := do(t, h, get("/x")); !isHit(res) || res.body != "/x v1" {
		t.Fatalf("caching did not resume: %q %q", res.body, res.cacheStatus())
	}
}

// TestCorruptEntryIsAMiss writes garbage under the key an entry lives at.
func TestCorruptEntryIsAMiss(t *testing.T) {
	e := newEnv(t, httpcache.Options{Logger: discardLogger()})
	// Use plain Get/Set (not the object path) so the bytes are decoded.
	fs := &flakyStore{Store: e.store}
	c := httpcache.New(fs, httpcache.Options{Clock: e.clock.Now, Logger: discardLogger()})
	a := &article{}
	h := c.Handler(a)
	do(t, h, get("/c"))
	c.Wait()
	keys := fs.keys
	if len(keys) != 1 {
		t.Fatalf("want one stored key, have %q", keys)
	}
	for _, garbage := range [][]byte{[]byte("garbage"), {0x89, 'H', 'C', 'E', 1}, nil} {
		if err := e.store.Set(context.Background(), keys[0], garbage, time.Minute); err != nil {
			t.Fatal(err)
		}
		res := do(t, h, get("/c"))
		if res.status != 200 || isHit(res) || res.body != "/c v0" {
			t.Fatalf("corrupt entry %q: %d %q %q", garbage, res.status, res.body, res.cacheStatus())
		}
		c.Wait()
		if !isHit(do(t, h, get("/c"))) {
			t.Fatal("the corrupt entry was not replaced")
		}
	}
}

// TestInvalidationReachesWithRouteKeys: an unsafe method invalidates what a
// With route with key options of its own stored, though the method's
// request does not pass through that route.
func TestInvalidationReachesWithRouteKeys(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var version atomic.Int64
	version.Store(1)
	mux := http.NewServeMux()
	route := e.cache.With(func(p *httpcache.Policy) { p.Query.Sort = true })
	mux.Handle("GET /articles/{id}", route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "v"+itoa(version.Load()))
	})))
	mux.HandleFunc("PUT /articles/{id}", func(w http.ResponseWriter, r *http.Request) {
		version.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	h := e.cache.Handler(mux)
	do(t, h, get("http://example.com/articles/1"))
	if res := do(t, h, get("http://example.com/articles/1")); !isHit(res) {
		t.Fatalf("setup: %q", res.cacheStatus())
	}
	do(t, h, get("http://example.com/articles/1").with(http.MethodPut))
	if res := do(t, h, get("http://example.com/articles/1")); res.body != "v2" {
		t.Errorf("after PUT: %q (%s), want v2", res.body, res.cacheStatus())
	}
}
