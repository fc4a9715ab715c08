package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// leasingProbe is a shared store (not local) with leases; onSet, if set,
// runs once before the next write.
type leasingProbe struct {
	m *memory.Store
	leaseTable
	onSet atomic.Pointer[func()]
}

func newLeasingProbe() *leasingProbe { return &leasingProbe{m: memory.New(memory.Options{})} }

func (s *leasingProbe) Get(ctx context.Context, k string) ([]byte, error) { return s.m.Get(ctx, k) }
func (s *leasingProbe) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if f := s.onSet.Swap(nil); f != nil {
		(*f)()
	}
	return s.m.Set(ctx, k, v, ttl)
}
func (s *leasingProbe) Delete(ctx context.Context, k ...string) error { return s.m.Delete(ctx, k...) }
func (s *leasingProbe) Advance(ctx context.Context, n string, floor int64, ttl time.Duration) (int64, error) {
	return s.m.Advance(ctx, n, floor, ttl)
}

// TestStoredFlightResultHonoursDirectives: with RequestDirectives
// on, a flight's result found in the store (by the lease wait, a refetch or
// a refresh), not fetched for the burst, is a stored response like any
// other: a request whose Cache-Control refuses its age is not served it.
func TestStoredFlightResultHonoursDirectives(t *testing.T) {
	for _, leaderCC := range []string{"", "max-age=10"} {
		t.Run("leaderCC="+leaderCC, func(t *testing.T) {
			clk := newClock()
			st := newLeasingProbe()
			opts := httpcache.Options{Clock: clk.Now, RequestDirectives: true,
				Lease: httpcache.LeaseOptions{TTL: time.Minute, Poll: time.Millisecond}}
			c, holderCache := twoCaches(st, opts)
			g := newGate(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				fmt.Fprint(w, "filled")
			})
			holder := make(chan result, 1)
			go func() { holder <- do(t, holderCache.Handler(g), get("/p")) }()
			testwait.For(t, "the holder's fetch", func() bool { return g.calls.Load() == 1 })
			a := make(chan result, 1)
			go func() { a <- do(t, c.Handler(g), get("/p", "Cache-Control", leaderCC)) }()
			testwait.For(t, "the leader on the lease", func() bool { return st.calls.Load() >= 2 })
			b := make(chan result, 1)
			go func() { b <- do(t, c.Handler(g), get("/p", "Cache-Control", "max-age=10")) }()
			testwait.For(t, "the waiter", func() bool { return c.Stats().Waiting == 1 })
			adv := func() { clk.Advance(100 * time.Second) } // stored 100 s after it was fetched
			st.onSet.Store(&adv)
			close(g.release)
			<-holder
			ra, rb := <-a, <-b
			if st.onSet.Load() != nil {
				t.Fatal("the holder's response was not written through Set: the test shows nothing")
			}
			if leaderCC != "" && ra.header.Get("Age") == "100" {
				t.Errorf("leader sending max-age=10 served a stored response with Age %s (%s)", ra.header.Get("Age"), ra.cacheStatus())
			}
			if rb.header.Get("Age") == "100" {
				t.Errorf("waiter sending max-age=10 served a stored response with Age %s (%s)", rb.header.Get("Age"), rb.cacheStatus())
			}
			c.Wait()
			holderCache.Wait()
		})
	}
}

// TestLeaseWaitNotResponseDelay: a process that waited on
// another's lease, which left nothing, fetches from then on: the wait is
// not response delay, which made a max-age=60 response stored after a
// 100 s wait stale on arrival (never a hit).
func TestLeaseWaitNotResponseDelay(t *testing.T) {
	clk := newClock()
	st := newLeasingProbe()
	opts := httpcache.Options{Clock: clk.Now, Lease: httpcache.LeaseOptions{TTL: 10 * time.Minute, Poll: time.Millisecond}}
	c, holderCache := twoCaches(st, opts)
	var calls atomic.Int64
	gate := make(chan struct{})
	g := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-gate
			w.Header().Set("Cache-Control", "private") // the holder stores nothing
		} else {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		fmt.Fprint(w, "x")
	})
	holder := make(chan result, 1)
	go func() { holder <- do(t, holderCache.Handler(g), get("/p")) }()
	testwait.For(t, "the holder's fetch", func() bool { return calls.Load() == 1 })
	a := make(chan result, 1)
	go func() { a <- do(t, c.Handler(g), get("/p")) }()
	testwait.For(t, "the leader on the lease", func() bool { return st.calls.Load() >= 2 })
	clk.Advance(100 * time.Second) // the holder's fetch is slow
	close(gate)
	<-holder
	if res := <-a; calls.Load() != 2 {
		t.Fatalf("leader: %q, %d calls", res.cacheStatus(), calls.Load())
	}
	c.Wait()
	if res := do(t, c.Handler(g), get("/p")); !isHit(res) {
		t.Fatalf("after the leader's fetch of a max-age=60 response: %q, %d handler calls; want a hit", res.cacheStatus(), calls.Load())
	}
}

// racingLeases is a leasingStore that runs hook before its n-th Lease call
// decides.
type racingLeases struct {
	*leasingStore
	calls atomic.Int64
	n     int64
	hook  func()
}

func (s *racingLeases) Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	if s.calls.Add(1) == s.n {
		s.hook()
	}
	return s.leasingStore.Lease(ctx, name, token, ttl)
}

// TestLeaseHolderFinishesBetweenLookupAndLease: a process waiting
// on another's lease looks in the store, finds nothing, and tries the
// lease; in between, the holder stored its response and let go. The waiter
// gets the lease, and must serve what the holder stored, not call the
// handler again.
func TestLeaseHolderFinishesBetweenLookupAndLease(t *testing.T) {
	st := &racingLeases{leasingStore: &leasingStore{Store: memory.New(memory.Options{})}, n: 3}
	opts := httpcache.Options{Logger: discardLogger(), Lease: httpcache.LeaseOptions{TTL: time.Minute, Poll: time.Millisecond}}
	holder, waiter := httpcache.New(st, opts), httpcache.New(st, opts)
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "filled")
	})
	// Lease calls: the holder's (1), the waiter's first (2), and the
	// waiter's first poll (3), once its lookup has missed: the holder
	// finishes then.
	st.hook = func() {
		close(g.release)
		testwait.For(t, "the holder to let go", func() bool { return st.held() == 0 })
	}
	first := make(chan result, 1)
	go func() { first <- do(t, holder.Handler(g), get("/p")) }()
	testwait.For(t, "the holder's fetch", func() bool { return g.calls.Load() == 1 })
	res := do(t, waiter.Handler(g), get("/p"))
	if (<-first).body != "filled" || res.body != "filled" {
		t.Fatalf("bodies: %q", res.body)
	}
	if n := st.calls.Load(); n < st.n {
		t.Fatalf("%d Lease calls, want at least %d: the holder never finished between the waiter's lookup and its lease", n, st.n)
	}
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("handler called %d times: the waiter fetched though the holder had stored its response", n)
	}
}

// TestLeasePerVariant: the lease is per variant, like the
// flights, so a miss for one variant does not wait on another variant's
// fetch. (Lease.Wait is long: were fr held back by en's lease, it would
// outlast the liveness bound.)
func TestLeasePerVariant(t *testing.T) {
	clk := newClock()
	st := &leasingStore{Store: memory.New(memory.Options{Clock: clk.Now})}
	c := httpcache.New(st, httpcache.Options{Clock: clk.Now, Lease: httpcache.LeaseOptions{TTL: time.Minute}})
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Language") == "en" {
			close(started)
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "in "+r.Header.Get("Accept-Language"))
	}))
	lang := func(l string) *http.Request {
		r := httptest.NewRequest("GET", "/v", nil)
		r.Header.Set("Accept-Language", l)
		return r
	}
	h.ServeHTTP(httptest.NewRecorder(), lang("de")) // index known: flights per variant
	go h.ServeHTTP(httptest.NewRecorder(), lang("en"))
	<-started
	done := make(chan string)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, lang("fr"))
		done <- rec.Body.String()
	}()
	select {
	case body := <-done:
		if body != "in fr" {
			t.Fatalf("fr: %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fr miss waited on the en fetch's lease")
	}
}
