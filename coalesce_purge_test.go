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
)

// TestWaitersShareOnePurgeCheck: the requests collapsed into a
// fetch check its response against the purges finished since the fetch
// began with one read of the purge clock, not one each — a burst of reads
// on the store at the moment the fetch was collapsed to spare it.
func TestWaitersShareOnePurgeCheck(t *testing.T) {
	st := newProbedMem()
	c := httpcache.New(st, httpcache.Options{Logger: discardLogger()})
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "filled")
	})
	h := c.Handler(g)
	leader := lead(t, h, g, "/p")
	const n = 50
	bodies := collapse(t, c, h, "/p", n)
	before := st.clockReads.Load()
	close(g.release)
	<-leader
	expectAll(t, bodies, n, "filled")
	c.Wait()
	if got := st.clockReads.Load() - before; got != 1 {
		t.Errorf("%d waiters read the purge clock %d times after the fetch landed; want 1", n, got)
	}
	if g.calls.Load() != 1 {
		t.Errorf("handler called %d times", g.calls.Load())
	}
}

// TestWaitersServedWhileStoreFails: the leader's lookup timed out
// (so its fetch began without reading the purge clock), the waiters' did
// not, and the store fails again when they wake. They are served the
// leader's response, as they would be with the store down: each fetching
// alone would be a stampede on the handler while the store is failing.
// With a purge in the store from a minute before (an old marker on the
// page's tag), and with a healthy store, the same holds.
func TestWaitersServedWhileStoreFails(t *testing.T) {
	for _, tc := range []struct {
		name         string
		purgedBefore bool // a tag purge is recorded before the fetch
		failOnWake   bool // the store times out when the waiters wake
	}{
		{"store fails on wake", false, true},
		{"old marker, store fails on wake", true, true},
		{"old marker, healthy store", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newProbedMem()
			clk := newClock()
			c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), Clock: clk.Now,
				Guard: httpcache.GuardOptions{Failures: 1000}})
			if tc.purgedBefore {
				if err := c.PurgeTags(context.Background(), "t"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
			}
			g := newGate(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("Cache-Tag", "t")
				fmt.Fprint(w, "filled")
			})
			h := c.Handler(g)
			st.slow.Store(true)
			leader := lead(t, h, g, "/p")
			st.slow.Store(false)
			if st.timeouts.Load() == 0 {
				t.Fatal("the leader's lookup did not time out: the test shows nothing")
			}
			const n = 20
			bodies := collapse(t, c, h, "/p", n)
			st.slow.Store(tc.failOnWake)
			before := st.timeouts.Load()
			close(g.release)
			<-leader
			expectAll(t, bodies, n, "filled")
			if tc.failOnWake && st.timeouts.Load() == before {
				t.Fatal("no read timed out as the waiters woke: the test shows nothing")
			}
			if got := g.calls.Load(); got != 1 {
				t.Fatalf("handler called %d times for one leader and %d waiters (%+v)", got, n, c.Stats())
			}
		})
	}
}

// TestLateJoinerAsksPurgeCheckAgain: the flight's waiters asked the store
// once, and were served. While the leader's write is still under way (its
// flight still open), another process purges the page, and then a request
// joins the flight. The earlier answer predates the purge: it must ask
// again, and not be served the purged response.
func TestLateJoinerAsksPurgeCheckAgain(t *testing.T) {
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{}) // two processes, in effect
	var version atomic.Int64
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	})
	h := c.Handler(g)
	leader := lead(t, h, g, "/p")
	early := collapse(t, c, h, "/p", 1)
	st.holdSet.Store(true)
	close(g.release)
	<-st.held // the leader's write is on the wire: its flight stays open
	if b := <-early; b != "v0" {
		t.Fatalf("the early waiter got %q", b)
	}
	if b := <-leader; b != "v0" {
		t.Fatalf("the leader got %q", b)
	}
	version.Store(1)
	if err := other.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var late string
	go func() {
		defer wg.Done()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/p", nil))
		late = rec.Body.String()
	}()
	wg.Wait()
	close(st.release)
	c.Wait()
	if late != "v1" {
		t.Fatalf("a request made after the purge returned was served %q, fetched before it", late)
	}
}

// TestLeaderLookupTimedOutThenPurge: the leader's lookup timed
// out once (its fetch began without reading the purge clock); the store is
// healthy again when another process purges the page, and when a request
// made after that joins the fetch. It must not be served the fetch's
// response, which predates the purge. (The waiters used to go by this
// process's own purges only.)
func TestLeaderLookupTimedOutThenPurge(t *testing.T) {
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{}) // two processes, in effect
	var version atomic.Int64
	g := taggedGate(&version, "max-age=600")
	h := c.Handler(withVersion(&version, g))
	st.slow.Store(true) // one timeout, for the leader's lookup
	leader := lead(t, h, g, "/p")
	if st.timeouts.Load() == 0 {
		t.Fatal("the leader's lookup did not time out: the test shows nothing")
	}
	purgeThenJoin(t, st, c, other, h, g, &version)
	if b := <-leader; b != "v0" {
		t.Fatalf("leader: %q", b)
	}
}

// purgeThenJoin goes on from a fetch of /p through c held in g, begun with
// the store timing out: the store recovers, version moves on to 1, another
// process purges tag t, and a request made after that joins the fetch; it
// must not be served the fetch's response.
func purgeThenJoin(t *testing.T, st *probedMem, c, other *httpcache.Cache, h http.Handler, g *gate, version *atomic.Int64) {
	t.Helper()
	st.slow.Store(false)
	version.Store(1)
	if err := other.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	late := collapse(t, c, h, "/p", 1)
	close(g.release)
	if b := <-late; b != "v1" {
		t.Fatalf("a request made after the purge returned was served %q, fetched before it", b)
	}
	c.Wait()
}

// TestRefreshLookupTimedOutThenPurge: the same for a background
// refresh whose lookup timed out, joined by a miss made after a purge by
// another process.
func TestRefreshLookupTimedOutThenPurge(t *testing.T) {
	clk := newClock()
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{Clock: clk.Now}) // two processes, in effect
	var version atomic.Int64
	g := taggedGate(&version, "max-age=1, stale-while-revalidate=600")
	close(g.release)
	h := c.Handler(withVersion(&version, g))
	if res := do(t, h, get("/p")); res.body != "v0" {
		t.Fatalf("first: %q", res.body)
	}
	c.Wait()
	clk.Advance(2 * time.Second) // stale, inside stale-while-revalidate
	g.release = make(chan struct{})
	// The refresh starts once the stale response is written; its lookup
	// times out.
	stale := &onWrite{ResponseWriter: httptest.NewRecorder(), fn: func() { st.slow.Store(true) }}
	h.ServeHTTP(stale, httptest.NewRequest("GET", "/p", nil))
	testwait.For(t, "the refresh's fetch", func() bool { return g.calls.Load() == 2 })
	if st.timeouts.Load() == 0 {
		t.Fatal("the refresh's lookup did not time out: the test shows nothing")
	}
	purgeThenJoin(t, st, c, other, h, g, &version)
}

// onWrite calls fn before the header or body goes out.
type onWrite struct {
	http.ResponseWriter
	fn   func()
	once sync.Once
}

func (w *onWrite) WriteHeader(code int) { w.once.Do(w.fn); w.ResponseWriter.WriteHeader(code) }
func (w *onWrite) Write(p []byte) (int, error) {
	w.once.Do(w.fn)
	return w.ResponseWriter.Write(p)
}

// TestGoneWaiterNotHeldByPurgeCheck: one waiter asks the store
// whether the fetch's response was purged, and the store is slow to
// answer; a waiter whose client goes away meanwhile returns at once, not
// after the check. (They used to queue on a lock.)
func TestGoneWaiterNotHeldByPurgeCheck(t *testing.T) {
	st := newProbedMem()
	c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), Guard: httpcache.GuardOptions{Timeout: time.Minute}})
	other := httpcache.New(st, httpcache.Options{Logger: discardLogger()})
	var version atomic.Int64
	g := taggedGate(&version, "max-age=600")
	h := c.Handler(withVersion(&version, g))
	leader := lead(t, h, g, "/p")
	const n = 4
	cancels := make([]context.CancelFunc, n)
	var returned atomic.Int64
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		go func() {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil).WithContext(ctx))
			returned.Add(1)
		}()
	}
	testwait.For(t, "the waiters", func() bool { return c.Stats().Waiting == n })
	// Another process's purge of another page moves the clock on: the
	// response needs a marker check, which the store holds.
	if err := other.PurgeURL(context.Background(), "http://example.com/other"); err != nil {
		t.Fatal(err)
	}
	st.holdMarks.Store(true)
	close(g.release)
	<-leader
	<-st.marksHeld
	for _, cancel := range cancels {
		cancel() // the one asking waits for the store; the others return
	}
	testwait.For(t, "the waiters whose clients went away", func() bool { return returned.Load() >= n-1 })
	close(st.releaseMarks)
	testwait.For(t, "the one asking", func() bool { return returned.Load() == n })
	if got := g.calls.Load(); got != 1 {
		t.Fatalf("handler called %d times: requests whose clients had gone fetched", got)
	}
	c.Wait()
}

// TestPurgedResultRefetchedOnce: a purge reached the fetch's
// response while the requests waited on it. They collapse into one more
// fetch, not one each — soft purges exist to spare the handler a burst.
func TestPurgedResultRefetchedOnce(t *testing.T) {
	for _, soft := range []bool{false, true} {
		t.Run(fmt.Sprintf("soft=%v", soft), func(t *testing.T) {
			st := newProbedMem()
			c, other := twoCaches(st, httpcache.Options{}) // two processes, in effect
			var version atomic.Int64
			g := taggedGate(&version, "max-age=600")
			h := c.Handler(withVersion(&version, g))
			leader := lead(t, h, g, "/p")
			version.Store(1)
			if err := other.Purge(context.Background(), httpcache.Purge{Tags: []string{"t"}, Soft: soft}); err != nil {
				t.Fatal(err)
			}
			const n = 20
			bodies := collapse(t, c, h, "/p", n)
			close(g.release)
			if b := <-leader; b != "v0" {
				t.Fatalf("leader: %q", b)
			}
			expectAll(t, bodies, n, "v1")
			if got := g.calls.Load(); got != 2 {
				t.Fatalf("handler called %d times for one leader and %d waiters refused by a purge; want 2 (%+v)", got, n, c.Stats())
			}
		})
	}
}

// TestUnrelatedPurgeThenStoreFails: another process purges
// another page while the fetch runs (the clock moves on), and the store
// fails as the waiters wake. They are served: only a purge through this
// process would be known to reach the response, and there was none.
func TestUnrelatedPurgeThenStoreFails(t *testing.T) {
	st := newProbedMem()
	c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), Guard: httpcache.GuardOptions{Failures: 1000}})
	other := httpcache.New(st, httpcache.Options{Logger: discardLogger()})
	var version atomic.Int64
	g := taggedGate(&version, "max-age=600")
	h := c.Handler(withVersion(&version, g))
	leader := lead(t, h, g, "/p")
	if err := other.PurgeURL(context.Background(), "http://example.com/other"); err != nil {
		t.Fatal(err)
	}
	const n = 20
	bodies := collapse(t, c, h, "/p", n)
	st.slow.Store(true)
	close(g.release)
	<-leader
	expectAll(t, bodies, n, "v0")
	if st.timeouts.Load() == 0 {
		t.Fatal("no read timed out as the waiters woke: the test shows nothing")
	}
	if got := g.calls.Load(); got != 1 {
		t.Fatalf("handler called %d times for one leader and %d waiters", got, n)
	}
}
