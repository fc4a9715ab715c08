// Package integration_test runs the middleware against real Redis and
// Memcached servers: fault tests (servers killed, hung, slow, corrupted),
// replicas sharing a store, round trips per hit, and benchmarks against the
// raw clients.
package integration_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/stores/memcached"
	"github.com/seedcache/httpcache/stores/memory"
	redisstore "github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/tiered"
)

// TestMain stops the shared servers, then fails the package if a goroutine
// is left behind: a Cache's background work, or a store call abandoned to
// a dead or blackholed server, must end once the test has closed its
// clients.
func TestMain(m *testing.M) { os.Exit(testserver.MainNoLeaks(m)) }

// backend is one kind of shared store, built on a server address (the real
// server's, or a fault proxy's in front of it).
type backend struct {
	name  string
	start func(tb testing.TB) *testserver.Server
	// dial builds the store. guard configures the guard of a store that
	// guards its own calls (tiered, on L2); the Cache guards the others.
	dial func(tb testing.TB, addr string, guard httpcache.GuardOptions) httpcache.Store
	// lagging: an instance hears of another's deletes asynchronously
	// (tiered: its L1 drops them when the pub/sub message arrives).
	lagging bool
}

// open builds the store with the default guard.
func (b backend) open(tb testing.TB, addr string) httpcache.Store {
	return b.dial(tb, addr, httpcache.GuardOptions{})
}

var backends = []backend{
	{"redis", testserver.Redis, func(tb testing.TB, addr string, _ httpcache.GuardOptions) httpcache.Store {
		client := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
		tb.Cleanup(func() { client.Close() })
		return redisstore.New(client, redisstore.Options{})
	}, false},
	{"memcached", testserver.Memcached, func(tb testing.TB, addr string, _ httpcache.GuardOptions) httpcache.Store {
		client := memcache.New(addr)
		client.MaxIdleConns = 16 // as stores/memcached recommends: about the peak parallel calls
		return memcached.New(client, memcached.Options{})
	}, false},
	{"tiered", testserver.Redis, func(tb testing.TB, addr string, guard httpcache.GuardOptions) httpcache.Store {
		client := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
		s := tiered.New(memory.New(memory.Options{}), redisstore.New(client, redisstore.Options{}),
			tiered.Options{PubSub: client, L1TTL: 100 * time.Millisecond, Logger: quiet(), Guard: guard})
		tb.Cleanup(func() { s.Close(); client.Close() })
		return s
	}, true},
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// app is a handler that counts calls and answers each path with a body
// naming the path and how many times the handler ran, cacheable for a minute.
type app struct{ calls atomic.Int64 }

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.calls.Add(1)
	w.Header().Set("Cache-Control", "max-age=60")
	if r.URL.Query().Has("vary") {
		w.Header().Set("Vary", "Accept-Language")
	}
	fmt.Fprintf(w, "%s %s", r.URL.RequestURI(), r.Header.Get("Accept-Language"))
}

// get serves one GET through h and returns the body and Cache-Status. It
// fails the test if the request does not complete within a generous bound:
// a liveness check, not a latency assertion.
func get(t testing.TB, h http.Handler, target string, hdr ...string) (body, status string) {
	t.Helper()
	done := make(chan struct{})
	rec := httptest.NewRecorder()
	go func() {
		defer close(done)
		r := httptest.NewRequest("GET", target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		h.ServeHTTP(rec, r)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s did not complete: the store held the request", target)
	}
	if rec.Code != 200 {
		t.Fatalf("GET %s: status %d", target, rec.Code)
	}
	b, _ := io.ReadAll(rec.Result().Body)
	return string(b), rec.Header().Get("Cache-Status")
}

// cached fills target and reports whether the next request is a hit.
func cached(t testing.TB, c *httpcache.Cache, h http.Handler, target string, hdr ...string) bool {
	t.Helper()
	get(t, h, target, hdr...)
	c.Wait()
	_, status := get(t, h, target, hdr...)
	return status == "httpcache; hit"
}

func newCache(store httpcache.Store) *httpcache.Cache {
	return httpcache.New(store, httpcache.Options{Logger: quiet(),
		Guard: httpcache.GuardOptions{Cooldown: 100 * time.Millisecond}})
}

// TestKillAndRestart: the store's server dies mid-run. Every request is still
// answered, correctly, by the handler; once the server is back, responses
// are cached again.
func TestKillAndRestart(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			srv.SkipIfExternal(t)
			c := newCache(b.open(t, srv.Addr()))
			a := &app{}
			h := c.Handler(a)
			if !cached(t, c, h, "/warm") || !cached(t, c, h, "/v?vary", "Accept-Language", "fr") {
				t.Fatal("not cached with the server up")
			}

			srv.Stop()
			for i := range 30 {
				target := fmt.Sprintf("/down/%d", i%3)
				body, status := get(t, h, target)
				if body != target+" " {
					t.Fatalf("with the server down: body %q", body)
				}
				// Nothing can be written: no response may say it is.
				if strings.Contains(status, "stored") ||
					!strings.HasSuffix(status, "; detail=store-error") && !strings.HasSuffix(status, "; detail=circuit-open") {
					t.Fatalf("with the server down: Cache-Status %q; want detail=store-error or detail=circuit-open, never stored", status)
				}
			}
			c.Wait()
			if s := c.Stats(); s.StoreErrors == 0 {
				t.Fatalf("no store error counted: %+v", s)
			}

			srv.Start()
			deadline := time.Now().Add(20 * time.Second)
			for !cached(t, c, h, "/back") {
				if time.Now().After(deadline) {
					t.Fatalf("caching never resumed: %+v", c.Stats())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestHungStore: the store accepts connections and never answers. Requests
// still complete, bounded by the store timeout, and are served by the handler.
func TestHungStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			c := newCache(b.open(t, proxy.Addr()))
			a := &app{}
			h := c.Handler(a)
			// Under load a warm-up call can time out at the default
			// guard (failing open); it is tried until it caches.
			for deadline := time.Now().Add(20 * time.Second); !cached(t, c, h, "/before"); {
				if time.Now().After(deadline) {
					t.Fatalf("not cached through the proxy: %+v", c.Stats())
				}
				time.Sleep(50 * time.Millisecond)
			}
			proxy.Block()
			for i := range 10 {
				target := fmt.Sprintf("/hung/%d", i)
				if body, status := get(t, h, target); body != target+" " || status == "httpcache; hit" {
					t.Fatalf("hung store: %q %q", body, status)
				}
			}
			proxy.Unblock()
		})
	}
}

// TestSlowStore: a store that answers, but only after far longer than the
// timeout, never holds a request for that long.
func TestSlowStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			c := newCache(b.open(t, proxy.Addr()))
			h := c.Handler(&app{})
			proxy.SetDelay(30 * time.Second) // the request's 10 s liveness bound would catch a wait
			for i := range 5 {
				target := fmt.Sprintf("/slow/%d", i)
				if body, _ := get(t, h, target); body != target+" " {
					t.Fatalf("slow store: %q", body)
				}
			}
			proxy.SetDelay(0)
			proxy.CloseAll()
		})
	}
}

// TestCorruptValueInRedis writes garbage straight into Redis under the keys
// the cache uses: a miss, answered by the handler, never a 500.
func TestCorruptValueInRedis(t *testing.T) {
	srv := testserver.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer client.Close()
	c := newCache(redisstore.New(client, redisstore.Options{}))
	a := &app{}
	h := c.Handler(a)
	for _, target := range []string{"/plain", "/v?vary"} {
		if !cached(t, c, h, target, "Accept-Language", "de") {
			t.Fatalf("%s not cached", target)
		}
	}
	ctx := context.Background()
	keys, err := client.Keys(ctx, "*}*").Result() // the entries, not the purge clock
	if err != nil || len(keys) != 3 {             // a response, an index and a variant
		t.Fatalf("keys %q, %v", keys, err)
	}
	for _, garbage := range []string{"", "garbage", "\x89HCE\x01\x01", "\x89HCE\x01" + string(make([]byte, 64))} {
		for _, k := range keys {
			client.Set(ctx, k, garbage, time.Minute)
		}
		calls := a.calls.Load()
		for _, target := range []string{"/plain", "/v?vary"} {
			if body, status := get(t, h, target, "Accept-Language", "de"); body != target+" de" || status == "httpcache; hit" {
				t.Fatalf("corrupt %q: %q %q", garbage, body, status)
			}
		}
		if a.calls.Load() != calls+2 {
			t.Fatal("the handler did not serve the corrupt entries' requests")
		}
		c.Wait()
	}
}

// TestTwoReplicas: two caches (two processes, in effect) sharing one store:
// what one stores, the other serves; what one invalidates, neither serves.
func TestTwoReplicas(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			a := &app{}
			c1, c2 := newCache(b.open(t, srv.Addr())), newCache(b.open(t, srv.Addr()))
			h1, h2 := c1.Handler(a), c2.Handler(a)
			get(t, h1, "/shared?vary", "Accept-Language", "it")
			c1.Wait()
			if body, status := get(t, h2, "/shared?vary", "Accept-Language", "it"); status != "httpcache; hit" || body != "/shared?vary it" {
				t.Fatalf("replica 2: %q %q", body, status)
			}
			r := httptest.NewRequest("POST", "/shared?vary", nil)
			h1.ServeHTTP(httptest.NewRecorder(), r)
			deadline := time.Now().Add(5 * time.Second) // tiered: the other L1 hears of it by pub/sub
			for {
				_, status := get(t, h2, "/shared?vary", "Accept-Language", "it")
				c2.Wait()
				if status != "httpcache; hit" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("replica 2 kept serving an invalidated entry")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestStoredResponseFoundByNextRequest: once a Vary'd response has been
// served as "stored", the next identical request is answered from the store
// or from that very response, never by a second handler call — on every
// store, including those written in the background after the response has
// gone (Redis, Memcached, tiered on either). Each pair is on a new URL, the
// second request sent as soon as the first's response is read: nothing
// waits for the write, so this holds by construction or not at all.
func TestStoredResponseFoundByNextRequest(t *testing.T) {
	// The guard's timeout is generous: a store call timing out on a loaded
	// machine is a failed read or write, which may rightly cost a second
	// handler call; that is not what is measured here.
	guard := httpcache.GuardOptions{Timeout: 10 * time.Second}
	stores := []struct {
		name string
		open func(tb testing.TB) httpcache.Store
	}{
		{"memory", func(testing.TB) httpcache.Store { return memory.New(memory.Options{}) }},
		{"redis", func(tb testing.TB) httpcache.Store { return backends[0].dial(tb, testserver.Redis(tb).Addr(), guard) }},
		{"memcached", func(tb testing.TB) httpcache.Store {
			return backends[1].dial(tb, testserver.Memcached(tb).Addr(), guard)
		}},
		{"tiered-redis-pubsub", func(tb testing.TB) httpcache.Store { return backends[2].dial(tb, testserver.Redis(tb).Addr(), guard) }},
		{"tiered-memcached", func(tb testing.TB) httpcache.Store {
			l2 := memcached.New(memcache.New(testserver.Memcached(tb).Addr()), memcached.Options{})
			s := tiered.New(memory.New(memory.Options{}), l2, tiered.Options{L1TTL: 100 * time.Millisecond, Logger: quiet(), Guard: guard})
			tb.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			c := httpcache.New(s.open(t), httpcache.Options{Logger: quiet(), Guard: guard})
			defer c.Wait()
			a := &app{}
			h := c.Handler(a)
			const pairs = 30
			for i := range pairs {
				target := fmt.Sprintf("/next/%d?vary", i)
				want := target + " fr"
				if body, status := get(t, h, target, "Accept-Language", "fr"); body != want || status != "httpcache; fwd=uri-miss; stored" {
					t.Fatalf("pair %d, first: %q %q", i, body, status)
				}
				body, status := get(t, h, target, "Accept-Language", "fr")
				if body != want || (status != "httpcache; hit" && !strings.HasSuffix(status, "; collapsed")) {
					t.Errorf("pair %d, second: %q %q", i, body, status)
				}
			}
			if n := a.calls.Load(); n != pairs {
				t.Errorf("the handler ran %d times for %d pairs; want %d", n, pairs, pairs)
			}
		})
	}
}
