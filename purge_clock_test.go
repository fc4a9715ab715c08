package httpcache_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestPurgeClockRestartedOnce: on a cold store, two lookups find the
// purge clock missing; one re-creates it and its fetch stores a response
// with that clock's value. The other re-creating it again, later, must not
// move it on: every entry fetched in between would then need a marker
// check, and a cold start's burst of lookups would each move it.
func TestPurgeClockRestartedOnce(t *testing.T) {
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

func hardMarkerKey(tag string) string {
	sum := sha256.Sum256([]byte(tag))
	return "httpcache:v1:purge:h:" + hex.EncodeToString(sum[:16])
}

// TestPurgeMarkerNeverLowered: purge A's marker write is slow; purge B
// of the same tag finishes first; A's write landing afterwards must not
// lower the marker below B's.
func TestPurgeMarkerNeverLowered(t *testing.T) {
	st := &sharedMem{m: memory.New(memory.Options{}), blocked: make(chan struct{}), release: make(chan struct{})}
	c := httpcache.New(st, httpcache.Options{})
	var version atomic.Int64
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	getx := func() (string, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		c.Wait()
		return rec.Body.String(), rec.Header().Get("Cache-Status")
	}
	getx() // the clock exists
	k := hardMarkerKey("t")
	st.block.Store(&k)
	aDone := make(chan error)
	go func() { aDone <- c.PurgeTags(context.Background(), "t") }() // purge A, slow marker write
	<-st.blocked
	if err := c.PurgeURL(context.Background(), "http://example.com/x"); err != nil { // another purge moves the clock
		t.Fatal(err)
	}
	getx() // fetched now: v0
	version.Store(1)
	if err := c.PurgeTags(context.Background(), "t"); err != nil { // purge B returns nil
		t.Fatal(err)
	}
	close(st.release) // A's write lands now
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if b, s := getx(); b == "v0" {
		t.Fatalf("a response fetched before purge B was served after it returned (%s)", s)
	}
}

// TestCorruptPurgeClockRecreated: a purge clock holding garbage is
// dropped and re-created, by a lookup or by a purge, instead of failing
// every lookup (and opening the circuit breaker) until repaired by hand.
func TestCorruptPurgeClockRecreated(t *testing.T) {
	const clockKey = "httpcache:v1:purge:seq"
	for _, healer := range []string{"lookup", "purge"} {
		t.Run(healer, func(t *testing.T) {
			st := &sharedMem{m: memory.New(memory.Options{})}
			c := httpcache.New(st, httpcache.Options{Logger: discardLogger()})
			var version atomic.Int64
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("Cache-Tag", "t")
				fmt.Fprintf(w, "v%d", version.Load())
			}))
			do(t, h, get("/p"))
			c.Wait()
			if err := st.m.Set(context.Background(), clockKey, []byte("garbage"), time.Hour); err != nil {
				t.Fatal(err)
			}
			if healer == "lookup" {
				for i := range 10 {
					if res := do(t, h, get("/p")); res.body != "v0" || (i > 0 && !isHit(res)) {
						t.Fatalf("request %d with a corrupt clock: %q %q", i, res.body, res.cacheStatus())
					}
					c.Wait()
				}
			}
			version.Store(1)
			if err := c.PurgeTags(context.Background(), "t"); err != nil {
				t.Fatalf("purge with a corrupt clock: %v", err)
			}
			if res := do(t, h, get("/p")); res.body != "v1" {
				t.Fatalf("after the purge: %q %q", res.body, res.cacheStatus())
			}
			c.Wait()
			if res := do(t, h, get("/p")); !isHit(res) {
				t.Fatalf("not cached again: %q", res.cacheStatus())
			}
			if v, _ := st.m.Get(context.Background(), clockKey); string(v) == "garbage" {
				t.Fatal("the corrupt clock is still there")
			}
			if n := c.Stats().StoreErrors; n > 1 {
				t.Fatalf("%d store errors: the corrupt clock kept failing lookups", n)
			}
		})
	}
}

// advanceHooked is a shared store (Get, Set, Delete and a Counter, nothing
// else: no TagIndex, so a purge deletes nothing and only its markers and
// clock keep purged entries from being served) that calls after with each
// key it advanced, once the write has landed.
type advanceHooked struct {
	m     *memory.Store
	after func(key string)
}

func (s *advanceHooked) Get(ctx context.Context, k string) ([]byte, error) { return s.m.Get(ctx, k) }
func (s *advanceHooked) Delete(ctx context.Context, k ...string) error     { return s.m.Delete(ctx, k...) }
func (s *advanceHooked) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.m.Set(ctx, k, v, ttl)
}
func (s *advanceHooked) Advance(ctx context.Context, n string, f int64, ttl time.Duration) (int64, error) {
	v, err := s.m.Advance(ctx, n, f, ttl)
	if s.after != nil {
		s.after(n)
	}
	return v, err
}

// TestLookupBetweenMarkerAndClockNotMemoised: a purge advances its tags'
// markers before the purge clock. A lookup made after each of those writes
// (here from the store's Advance, once the write has landed) must not
// memoise the entry as "not purged" up to the purge's clock value: were the
// clock written first, a lookup in between would read the new clock, find
// no marker yet, and remember the purged entry as checked, serving it on
// every later hit.
func TestLookupBetweenMarkerAndClockNotMemoised(t *testing.T) {
	clk := newClock()
	st := &advanceHooked{m: memory.New(memory.Options{Clock: clk.Now})}
	c := httpcache.New(st, httpcache.Options{Clock: clk.Now})
	var version atomic.Int64
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	do(t, h, get("/x")) // the clock exists; v0 stored
	c.Wait()
	if res := do(t, h, get("/x")); !isHit(res) || res.body != "v0" {
		t.Fatalf("setup: %q %q", res.body, res.cacheStatus())
	}
	version.Store(1)

	var advanced []string
	st.after = func(key string) {
		advanced = append(advanced, key)
		res := do(t, h, get("/x"))
		t.Logf("lookup after the write of %s: %q %q", key, res.body, res.cacheStatus())
	}
	if err := c.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	st.after = nil
	c.Wait()

	// The hook must have run after both writes, or the test shows nothing.
	marker := hardMarkerKey("t")
	if !slices.Contains(advanced, marker) || !slices.Contains(advanced, clockKey) {
		t.Fatalf("the store's Advance saw %q: no lookup ran between the marker and the clock writes", advanced)
	}
	if res := do(t, h, get("/x")); res.body == "v0" {
		t.Errorf("the purged response was served after the purge returned (%s)", res.cacheStatus())
	}
	if want := []string{marker, clockKey}; !slices.Equal(advanced, want) {
		t.Errorf("the purge advanced %q, want the marker then the clock %q", advanced, want)
	}
}
