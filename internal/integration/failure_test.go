package integration_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/stores/memcached"
	redisstore "github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/storeurl"
)

// storeurlBackends are the networked stores as the example programs build
// them (stores/storeurl): the clients' timeouts and pool sizes are the
// ones users run with.
var storeurlBackends = []struct {
	name  string
	start func(tb testing.TB) *testserver.Server
	open  func(tb testing.TB, addr string) httpcache.Store
}{
	{"redis", testserver.Redis, func(tb testing.TB, addr string) httpcache.Store {
		return openStoreURL(tb, "redis://"+addr)
	}},
	{"memcached", testserver.Memcached, func(tb testing.TB, addr string) httpcache.Store {
		return openStoreURL(tb, "memcached://"+addr)
	}},
}

func openStoreURL(tb testing.TB, url string) httpcache.Store {
	tb.Helper()
	s, closeStore, err := storeurl.Open(url, storeurl.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(closeStore)
	return s
}

var loadRequests = flag.Int("load-requests", 0, "requests TestDefaultGuardUnderLoad sends (0: skip it)")
var loadClients = flag.Int("load-clients", 32, "concurrent clients of TestDefaultGuardUnderLoad")

// TestDefaultGuardUnderLoad sends -load-requests requests from
// -load-clients clients through a Cache with the default options, on a
// healthy Redis and Memcached built as the example programs build them,
// reports the store errors, circuit skips and latencies it saw, and fails
// if there was any error or skip. It is a load program, bounded in count
// and to two minutes, run by hand on a loaded machine (two busy loops, sh -c
// 'while :; do :; done' &, on two cores), not part of the ordinary test
// run, since how long a starved process waits is beyond what the guard can
// promise:
//
//	go test ./internal/integration -run TestDefaultGuardUnderLoad -load-requests 10000 -v
func TestDefaultGuardUnderLoad(t *testing.T) {
	if *loadRequests <= 0 {
		t.Skip("a load program: run with -load-requests N")
	}
	n := *loadRequests
	clients, urls := *loadClients, 500
	for _, b := range storeurlBackends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			c := httpcache.New(b.open(t, srv.Addr()), httpcache.Options{Logger: quiet()})
			h := c.Handler(&app{})
			var next atomic.Int64
			lat := make([]time.Duration, n)
			var wg sync.WaitGroup
			deadline := time.Now().Add(2 * time.Minute)
			start := time.Now()
			for range clients {
				wg.Go(func() {
					for i := int(next.Add(1) - 1); i < n && time.Now().Before(deadline); i = int(next.Add(1) - 1) {
						r := httptest.NewRequest("GET", fmt.Sprintf("/load/%d", i%urls), nil)
						t0 := time.Now()
						h.ServeHTTP(httptest.NewRecorder(), r)
						lat[i] = time.Since(t0)
					}
				})
			}
			wg.Wait()
			c.Wait()
			elapsed := time.Since(start)
			slices.Sort(lat)
			s := c.Stats()
			t.Logf("%d requests in %v: hits %d misses %d stores %d store errors %d skips %d dropped %d; latency p50 %v p99 %v p99.9 %v max %v",
				n, elapsed.Round(time.Millisecond), s.Hits, s.Misses, s.Stores, s.StoreErrors, s.StoreSkips, s.Dropped,
				lat[n/2], lat[n*99/100], lat[n*999/1000], lat[n-1])
			if s.StoreErrors != 0 || s.StoreSkips != 0 {
				t.Errorf("a healthy store: %d store errors, %d operations skipped with the circuit open", s.StoreErrors, s.StoreSkips)
			}
		})
	}
}

// poolBackends are the networked stores on a client with a pool of
// poolSize connections, as stores/storeurl configures Memcached's, and
// timeouts long enough that only dead connections fail, even on a loaded
// machine.
const poolSize = 64

var poolBackends = []struct {
	name  string
	start func(tb testing.TB) *testserver.Server
	open  func(tb testing.TB, addr string) httpcache.Store
	// conns returns how many client connections the server at addr has.
	conns func(tb testing.TB, addr string) int
}{
	{"redis", testserver.Redis, func(tb testing.TB, addr string) httpcache.Store {
		client := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: poolSize, ContextTimeoutEnabled: true})
		tb.Cleanup(func() { client.Close() })
		return redisstore.New(client, redisstore.Options{})
	}, redisConns},
	{"memcached", testserver.Memcached, func(tb testing.TB, addr string) httpcache.Store {
		client := memcache.New(addr)
		client.MaxIdleConns = poolSize
		client.Timeout = 2 * time.Second
		tb.Cleanup(func() { client.Close() })
		return memcached.New(client, memcached.Options{})
	}, memcachedConns},
}

// redisConns returns how many clients the Redis at addr has, less the one
// asking.
func redisConns(tb testing.TB, addr string) int {
	tb.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	info, err := client.Info(context.Background(), "clients").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(info) {
		var n int
		if _, err := fmt.Sscanf(line, "connected_clients:%d", &n); err == nil {
			return n - 1
		}
	}
	tb.Fatalf("no connected_clients in %q", info)
	return 0
}

// memcachedConns returns how many client connections the memcached at addr
// has (curr_connections, less its listener and the one asking).
func memcachedConns(tb testing.TB, addr string) int {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "stats\r\n"); err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() && sc.Text() != "END" {
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "STAT curr_connections %d", &n); err == nil {
			return n - 2
		}
	}
	tb.Fatalf("no curr_connections in memcached's stats: %v", sc.Err())
	return 0
}

// TestCachingResumesAfterRestartWithWarmPool: a burst of concurrent
// traffic leaves the client with a pool of idle connections, all dead once
// the server restarts on the same port. Caching resumes at once all the
// same: the first request after the restart is stored and the next is a
// hit, and no store error is counted, instead of each dead connection
// failing a call in turn and the circuit breaker keeping caching off for
// minutes (one dead connection per probe, its cooldown doubling).
func TestCachingResumesAfterRestartWithWarmPool(t *testing.T) {
	for _, b := range poolBackends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			srv.SkipIfExternal(t)
			// The proxy delays every chunk while the pool warms, so that
			// the concurrent requests' store calls overlap, each on a
			// connection of its own; it passes the restart on as it is:
			// a server that closes its side is seen to close.
			proxy := testserver.NewProxy(t, srv.Addr())
			c := httpcache.New(b.open(t, proxy.Addr()), httpcache.Options{Logger: quiet(),
				Guard: httpcache.GuardOptions{Timeout: 5 * time.Second}})
			h := c.Handler(&app{})
			proxy.SetDelay(20 * time.Millisecond)
			var wg sync.WaitGroup
			for i := range poolSize {
				wg.Go(func() { get(t, h, fmt.Sprintf("/warm/%d", i)) })
			}
			wg.Wait()
			c.Wait()
			proxy.SetDelay(0)
			if n := b.conns(t, srv.Addr()); n < poolSize/2 {
				t.Fatalf("%d connections after %d concurrent requests; want the pool warm", n, poolSize)
			}
			if s := c.Stats(); s.StoreErrors != 0 {
				t.Fatalf("store errors while warming the pool: %+v", s)
			}

			srv.Stop()
			srv.Start()
			deadline := time.Now().Add(5 * time.Second) // a loaded machine's bound; it takes one request
			for i := 0; !cached(t, c, h, fmt.Sprintf("/back/%d", i)); i++ {
				if time.Now().After(deadline) {
					t.Fatalf("caching had not resumed 5 s after the restart: %+v", c.Stats())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if s := c.Stats(); s.StoreErrors != 0 || s.StoreSkips != 0 {
				t.Fatalf("after the restart: %d store errors, %d skips; want none: the server was back", s.StoreErrors, s.StoreSkips)
			}
		})
	}
}

// cutOff sends requests through h, one at a time, until one says the
// circuit is open, and returns how long each took. It fails t if that takes
// more than max requests or 20 s: a liveness bound, not a latency one.
func cutOff(t *testing.T, h http.Handler, max int) []time.Duration {
	t.Helper()
	var took []time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if i == max || time.Now().After(deadline) {
			t.Fatalf("the circuit had not opened after %d requests in %v: %v", i, time.Since(deadline.Add(-20*time.Second)), took)
		}
		target := fmt.Sprintf("/cut/%d", i)
		start := time.Now()
		body, status := get(t, h, target)
		took = append(took, time.Since(start))
		if body != target+" " {
			t.Fatalf("request %d: body %q", i, body)
		}
		if strings.HasSuffix(status, "detail=circuit-open") {
			return took
		}
	}
}

// TestDefaultGuardCutsOffDeadStore: with the default guard, a store whose
// server was killed (connections refused) is cut off: the circuit opens
// within a few requests, each answered by the handler.
func TestDefaultGuardCutsOffDeadStore(t *testing.T) {
	for _, b := range storeurlBackends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			srv.SkipIfExternal(t)
			c := httpcache.New(b.open(t, srv.Addr()), httpcache.Options{Logger: quiet()})
			h := c.Handler(&app{})
			get(t, h, "/up")
			c.Wait()
			srv.Stop()
			took := cutOff(t, h, 50)
			t.Logf("the circuit opened at request %d; they took %v", len(took), took)
		})
	}
}

// TestDefaultGuardCutsOffBlackholedStore: with the default guard, a store
// that accepts connections and never answers is cut off: each request is
// answered by the handler once the store calls have timed out, and the
// circuit opens once they have kept timing out for TimeoutSpan.
func TestDefaultGuardCutsOffBlackholedStore(t *testing.T) {
	for _, b := range storeurlBackends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			c := httpcache.New(b.open(t, proxy.Addr()), httpcache.Options{Logger: quiet()})
			h := c.Handler(&app{})
			get(t, h, "/up")
			c.Wait()
			proxy.Block()
			defer proxy.Unblock()
			took := cutOff(t, h, 50)
			t.Logf("the circuit opened at request %d; they took %v", len(took), took)
		})
	}
}
