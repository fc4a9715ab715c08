package httpcache_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
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
