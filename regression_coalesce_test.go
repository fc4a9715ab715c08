package httpcache_test

// Regression tests for collapsed requests on a slow or failing shared store:
// CI, on a loaded machine, saw 200 collapsed requests on Redis call the
// handler 11 to 58 times.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// clockKey is where a Cache with the default prefix keeps its purge clock.
const clockKey = "httpcache:v1:purge:seq"

// probedMem is a memory store seen as a shared store with a Counter. It
// counts reads of the purge clock; while slow is set, its reads time out in
// the middleware's guard (guardedCall: a purge's calls go through);
// and it holds the next write of a response once holdSet is set, until
// release is closed.
type probedMem struct {
	m          *memory.Store
	slow       atomic.Bool
	clockReads atomic.Int64
	holdSet    atomic.Bool
	held       chan struct{} // closed when a write is being held
	release    chan struct{}
	// holdMiss holds the next read that finds the purge clock missing,
	// before it returns, until releaseMiss is closed.
	holdMiss    atomic.Bool
	missHeld    chan struct{}
	releaseMiss chan struct{}
	// holdMarks holds the next read of a purge marker until releaseMarks
	// is closed.
	holdMarks    atomic.Bool
	marksHeld    chan struct{}
	releaseMarks chan struct{}
}

func newProbedMem() *probedMem {
	return &probedMem{m: memory.New(memory.Options{}), held: make(chan struct{}), release: make(chan struct{}),
		missHeld: make(chan struct{}), releaseMiss: make(chan struct{}),
		marksHeld: make(chan struct{}), releaseMarks: make(chan struct{})}
}

func (s *probedMem) Get(ctx context.Context, k string) ([]byte, error) {
	if k == clockKey {
		s.clockReads.Add(1)
	}
	if guardedCall(ctx) && s.slow.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if strings.Contains(k, ":purge:h:") && s.holdMarks.CompareAndSwap(true, false) {
		close(s.marksHeld)
		<-s.releaseMarks
	}
	v, err := s.m.Get(ctx, k)
	if k == clockKey && errors.Is(err, store.ErrNotFound) && s.holdMiss.CompareAndSwap(true, false) {
		close(s.missHeld)
		<-s.releaseMiss
	}
	return v, err
}

func (s *probedMem) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if s.holdSet.CompareAndSwap(true, false) {
		close(s.held)
		<-s.release
	}
	return s.m.Set(ctx, k, v, ttl)
}

func (s *probedMem) Delete(ctx context.Context, k ...string) error { return s.m.Delete(ctx, k...) }

func (s *probedMem) Advance(ctx context.Context, n string, floor int64, ttl time.Duration) (int64, error) {
	return s.m.Advance(ctx, n, floor, ttl)
}

// collapse starts n requests for target through h, each sending its body to
// the channel returned, and waits until all are waiting on c's flight.
func collapse(t *testing.T, c *httpcache.Cache, h http.Handler, target string, n int) <-chan string {
	t.Helper()
	bodies := make(chan string, n)
	for range n {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			bodies <- rec.Body.String()
		}()
	}
	testwait.For(t, "the waiters", func() bool { return c.Stats().Waiting == int64(n) })
	return bodies
}

// leader starts a request for target through h, whose handler is g, and
// waits until g has been called; the body comes on the channel returned.
func lead(t *testing.T, h http.Handler, g *gate, target string) <-chan string {
	t.Helper()
	body := make(chan string, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		body <- rec.Body.String()
	}()
	testwait.For(t, "the leader's fetch", func() bool { return g.calls.Load() >= 1 })
	return body
}

// twoCaches returns two Caches on st with opts and no logs: two processes,
// in effect.
func twoCaches(st httpcache.Store, opts httpcache.Options) (*httpcache.Cache, *httpcache.Cache) {
	opts.Logger = discardLogger()
	return httpcache.New(st, opts), httpcache.New(st, opts)
}

// expectAll checks that the n bodies are all want.
func expectAll(t *testing.T, bodies <-chan string, n int, want string) {
	t.Helper()
	for range n {
		if b := <-bodies; b != want {
			t.Fatalf("a waiter got %q; want %q", b, want)
		}
	}
}

// TestRegressionWaitersShareOnePurgeCheck: the requests collapsed into a
// fetch check its response against the purges finished since the fetch
// began with one read of the purge clock, not one each — a burst of reads
// on the store at the moment the fetch was collapsed to spare it.
func TestRegressionWaitersShareOnePurgeCheck(t *testing.T) {
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

// TestRegressionWaitersServedWhileStoreFails: the leader's lookup timed out
// (so its fetch began without reading the purge clock), the waiters' did
// not, and the store fails again when they wake. They are served the
// leader's response, as they would be with the store down: each fetching
// alone would be a stampede on the handler while the store is failing.
// With a purge in the store from a minute before (an old marker on the
// page's tag), and with a healthy store, the same holds.
func TestRegressionWaitersServedWhileStoreFails(t *testing.T) {
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
			const n = 20
			bodies := collapse(t, c, h, "/p", n)
			st.slow.Store(tc.failOnWake)
			close(g.release)
			<-leader
			expectAll(t, bodies, n, "filled")
			if got := g.calls.Load(); got != 1 {
				t.Fatalf("handler called %d times for one leader and %d waiters (%+v)", got, n, c.Stats())
			}
		})
	}
}

// TestRegressionLateJoinerAsksAgain: the flight's waiters asked the store
// once, and were served. While the leader's write is still under way (its
// flight still open), another process purges the page, and then a request
// joins the flight. The earlier answer predates the purge: it must ask
// again, and not be served the purged response.
func TestRegressionLateJoinerAsksAgain(t *testing.T) {
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

// TestRegressionClockRestartedOnce: on a cold store, two lookups find the
// purge clock missing; one re-creates it and its fetch stores a response
// with that clock's value. The other re-creating it again, later, must not
// move it on: every entry fetched in between would then need a marker
// check, and a cold start's burst of lookups would each move it.
func TestRegressionClockRestartedOnce(t *testing.T) {
	clk := newClock()
	st := newProbedMem()
	c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), Clock: clk.Now,
		Guard: httpcache.GuardOptions{Timeout: time.Minute}})
	h := c.Handler(respond(200, map[string]string{"Cache-Control": "max-age=600"}, "body"))
	st.holdMiss.Store(true)
	first := make(chan result, 1)
	go func() { first <- do(t, h, get("/a")) }()
	<-st.missHeld // the first lookup found the clock missing
	if res := do(t, h, get("/b")); res.body != "body" {
		t.Fatalf("second request: %q", res.body)
	}
	c.Wait()
	created, err := st.m.Get(context.Background(), clockKey)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	close(st.releaseMiss)
	if res := <-first; res.body != "body" {
		t.Fatalf("first request: %q", res.body)
	}
	c.Wait()
	now, err := st.m.Get(context.Background(), clockKey)
	if err != nil {
		t.Fatal(err)
	}
	if string(now) != string(created) {
		t.Fatalf("the purge clock, re-created at %s, was moved on to %s by a lookup that found it missing before", created, now)
	}
	if res := do(t, h, get("/b")); !isHit(res) {
		t.Fatalf("the second request's response is not a hit: %q", res.cacheStatus())
	}
}

// taggedGate is a gated handler rendering version, read when it is called
// (before the gate), tagged t, with the Cache-Control cc.
func taggedGate(version *atomic.Int64, cc string) *gate {
	var g *gate
	g = newGate(nil)
	g.respond = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", r.Context().Value(versionKey{}).(int64))
	}
	return g
}

// withVersion passes version, as it is when the request reaches it, to h.
func withVersion(version *atomic.Int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, version.Load())))
	})
}

// TestRegressionLeaderLookupTimedOutThenPurge: the leader's lookup timed
// out once (its fetch began without reading the purge clock); the store is
// healthy again when another process purges the page, and when a request
// made after that joins the fetch. It must not be served the fetch's
// response, which predates the purge. (Found in review: the waiters went
// by this process's own purges only.)
func TestRegressionLeaderLookupTimedOutThenPurge(t *testing.T) {
	st := newProbedMem()
	c, other := twoCaches(st, httpcache.Options{}) // two processes, in effect
	var version atomic.Int64
	g := taggedGate(&version, "max-age=600")
	h := c.Handler(withVersion(&version, g))
	st.slow.Store(true) // one timeout, for the leader's lookup
	leader := lead(t, h, g, "/p")
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

// TestRegressionRefreshLookupTimedOutThenPurge: the same for a background
// refresh whose lookup timed out, joined by a miss made after a purge by
// another process.
func TestRegressionRefreshLookupTimedOutThenPurge(t *testing.T) {
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

// TestRegressionGoneWaiterNotHeldByPurgeCheck: one waiter asks the store
// whether the fetch's response was purged, and the store is slow to
// answer; a waiter whose client goes away meanwhile returns at once, not
// after the check. (Found in review: they queued on a lock.)
func TestRegressionGoneWaiterNotHeldByPurgeCheck(t *testing.T) {
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

// TestRegressionPurgedResultRefetchedOnce: a purge reached the fetch's
// response while the requests waited on it. They collapse into one more
// fetch, not one each — soft purges exist to spare the handler a burst.
func TestRegressionPurgedResultRefetchedOnce(t *testing.T) {
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

// TestRegressionUnrelatedPurgeThenStoreFails: another process purges
// another page while the fetch runs (the clock moves on), and the store
// fails as the waiters wake. They are served: only a purge through this
// process would be known to reach the response, and there was none.
func TestRegressionUnrelatedPurgeThenStoreFails(t *testing.T) {
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
	if got := g.calls.Load(); got != 1 {
		t.Fatalf("handler called %d times for one leader and %d waiters", got, n)
	}
}
