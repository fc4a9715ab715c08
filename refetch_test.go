package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestRefreshFlightAfterOldInvalidation: misses joining a
// background refresh's flight, refused by a purge, collapse into one
// refetch — also when the URL was invalidated by a POST long before (the
// refresh's flight did not note the invalidation count its lookup read,
// so every waiter took the POST for one made during the fetch).
func TestRefreshFlightAfterOldInvalidation(t *testing.T) {
	for _, post := range []bool{false, true} {
		t.Run(fmt.Sprintf("earlierPOST=%v", post), func(t *testing.T) {
			clk := newClock()
			c := httpcache.New(memory.New(memory.Options{Clock: clk.Now}), httpcache.Options{Logger: discardLogger(), Clock: clk.Now})
			var calls atomic.Int64
			var gated atomic.Bool
			gate := make(chan struct{})
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if r.Method == "GET" && gated.Load() {
					<-gate
				}
				w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=600")
				fmt.Fprintf(w, "v%d", n)
			}))
			do(t, h, get("/p"))
			if post {
				do(t, h, get("/p").with("POST")) // invalidates /p, long ago
				c.Wait()
				do(t, h, get("/p")) // stored again
			}
			c.Wait()
			base := calls.Load()
			clk.Advance(2 * time.Second) // stale, inside stale-while-revalidate
			gated.Store(true)
			if res := do(t, h, get("/p")); !strings.Contains(res.cacheStatus(), "hit") {
				t.Fatalf("stale: %q", res.cacheStatus())
			}
			testwait.For(t, "the refresh", func() bool { return calls.Load() == base+1 })
			if err := c.PurgeURL(context.Background(), "http://example.com/p"); err != nil {
				t.Fatal(err)
			}
			const n = 10
			bodies := collapse(t, c, h, "/p", n) // misses after the purge join the refresh
			close(gate)
			for range n {
				<-bodies
			}
			c.Wait()
			if got := calls.Load() - base; got != 2 {
				t.Fatalf("%d handler calls for a refresh and %d collapsed misses refused by a purge; want 2 (refresh + one refetch)", got, n)
			}
		})
	}
}

// TestRefetchRequestTime: a refetch begins when its leader was
// refused, not when that request looked the URL up: the wait before it is
// not response delay (RFC 9111 §4.2.3), which made a max-age=60 response
// stored after a 50 s wait and a 20 s fetch stale on arrival.
func TestRefetchRequestTime(t *testing.T) {
	clk := newClock()
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{Clock: clk.Now})
	var calls atomic.Int64
	gate := make(chan struct{})
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch n {
		case 1:
			<-gate // a 50 s handler (the clock is moved on meanwhile)
		case 2:
			clk.Advance(20 * time.Second) // a 20 s handler
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", n)
	}))
	leader := make(chan result, 1)
	go func() { leader <- do(t, h, get("/p")) }()
	testwait.For(t, "the leader's fetch", func() bool { return calls.Load() == 1 })
	waiter := collapse(t, c, h, "/p", 1)
	clk.Advance(50 * time.Second)
	if err := other.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if res := <-leader; res.body != "v1" {
		t.Fatalf("leader: %q", res.body)
	}
	if b := <-waiter; b != "v2" {
		t.Fatalf("waiter: %q", b)
	}
	c.Wait()
	if res := do(t, h, get("/p")); res.body != "v2" || calls.Load() != 2 {
		t.Fatalf("after the refetch (a 20 s fetch of a max-age=60 response): %q %q Age=%q, %d handler calls; want a hit on v2",
			res.body, res.cacheStatus(), res.header.Get("Age"), calls.Load())
	}
}

// TestRefetchLeaderClientGone: the refetch's leader waits for
// the purged response's write; its client goes away meanwhile. It must not
// then call the handler for nobody.
func TestRefetchLeaderClientGone(t *testing.T) {
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{})
	var version atomic.Int64
	g := taggedGate(&version, "max-age=600")
	h := c.Handler(withVersion(&version, g))
	leader := lead(t, h, g, "/p")
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil).WithContext(ctx))
	}()
	testwait.For(t, "the waiter", func() bool { return c.Stats().Waiting == 1 })
	version.Store(1)
	if err := other.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	st.holdSet.Store(true) // the leader's write of the purged v0 is held
	close(g.release)
	<-st.held
	<-leader
	// Give the waiter, refused by the purge, time to lead the refetch and
	// wait for that write (if it has not yet, the test proves nothing,
	// but cannot fail either).
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-returned
	close(st.release)
	c.Wait()
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("%d handler calls: the refetch ran for a client that had gone", n)
	}
}

// staleThenGated is a handler for the refetch tests: call 1 fills the page
// (tagged t, stale after 1 s, stale-if-error for 600 s, with an ETag in
// mode "304"); call 2, the leader's fetch, waits on gate2; later calls
// wait on gate3, then answer the validators with a 304 in mode "304", else
// fail with a 502.
func staleThenGated(mode string, calls *atomic.Int64, gate2, gate3 chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n >= 3 {
			<-gate3
			if mode == "304" && r.Header.Get("If-None-Match") == `"e0"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		body := "v0-first"
		if n == 2 {
			<-gate2
			body = "v0-leader" // rendered before the purge
		}
		w.Header().Set("Cache-Control", "max-age=1, stale-if-error=600")
		w.Header().Set("Cache-Tag", "t")
		if mode == "304" {
			w.Header().Set("ETag", `"e0"`)
		}
		fmt.Fprint(w, body)
	})
}

// TestRefetchDropsPurgedStale: a waiter's lookup found the
// stale response, before a purge reached it and the flight's result; it
// then leads the refetch. The stale response must not stand in for the
// refetch's error, nor be revalidated by its 304 and stored again, for the
// requests made after the purge returned — whether the purge went through
// another process on a healthy store, or through this Cache while the
// store fails.
func TestRefetchDropsPurgedStale(t *testing.T) {
	for _, tc := range []struct {
		mode string
		own  bool // purged through this Cache, with the store failing
	}{{"stale-if-error", false}, {"304", false}, {"stale-if-error", true}} {
		t.Run(fmt.Sprintf("%s/own=%v", tc.mode, tc.own), func(t *testing.T) {
			clk := newClock()
			st := newProbedMem()
			c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), Clock: clk.Now,
				Guard: httpcache.GuardOptions{Failures: 1000}, PurgeTimeout: purgeUnbounded})
			purger := httpcache.New(st, httpcache.Options{Logger: discardLogger(), Clock: clk.Now})
			if tc.own {
				purger = c
			}
			var calls atomic.Int64
			gate2, gate3 := make(chan struct{}), make(chan struct{})
			h := c.Handler(staleThenGated(tc.mode, &calls, gate2, gate3))
			if res := do(t, h, get("/p")); res.body != "v0-first" {
				t.Fatalf("fill: %q", res.body)
			}
			c.Wait()
			clk.Advance(2 * time.Second) // stale, inside stale-if-error
			leader := make(chan result, 1)
			go func() { leader <- do(t, h, get("/p")) }()
			testwait.For(t, "the leader's fetch", func() bool { return calls.Load() == 2 })
			early := collapse(t, c, h, "/p", 1) // its lookup found the stale response
			if tc.own {
				st.slow.Store(true) // the store's reads time out from here on
			}
			if err := purger.PurgeTags(context.Background(), "t"); err != nil {
				t.Fatal(err)
			}
			close(gate2)
			<-leader
			testwait.For(t, "the refetch", func() bool { return calls.Load() == 3 })
			late := collapse(t, c, h, "/p", 1) // made after the purge returned
			close(gate3)
			<-early
			if b := <-late; b == "v0-first" || b == "v0-leader" {
				t.Errorf("a request made after the purge returned was served %q, fetched before it", b)
			}
			if tc.own && st.timeouts.Load() == 0 {
				t.Fatal("no read of the store timed out: the test shows nothing")
			}
			st.slow.Store(false)
			c.Wait()
			if res := do(t, h, get("/p")); res.body == "v0-first" || res.body == "v0-leader" {
				t.Errorf("a later request was served %q (%s), fetched before the purge", res.body, res.cacheStatus())
			}
		})
	}
}

// abortingWriter panics, as middleware above the cache may when the
// client has gone.
type abortingWriter struct{ http.ResponseWriter }

func (w abortingWriter) WriteHeader(int)           { panic(http.ErrAbortHandler) }
func (w abortingWriter) Write([]byte) (int, error) { panic(http.ErrAbortHandler) }

// TestRefetchLeaderPanicLandsFlight: the refetch's leader finds
// the replacement stored and serves it, and writing it panics. Its flight
// must still land: else every later miss of the URL joins it and waits
// until its client gives up.
func TestRefetchLeaderPanicLandsFlight(t *testing.T) {
	clk := newClock()
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{Clock: clk.Now}) // two processes, in effect
	var version atomic.Int64
	g := taggedGate(&version, "max-age=60")
	h := c.Handler(withVersion(&version, g))
	leader := lead(t, h, g, "/p")
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		h.ServeHTTP(abortingWriter{httptest.NewRecorder()}, httptest.NewRequest("GET", "/p", nil))
	}()
	testwait.For(t, "the waiter", func() bool { return c.Stats().Waiting == 1 })
	version.Store(1)
	if err := other.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	st.holdMarks.Store(true)
	close(g.release)
	<-leader
	<-st.marksHeld // the waiter is asking whether the purge reached the result
	c.Wait()
	// Meanwhile another process stores v1: the waiter, refused, will
	// find it and serve it (and panic).
	if res := do(t, other.Handler(withVersion(&version, g)), get("/p")); res.body != "v1" {
		t.Fatalf("other: %q", res.body)
	}
	other.Wait()
	close(st.releaseMarks)
	if v := <-recovered; v != http.ErrAbortHandler {
		t.Fatalf("waiter: recovered %v", v)
	}
	clk.Advance(2 * time.Minute) // v1 is stale: the next request misses
	done := make(chan string, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/p", nil))
		done <- rec.Body.String()
	}()
	testwait.For(t, "a later miss to be answered", func() bool { return len(done) == 1 })
	if b := <-done; b != "v1" {
		t.Fatalf("later miss: %q", b)
	}
}
