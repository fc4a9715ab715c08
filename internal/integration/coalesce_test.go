package integration_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	redisstore "github.com/seedcache/httpcache/stores/redis"
)

// gated is a handler that counts calls and holds each until released.
type gated struct {
	calls   atomic.Int64
	release chan struct{}
}

func (g *gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	<-g.release
	w.Header().Set("Cache-Control", "max-age=60")
	io.WriteString(w, "filled once")
}

// TestCoalesceWithRedis: concurrent cold requests in one process call the
// handler once with the Redis store too, under the default guard: on a
// loaded machine some of the 200 lookups time out (the leader's too, and
// then nothing is stored), and the waiters are still served from the
// leader's fetch.
func TestCoalesceWithRedis(t *testing.T) {
	const n = 200
	srv := testserver.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	defer client.Close()
	c := newCache(redisstore.New(client, redisstore.Options{}))
	g := &gated{release: make(chan struct{})}
	h := c.Handler(g)
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/cold", nil))
			bodies[i] = rec.Body.String()
		}()
	}
	testwait.For(t, "the waiters", func() bool { return c.Stats().Waiting == n-1 })
	close(g.release)
	wg.Wait()
	if g.calls.Load() != 1 {
		t.Fatalf("handler called %d times (%+v)", g.calls.Load(), c.Stats())
	}
	for i, b := range bodies {
		if b != "filled once" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
}

// TestLeaseAcrossInstances: two caches (two processes, in effect) sharing
// one Redis, with the fill lease on: concurrent cold requests through both
// call the handler once.
//
// The guard's timeout is generous: under -race on a loaded machine, Redis
// calls queued behind 40 requests' lookups can take longer than the default
// timeout, and a lease that times out is granted (leases only save work), so
// both instances would rightly call the handler. TestCoalesceWithRedis
// keeps the default.
func TestLeaseAcrossInstances(t *testing.T) {
	srv := testserver.Redis(t)
	opts := httpcache.Options{Logger: quiet(), Lease: httpcache.LeaseOptions{TTL: 5 * time.Second, Poll: 5 * time.Millisecond},
		Guard: httpcache.GuardOptions{Timeout: 2 * time.Second}}
	var caches []*httpcache.Cache
	g := &gated{release: make(chan struct{})}
	var handlers []http.Handler
	for range 2 {
		client := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { client.Close() })
		c := httpcache.New(redisstore.New(client, redisstore.Options{}), opts)
		caches = append(caches, c)
		handlers = append(handlers, c.Handler(g))
	}
	const perInstance = 20
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for i := range 2 * perInstance {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			handlers[i%2].ServeHTTP(rec, httptest.NewRequest("GET", "/leased", nil))
			if rec.Body.String() != "filled once" {
				wrong.Add(1)
			}
		}()
	}
	// One instance's leader holds the lease and the handler; the other's
	// leader polls the store; everyone else waits in process.
	testwait.For(t, "both instances to be waiting", func() bool {
		return g.calls.Load() == 1 && caches[0].Stats().Waiting+caches[1].Stats().Waiting == 2*perInstance-2
	})
	close(g.release)
	wg.Wait()
	if g.calls.Load() != 1 || wrong.Load() != 0 {
		t.Fatalf("handler called %d times across two instances; %d wrong bodies (%+v, %+v)",
			g.calls.Load(), wrong.Load(), caches[0].Stats(), caches[1].Stats())
	}
}

// TestLeaseOffByDefault: without Options.Lease, each instance fills for
// itself (in-process coalescing only).
func TestLeaseOffByDefault(t *testing.T) {
	srv := testserver.Redis(t)
	g := &gated{release: make(chan struct{})}
	var wg sync.WaitGroup
	for range 2 {
		client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { client.Close() })
		h := newCache(redisstore.New(client, redisstore.Options{})).Handler(g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/each", nil))
		}()
	}
	testwait.For(t, "both instances to call the handler", func() bool { return g.calls.Load() == 2 })
	close(g.release)
	wg.Wait()
}
