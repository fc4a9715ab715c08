package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestStaleIfErrorAfterPurge: a purge that finishes while the
// handler fails keeps the stale response from standing in for the error.
func TestStaleIfErrorAfterPurge(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var failing atomic.Bool
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprint(w, "old")
	})
	close(g.release)
	h := e.cache.Handler(g)
	do(t, h, get("/s"))
	e.clock.Advance(20 * time.Second)
	failing.Store(true)
	g2 := newGate(g.respond)
	h2 := e.cache.Handler(g2)
	done := make(chan result)
	go func() { done <- do(t, h2, get("/s")) }()
	testwait.For(t, "the fetch", func() bool { return g2.calls.Load() == 1 })
	if err := e.cache.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	close(g2.release)
	if res := <-done; res.body == "old" || res.status != http.StatusBadGateway {
		t.Fatalf("a purged stale response stood in for the error: %d %q", res.status, res.body)
	}
}

// TestWaiterAfterPurgeWithSlowStore: while the store's reads time
// out, a request made after a purge returned joins a fetch that began
// before it; it must not be answered with that fetch's response.
func TestWaiterAfterPurgeWithSlowStore(t *testing.T) {
	st := &sharedMem{m: memory.New(memory.Options{})}
	c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), PurgeTimeout: purgeUnbounded})
	var version atomic.Int64
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", r.Context().Value(versionKey{}).(int64))
	})
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The data is read when the handler starts, before the gate.
		g.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, version.Load())))
	}))
	st.slow.Store(true)
	leader := make(chan result)
	go func() { leader <- do(t, h, get("/p")) }()
	testwait.For(t, "the leader's fetch", func() bool { return g.calls.Load() == 1 })
	version.Store(1)
	if err := c.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	waiter := make(chan result)
	go func() { waiter <- do(t, h, get("/p")) }()
	testwait.For(t, "the waiter", func() bool { return c.Stats().Waiting == 1 })
	close(g.release)
	if res := <-leader; res.body != "v0" {
		t.Fatalf("leader: %q", res.body)
	}
	if res := <-waiter; res.body != "v1" {
		t.Fatalf("a request made after the purge returned was answered with a response fetched before it: %q %q", res.body, res.cacheStatus())
	}
	if st.timeouts.Load() == 0 {
		t.Fatal("no read of the store timed out: the test shows nothing")
	}
}

// TestPurgeDuringFetch: a response whose fetch began before a purge and is
// stored after it is never served.
func TestPurgeDuringFetch(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var version atomic.Int64
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	})
	h := e.cache.Handler(g)
	done := make(chan struct{})
	go func() { do(t, h, get("/p")); close(done) }()
	testwait.For(t, "the fetch", func() bool { return g.calls.Load() == 1 })
	if err := e.cache.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	close(g.release) // renders v0 — read before the purge — and stores it
	<-done
	version.Store(1)
	if res := do(t, h, get("/p")); res.body != "v1" {
		t.Fatalf("a response fetched before the purge was served after it: %q %q", res.body, res.cacheStatus())
	}
}

// TestPurgeRace runs purges and re-stores of one tagged URL concurrently:
// once a purge of version n returns, no response older than n is served.
func TestPurgeRace(t *testing.T) {
	const iterations = 1000
	e := newEnv(t, httpcache.Options{})
	var version atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := version.Load() // the data the response is rendered from
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "hot")
		fmt.Fprintf(w, "%d", v)
	}))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 { // re-storing the URL all along
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/hot", nil))
			}
		}()
	}
	for n := int64(1); n <= iterations; n++ {
		version.Store(n)
		if err := e.cache.PurgeTags(context.Background(), "hot"); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/hot", nil))
		var got int64
		fmt.Sscan(rec.Body.String(), &got)
		if got < n {
			close(stop)
			wg.Wait()
			t.Fatalf("iteration %d: served version %d after its purge returned (%s)", n, got, rec.Header().Get("Cache-Status"))
		}
	}
	close(stop)
	wg.Wait()
}
