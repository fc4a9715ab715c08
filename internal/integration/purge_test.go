package integration_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memcached"
	"github.com/seedcache/httpcache/stores/memory"
	redisstore "github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/tiered"
)

// tagged serves pages tagged "page:<path>" and "all-pages", rendered from
// the current version.
type tagged struct {
	version atomic.Int64
	calls   atomic.Int64
}

func (t *tagged) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.calls.Add(1)
	w.Header().Set("Cache-Control", "max-age=600")
	w.Header().Set("Cache-Tag", "page:"+r.URL.Path+", all-pages")
	fmt.Fprintf(w, "%s v%d", r.URL.Path, t.version.Load())
}

// TestPurgeAcrossInstances: two caches sharing a store; a purge through
// one is never served by the other afterwards — for tags, URLs and
// everything, on Redis, Memcached and tiered (whose L1 copies are dropped
// in every instance before the purge returns).
func TestPurgeAcrossInstances(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			app := &tagged{}
			c1, c2 := newCache(b.open(t, srv.Addr())), newCache(b.open(t, srv.Addr()))
			h1, h2 := c1.Handler(app), c2.Handler(app)
			fill := func(p string) {
				get(t, h1, p)
				c1.Wait()
				if _, status := get(t, h2, p); status != "httpcache; hit" {
					t.Fatalf("%s not shared: %q", p, status)
				}
			}
			purges := []struct {
				name  string
				purge httpcache.Purge
				hit   []string // still served from cache afterwards
				miss  []string
			}{
				{"tag", httpcache.Purge{Tags: []string{"page:/a"}}, []string{"/b"}, []string{"/a"}},
				{"url", httpcache.Purge{URLs: []string{"http://example.com/b"}}, []string{"/a"}, []string{"/b"}},
				{"shared tag", httpcache.Purge{Tags: []string{"all-pages"}}, nil, []string{"/a", "/b"}},
				{"everything", httpcache.Purge{All: true}, nil, []string{"/a", "/b"}},
				{"soft tag", httpcache.Purge{Tags: []string{"page:/b"}, Soft: true}, []string{"/a"}, []string{"/b"}},
				{"soft everything", httpcache.Purge{All: true, Soft: true}, nil, []string{"/a", "/b"}},
			}
			for _, p := range purges {
				fill("/a")
				fill("/b")
				app.version.Add(1)
				if err := c1.Purge(context.Background(), p.purge); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				for _, path := range p.miss {
					calls := app.calls.Load()
					body, status := get(t, h2, path)
					if status == "httpcache; hit" || app.calls.Load() != calls+1 || body != fmt.Sprintf("%s v%d", path, app.version.Load()) {
						t.Fatalf("%s: %s served by the other instance after the purge: %q %q", p.name, path, body, status)
					}
					c2.Wait()
				}
				for _, path := range p.hit {
					if _, status := get(t, h2, path); status != "httpcache; hit" {
						t.Fatalf("%s: %s was purged too: %q", p.name, path, status)
					}
				}
			}
		})
	}
}

// TestPurgeRaceShared: two caches sharing a store keep re-storing one
// tagged URL while purges of its tag go through either of them; once a
// purge returns, neither serves anything older — on Redis, Memcached and
// tiered (where each instance also holds L1 copies).
func TestPurgeRaceShared(t *testing.T) {
	const iterations = 1000
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			var version atomic.Int64
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v := version.Load() // the data the response is rendered from
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("Cache-Tag", "hot")
				fmt.Fprintf(w, "%d", v)
			})
			// Under test is the order of purges and writes, not fault
			// tolerance: a guard generous enough that the race detector
			// on a busy machine does not open the circuit, and a purge
			// timeout it does not reach (a purge then fails, as it must,
			// and so would the test).
			guard := httpcache.GuardOptions{Timeout: 2 * time.Second}
			open := func() *httpcache.Cache {
				return httpcache.New(b.dial(t, srv.Addr(), guard), httpcache.Options{Logger: quiet(), Guard: guard,
					PurgeTimeout: 10 * time.Second})
			}
			caches := []*httpcache.Cache{open(), open()}
			handlers := []http.Handler{caches[0].Handler(app), caches[1].Handler(app)}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 4 { // two re-storers on each instance
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						handlers[i%2].ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/hot", nil))
					}
				}()
			}
			defer func() {
				close(stop)
				wg.Wait()
				caches[0].Wait()
				caches[1].Wait()
			}()
			for n := int64(1); n <= iterations; n++ {
				version.Store(n)
				if err := caches[n%2].PurgeTags(context.Background(), "hot"); err != nil {
					t.Fatalf("iteration %d: %v", n, err)
				}
				for i, h := range handlers {
					body, status := get(t, h, "/hot")
					var got int64
					fmt.Sscan(body, &got)
					if got < n {
						t.Fatalf("iteration %d: instance %d served version %d after the purge returned (%s)", n, i, got, status)
					}
				}
			}
		})
	}
}

// TestPurgeThroughOtherTieredInstanceForgetsChecksMadeDuringIt: two Caches
// on tiered stores sharing one Redis. While a purge of everything through
// the first is under way — its marker and the purge clock advanced in
// Redis, its invalidation messages not yet heard by the second — the second
// reads the new clock (its L1 copy of the clock has expired) and checks an
// older entry against the markers. Its L1 copy of the marker, taken before
// the purge, says the entry is not purged. Serving it then is allowed (the
// purge has not returned); remembering that answer as good up to the new
// clock is not, as the memo of checked entries outlives the L1 copies the
// purge clears. Once the purge has returned, the second Cache must not
// serve the entry (nothing reclaims an entry purged with everything: the
// markers alone refuse it).
//
// The lag is made deterministic: the second instance's subscription goes
// through a proxy that holds the messages, and its L1 runs on a fake clock
// that expires the clock's copy before the marker's.
func TestPurgeThroughOtherTieredInstanceForgetsChecksMadeDuringIt(t *testing.T) {
	srv := testserver.Redis(t)
	proxy := testserver.NewProxy(t, srv.Addr())
	ctx := context.Background()
	const l1TTL = time.Minute // on the fake clock of the second L1
	clk := fakeclock.New(time.Now())
	// Generous enough for a loaded machine; it also bounds the second
	// instance's publishes.
	guard := httpcache.GuardOptions{Timeout: 2 * time.Second}
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	// The second instance's subscription, and its publishes: a deadline
	// ends those that hang while the proxy holds them.
	pubsub := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
	l1 := memory.New(memory.Options{Clock: clk.Now})
	s0 := tiered.New(memory.New(memory.Options{}), redisstore.New(client, redisstore.Options{}),
		tiered.Options{PubSub: client, Logger: quiet(), Guard: guard})
	s1 := tiered.New(l1, redisstore.New(client, redisstore.Options{}),
		tiered.Options{PubSub: pubsub, L1TTL: l1TTL, Logger: quiet(), Guard: guard})
	t.Cleanup(func() { s0.Close(); s1.Close(); client.Close(); pubsub.Close() })
	open := func(s httpcache.Store) *httpcache.Cache {
		return httpcache.New(s, httpcache.Options{Logger: quiet(), Guard: guard})
	}
	c0, c1 := open(s0), open(s1)
	t.Cleanup(func() { c0.Wait(); c1.Wait() }) // before the stores close
	var version atomic.Int64
	version.Store(1)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "%d", version.Load())
	})
	h0, h1 := c0.Handler(app), c1.Handler(app)

	const clockKey = "httpcache:v1:purge:seq"
	inL1 := func(key string) bool {
		_, err := l1.Get(ctx, key)
		return err == nil
	}
	clock := func() int64 {
		n, err := client.Get(ctx, clockKey).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	purgeAll := func() {
		t.Helper()
		if err := c0.Purge(ctx, httpcache.Purge{All: true}); err != nil {
			t.Fatal(err)
		}
	}

	// The second instance uses its L1 once it is registered, and so is
	// waited for by the first one's purges.
	testwait.For(t, "the second instance to keep L1 copies", func() bool {
		get(t, h1, "/warm")
		return inL1(clockKey)
	})
	c1.Wait()
	purgeAll() // a marker of everything, in Redis
	get(t, h0, "/hot")
	c0.Wait() // stored, with the clock of that purge
	if err := c0.PurgeTags(ctx, "other"); err != nil {
		t.Fatal(err) // the clock moves on; /hot is not purged
	}
	before := clock()
	get(t, h1, "/cold") // the second L1 copies the clock
	c1.Wait()
	clk.Advance(l1TTL / 2)
	// /hot is older than the clock: checked against its markers (which
	// the second L1 copied, when they were read through it), and found
	// not purged up to the clock.
	if body, status := get(t, h1, "/hot"); body != "1" || status != "httpcache; hit" {
		t.Fatalf("/hot through the second Cache: %q %q; want a hit of 1", body, status)
	}
	clk.Advance(l1TTL/2 + time.Second)
	if inL1(clockKey) {
		t.Fatal("the second L1 still holds its copy of the purge clock")
	}

	proxy.Block() // the second instance hears nothing, and cannot acknowledge
	version.Store(2)
	purged := make(chan error, 1)
	go func() { purged <- c0.Purge(ctx, httpcache.Purge{All: true}) }()
	testwait.For(t, "the purge clock to move", func() bool { return clock() > before })
	body, status := get(t, h1, "/hot") // during the purge: either answer will do
	t.Logf("during the purge, the second Cache served %q (%s)", body, status)
	proxy.Unblock()
	if err := <-purged; err != nil {
		t.Fatal(err)
	}
	if body, status := get(t, h1, "/hot"); body != "2" {
		t.Fatalf("after the purge of everything returned, the second Cache served %q (%s); want 2", body, status)
	}
}

// TestFailedPurgeIsBoundedAndRetried: Redis stops answering (a proxy
// blackholes it) while a POST handler purges the tag of the page it
// edited. PurgeTags returns within about Options.PurgeTimeout with an
// error wrapping ErrPurgeFailed, and the POST is answered. While Redis
// answers reads again but cannot yet take the purge (CLIENT PAUSE WRITE),
// this process does not serve the tagged page from the store — another
// Cache, which does not know of the failure, still does. Once Redis takes
// writes again the purge is retried in the background and recorded: the
// other Cache sees it, and this one caches the page again.
func TestFailedPurgeIsBoundedAndRetried(t *testing.T) {
	srv := testserver.Redis(t)
	proxy := testserver.NewProxy(t, srv.Addr())
	var (
		version  atomic.Int64
		c1       *httpcache.Cache
		purgeErr error
		took     time.Duration
	)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost { // /edit?page=/a
			version.Add(1)
			start := time.Now()
			purgeErr = c1.PurgeTags(r.Context(), "page:"+r.URL.Query().Get("page"))
			took = time.Since(start)
			if purgeErr != nil {
				http.Error(w, purgeErr.Error(), http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "page:"+r.URL.Path)
		fmt.Fprintf(w, "%s v%d", r.URL.Path, version.Load())
	})
	// Under test is the purge, not the guard of lookups: a guard generous
	// enough that on a busy machine a lookup does not time out, and so
	// pass for a page that was not served from the store. The purge has
	// the default PurgeTimeout.
	open := func(addr string) *httpcache.Cache {
		return httpcache.New(backends[0].open(t, addr), httpcache.Options{Logger: quiet(),
			Guard: httpcache.GuardOptions{Timeout: 2 * time.Second, Cooldown: 100 * time.Millisecond}})
	}
	c1 = open(proxy.Addr())
	c2 := open(srv.Addr())
	h1, h2 := c1.Handler(app), c2.Handler(app)
	for _, p := range []string{"/a", "/b"} {
		if !cached(t, c1, h1, p) {
			t.Fatalf("%s not cached through the proxy", p)
		}
	}
	if body, status := get(t, h2, "/a"); status != "httpcache; hit" {
		t.Fatalf("/a not shared: %q %q", body, status)
	}

	proxy.Block()
	rec := httptest.NewRecorder()
	h1.ServeHTTP(rec, httptest.NewRequest("POST", "http://example.com/edit?page=/a", nil))
	// A liveness bound, not a latency assertion: the purge is bounded by
	// the 1 s default, and took 20 s unbounded.
	if rec.Code != http.StatusServiceUnavailable || took > 5*time.Second {
		t.Fatalf("POST with Redis blackholed: %d %q after %v; want the purge's error within about a second", rec.Code, rec.Body.String(), took)
	}
	if !errors.Is(purgeErr, httpcache.ErrPurgeFailed) {
		t.Fatalf("PurgeTags with Redis blackholed = %v; want an error wrapping ErrPurgeFailed", purgeErr)
	}

	// Reads come back first; writes (and so the purge) stay held.
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	defer admin.Do(ctx, "CLIENT", "UNPAUSE")
	proxy.Unblock()
	testwait.For(t, "the first Cache to read Redis again", func() bool {
		_, status := get(t, h1, "/b")
		return status == "httpcache; hit"
	})
	if body, status := get(t, h1, "/a"); status == "httpcache; hit" || body != "/a v1" {
		t.Fatalf("with the purge not yet recorded, the Cache it failed in served %q (%s); want the handler's /a v1", body, status)
	}
	if body, status := get(t, h2, "/a"); status != "httpcache; hit" || body != "/a v0" {
		t.Fatalf("the other Cache: %q %q; the purge cannot have been recorded yet", body, status)
	}

	if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("page:/a"))
	marker := "httpcache:v1:purge:h:" + hex.EncodeToString(sum[:16])
	// Recorded means the markers and then the clock: a lookup made
	// between the two still reads the old clock, and rightly serves what
	// it finds (the purge has not happened yet for it).
	testwait.For(t, "the purge to be retried and recorded", func() bool {
		m, err := admin.Get(ctx, marker).Int64()
		if err != nil {
			return false
		}
		clock, err := admin.Get(ctx, "httpcache:v1:purge:seq").Int64()
		return err == nil && clock >= m
	})
	// What the other Cache finds under /a (v0, or the v1 the first one
	// fetched meanwhile, whose write was held) was fetched before the
	// retry: it is refused now, and the handler called.
	if body, status := get(t, h2, "/a"); status == "httpcache; hit" || body != "/a v1" {
		t.Fatalf("the other Cache, with the purge recorded: %q %q; want the handler's /a v1", body, status)
	}
	testwait.For(t, "the first Cache to cache /a again", func() bool {
		body, status := get(t, h1, "/a")
		c1.Wait()
		return status == "httpcache; hit" && body == "/a v1"
	})
}

// TestPurgeBoundedOnEveryStore: with the store blackholed, a purge returns
// within about Options.PurgeTimeout with an error wrapping ErrPurgeFailed,
// and the tagged page is not served from the store by the Cache it failed
// in; once the store answers again, the retry records the purge, which
// another Cache sees — on Redis, Memcached and tiered.
func TestPurgeBoundedOnEveryStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			// A guard generous enough that on a busy machine a lookup
			// does not time out, and so pass for a page not served from
			// the store.
			guard := httpcache.GuardOptions{Timeout: 2 * time.Second, Cooldown: 100 * time.Millisecond}
			dial := b.dial
			if b.name == "tiered" {
				// Tiered tells the other instances of a counter it
				// advanced (even one whose write timed out) within its
				// guard's timeout, with its client's Publish: a purge
				// through it is bounded by that timeout more, and only
				// with a client that honours deadlines.
				guard.Timeout = 200 * time.Millisecond
				dial = func(tb testing.TB, addr string, guard httpcache.GuardOptions) httpcache.Store {
					client := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true})
					s := tiered.New(memory.New(memory.Options{}), redisstore.New(client, redisstore.Options{}),
						tiered.Options{PubSub: client, L1TTL: 100 * time.Millisecond, Logger: quiet(), Guard: guard})
					tb.Cleanup(func() { s.Close(); client.Close() })
					return s
				}
			}
			open := func(addr string) *httpcache.Cache {
				return httpcache.New(dial(t, addr, guard), httpcache.Options{Logger: quiet(), Guard: guard})
			}
			c1, c2 := open(proxy.Addr()), open(srv.Addr())
			app := &tagged{}
			h1, h2 := c1.Handler(app), c2.Handler(app)
			if !cached(t, c1, h1, "/a") {
				t.Fatal("/a not cached through the proxy")
			}
			if _, status := get(t, h2, "/a"); status != "httpcache; hit" {
				t.Fatalf("/a not shared: %q", status)
			}
			proxy.Block()
			app.version.Add(1)
			start := time.Now()
			err := c1.PurgeTags(context.Background(), "page:/a")
			// A liveness bound, not a latency assertion (the default
			// PurgeTimeout is 1 s).
			if took := time.Since(start); !errors.Is(err, httpcache.ErrPurgeFailed) || took > 5*time.Second {
				t.Fatalf("PurgeTags with the store blackholed = %v after %v; want ErrPurgeFailed within about a second", err, took)
			}
			proxy.Unblock()
			if body, status := get(t, h1, "/a"); status == "httpcache; hit" || body != "/a v1" {
				t.Fatalf("after the failed purge, the Cache it failed in served %q (%s)", body, status)
			}
			c1.Wait()
			testwait.For(t, "the purge to be retried and recorded", func() bool {
				body, _ := get(t, h2, "/a")
				c2.Wait()
				return body == "/a v1"
			})
		})
	}
}

// TestReclaimLargeTag: purging a tag carried by many sizeable entries
// deletes them all from Redis (in the background, after PurgeTags returns)
// and forgets the tag's set, without tripping the request guard (a purge
// reads and deletes in batches, unguarded).
//
// The entries are stored through another Cache with a generous guard: on a
// loaded machine a write can time out under a short guard and still land,
// without its tag recorded (fail-open: the purge markers still refuse it,
// but reclaim cannot find it), and this test counts what is reclaimed.
func TestReclaimLargeTag(t *testing.T) {
	srv := testserver.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	defer client.Close()
	c := newCache(redisstore.New(client, redisstore.Options{}))
	filler := httpcache.New(redisstore.New(client, redisstore.Options{}),
		httpcache.Options{Logger: quiet(), Guard: httpcache.GuardOptions{Timeout: 5 * time.Second}})
	body := strings.Repeat("x", 50_000)
	h := filler.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Cache-Tag", "big")
		fmt.Fprint(w, body)
	}))
	const n = 300
	for i := range n {
		get(t, h, fmt.Sprintf("/p/%d", i))
		if i%50 == 0 {
			filler.Wait()
		}
	}
	filler.Wait()
	ctx := context.Background()
	entries := func() int {
		keys, err := client.Keys(ctx, "httpcache:v1:{*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	if got := entries(); got != n {
		t.Fatalf("%d entries stored, want %d", got, n)
	}
	errs := c.Stats().StoreErrors
	if err := c.PurgeTags(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	c.Wait() // deleting follows the purge, in the background
	if got := entries(); got != 0 {
		t.Fatalf("%d tagged entries left after the purge", got)
	}
	if sets, _ := client.Keys(ctx, "*tag:*").Result(); len(sets) != 0 {
		t.Fatalf("tag sets left: %q", sets)
	}
	if c.Stats().StoreErrors != errs {
		t.Fatalf("the purge caused %d store errors", c.Stats().StoreErrors-errs)
	}
}

// TestCorruptPurgeClock: garbage under the purge clock's key (written by
// something else sharing the server) is dropped and the clock re-created,
// on every shared store: lookups keep hitting and purges keep working.
func TestCorruptPurgeClock(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.start(t)
			store := b.open(t, srv.Addr())
			c := newCache(store)
			app := &tagged{}
			h := c.Handler(app)
			get(t, h, "/a")
			c.Wait()
			ctx := context.Background()
			if err := store.Set(ctx, "httpcache:v1:purge:seq", []byte("not a number"), time.Hour); err != nil {
				t.Fatal(err)
			}
			get(t, h, "/a") // heals the clock
			c.Wait()
			if _, status := get(t, h, "/a"); status != "httpcache; hit" {
				t.Fatalf("with the clock re-created: %q", status)
			}
			app.version.Add(1)
			if err := c.PurgeTags(ctx, "page:/a"); err != nil {
				t.Fatal(err)
			}
			if body, status := get(t, h, "/a"); body != "/a v1" {
				t.Fatalf("after the purge: %q %q", body, status)
			}
			if n := c.Stats().StoreErrors; n > 1 {
				t.Fatalf("%d store errors", n)
			}
		})
	}
}

// TestKeyPrefixSeparatesPurges: two applications share one store, told
// apart only by Options.KeyPrefix, and serve the same URL with the same
// tags. A purge through one — by tag, by URL, of everything, soft or hard —
// reaches its own entry and never the other's: the other application's next
// request is still a hit, its handler not called. On one memory store
// shared in process, and on Redis, Memcached and tiered shared by two
// instances.
func TestKeyPrefixSeparatesPurges(t *testing.T) {
	type shared struct {
		name string
		open func(t *testing.T) (a, b httpcache.Store)
	}
	stores := []shared{{"memory", func(t *testing.T) (a, b httpcache.Store) {
		s := memory.New(memory.Options{})
		return s, s
	}}}
	for _, b := range backends {
		stores = append(stores, shared{b.name, func(t *testing.T) (httpcache.Store, httpcache.Store) {
			srv := b.start(t)
			return b.open(t, srv.Addr()), b.open(t, srv.Addr())
		}})
	}
	purges := []struct {
		name  string
		purge httpcache.Purge
	}{
		{"tag", httpcache.Purge{Tags: []string{"page:/a"}}},
		{"shared tag", httpcache.Purge{Tags: []string{"all-pages"}}},
		{"url", httpcache.Purge{URLs: []string{"http://example.com/a"}}},
		{"everything", httpcache.Purge{All: true}},
		{"soft tag", httpcache.Purge{Tags: []string{"page:/a"}, Soft: true}},
		{"soft everything", httpcache.Purge{All: true, Soft: true}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			sa, sb := st.open(t)
			open := func(s httpcache.Store, prefix string) *httpcache.Cache {
				// Under test are the prefixes, not the guard: a timeout
				// generous enough that a loaded machine does not fail
				// a lookup.
				return httpcache.New(s, httpcache.Options{KeyPrefix: prefix, Logger: quiet(),
					Guard: httpcache.GuardOptions{Timeout: 5 * time.Second, Cooldown: 100 * time.Millisecond}})
			}
			ca, cb := open(sa, "appA:"), open(sb, "appB:")
			appA, appB := &tagged{}, &tagged{}
			ha, hb := ca.Handler(appA), cb.Handler(appB)
			for _, p := range purges {
				for _, side := range []struct {
					c *httpcache.Cache
					h http.Handler
				}{{ca, ha}, {cb, hb}} {
					get(t, side.h, "/a")
					side.c.Wait()
					if _, status := get(t, side.h, "/a"); status != "httpcache; hit" {
						t.Fatalf("%s: /a not cached: %q", p.name, status)
					}
				}
				appA.version.Add(1)
				appB.version.Add(1)
				if err := ca.Purge(context.Background(), p.purge); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				calls := appB.calls.Load()
				if body, status := get(t, hb, "/a"); status != "httpcache; hit" || appB.calls.Load() != calls {
					t.Fatalf("%s through appA: appB's entry was purged too: %q %q", p.name, body, status)
				}
				calls = appA.calls.Load()
				if body, status := get(t, ha, "/a"); status == "httpcache; hit" || appA.calls.Load() != calls+1 {
					t.Fatalf("%s through appA: appA's entry still served: %q %q", p.name, body, status)
				}
				ca.Wait()
				// Everything purged through appA is refetched there, while
				// appB's entry stays as it was: the next round purges
				// fresh entries on both sides.
				if err := cb.Purge(context.Background(), httpcache.Purge{All: true}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestEverythingACacheWritesLivesUnderItsKeyPrefix: two Caches with their
// own KeyPrefix on one server, doing all a Cache writes — entries, Vary
// indexes and variants, tagged entries, purges of tags, URLs and
// everything (hard and soft), invalidations, fill leases — leave only
// keys that start with one of the two prefixes, so that a Redis ACL key
// pattern or a SCAN of "appA:*" covers all of an application's data. On
// Redis (KEYS) and Memcached (lru_crawler metadump, whose keys are the
// store's "k:" + key for keys as short and plain as these).
func TestEverythingACacheWritesLivesUnderItsKeyPrefix(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		open  func(t *testing.T, addr string) httpcache.Store
		keys  func(t *testing.T, addr string) []string
	}{
		{"redis", testserver.Redis, func(t *testing.T, addr string) httpcache.Store {
			client := goredis.NewClient(&goredis.Options{Addr: addr})
			t.Cleanup(func() { client.Close() })
			return redisstore.New(client, redisstore.Options{})
		}, redisKeys},
		{"memcached", testserver.Memcached, func(t *testing.T, addr string) httpcache.Store {
			return memcached.New(memcache.New(addr), memcached.Options{})
		}, memcachedKeys},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.start(t)
			if srv.External() {
				t.Skip("lists every key on the server: needs a server of its own, not an external one")
			}
			checkKeysUnderPrefixes(t, tt.open(t, srv.Addr()), func() []string { return tt.keys(t, srv.Addr()) })
		})
	}
}

// checkKeysUnderPrefixes runs two Caches on store, with KeyPrefix appA:
// and appB:, through everything a Cache writes, and checks with keys that
// every key on the server is under one of the prefixes: while a fill
// holds its lease and tagged entries stand, and at the end.
func checkKeysUnderPrefixes(t *testing.T, store httpcache.Store, keys func() []string) {
	ctx := context.Background()
	prefixes := []string{"appA:", "appB:"}
	check := func() []string {
		t.Helper()
		all := keys()
		for _, k := range all {
			if !strings.HasPrefix(k, prefixes[0]) && !strings.HasPrefix(k, prefixes[1]) {
				t.Errorf("key %q is under neither of %q", k, prefixes)
			}
		}
		return all
	}
	// A fetch of /slow waits until it is let go: its fill lease is held
	// while it waits.
	release := make(chan struct{})
	holding := make(chan struct{}, 2)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			holding <- struct{}{}
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "page:"+r.URL.Path+", all-pages")
		if r.URL.Query().Has("vary") {
			w.Header().Set("Vary", "Accept-Language")
		}
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("Accept-Language"))
	})
	for _, prefix := range prefixes {
		c := httpcache.New(store, httpcache.Options{
			KeyPrefix: prefix, Logger: quiet(),
			Guard: httpcache.GuardOptions{Timeout: 5 * time.Second},
			Lease: httpcache.LeaseOptions{TTL: time.Minute},
		})
		h := c.Handler(app)
		for _, target := range []string{"/a", "/b", "/c?vary", "/d?vary"} {
			get(t, h, target, "Accept-Language", "fr")
			c.Wait()
		}
		for _, p := range []httpcache.Purge{
			{Tags: []string{"page:/a"}},
			{Tags: []string{"page:/c"}, Soft: true},
			{URLs: []string{"http://example.com/b"}},
		} {
			if err := c.Purge(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/d?vary", nil))
		for _, target := range []string{"/a", "/b", "/c?vary", "/d?vary", "/e"} {
			get(t, h, target, "Accept-Language", "de")
			c.Wait()
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
		}()
		<-holding
		check() // with a lease held and tagged entries standing
		release <- struct{}{}
		<-done
		c.Wait()
		if err := c.Purge(ctx, httpcache.Purge{All: true, Soft: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Purge(ctx, httpcache.Purge{All: true}); err != nil {
			t.Fatal(err)
		}
	}
	all := check()
	for _, prefix := range prefixes {
		n := 0
		for _, k := range all {
			if strings.HasPrefix(k, prefix) {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no key under %q: %q", prefix, all)
		}
	}
}

// redisKeys returns every key in the Redis server at addr.
func redisKeys(t *testing.T, addr string) []string {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	defer client.Close()
	keys, err := client.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// memcachedKeys returns every key in the memcached server at addr, as
// stores/memcached was given it: the server's keys without the "k:" the
// store puts before a key it sends as it is (a hashed key, "h:" + a hash,
// is returned as the server has it).
func memcachedKeys(t *testing.T, addr string) []string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		keys, busy, err := metadump(addr)
		switch {
		case err != nil:
			t.Fatal(err)
		case busy && attempt < 100:
			time.Sleep(10 * time.Millisecond) // another crawl is under way
			continue
		case busy:
			t.Fatal("memcached: the LRU crawler stayed busy")
		}
		for i, k := range keys {
			keys[i] = strings.TrimPrefix(k, "k:")
		}
		return keys
	}
}

// metadump lists the keys of the memcached server at addr with
// "lru_crawler metadump all", reporting busy if a crawl is under way.
func metadump(addr string) (keys []string, busy bool, err error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "lru_crawler metadump all\r\n"); err != nil {
		return nil, false, err
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "END":
			return keys, false, nil
		case strings.HasPrefix(line, "BUSY"):
			return nil, true, nil
		case strings.HasPrefix(line, "key="):
			field, _, _ := strings.Cut(line, " ")
			k, err := url.QueryUnescape(strings.TrimPrefix(field, "key="))
			if err != nil {
				return nil, false, fmt.Errorf("metadump line %q: %v", line, err)
			}
			keys = append(keys, k)
		default:
			return nil, false, fmt.Errorf("metadump: unexpected line %q", line)
		}
	}
	return nil, false, fmt.Errorf("metadump: no END: %v", sc.Err())
}
