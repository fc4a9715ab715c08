package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// tripStore presents a store as a networked one with a multi-get, counting
// round trips: every call is one. (The Redis and Memcached stores' own tests
// count real commands; this checks the middleware's side.)
type tripStore struct {
	httpcache.Store
	trips atomic.Int64
}

func (s *tripStore) Get(ctx context.Context, key string) ([]byte, error) {
	s.trips.Add(1)
	return s.Store.Get(ctx, key)
}

func (s *tripStore) GetMulti(ctx context.Context, keys ...string) ([][]byte, error) {
	s.trips.Add(1)
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.Store.Get(ctx, k)
		if err == nil {
			out[i] = append([]byte{}, v...)
		}
	}
	return out, nil
}

// TestOneRoundTripPerHit: with a MultiGetter store, a steady-state hit costs
// one round trip, with or without Vary.
func TestOneRoundTripPerHit(t *testing.T) {
	for _, vary := range []string{"", "Accept-Language", "Accept-Language, Accept-Encoding"} {
		t.Run("vary="+vary, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			ts := &tripStore{Store: e.store}
			c := httpcache.New(ts, httpcache.Options{Clock: e.clock.Now})
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				if vary != "" {
					w.Header().Set("Vary", vary)
				}
				fmt.Fprintf(w, "for %s", r.Header.Get("Accept-Language"))
			}))
			langs := []string{"en", "fr", "de"}
			for _, l := range langs { // fill
				do(t, h, get("/p", "Accept-Language", l, "Accept-Encoding", "gzip"))
				c.Wait()
			}
			for round := range 3 {
				for _, l := range langs {
					before := ts.trips.Load()
					res := do(t, h, get("/p", "Accept-Language", l, "Accept-Encoding", "gzip"))
					if !isHit(res) {
						t.Fatalf("round %d %s: not a hit: %q", round, l, res.cacheStatus())
					}
					if n := ts.trips.Load() - before; n != 1 {
						t.Fatalf("round %d %s: %d round trips for a hit", round, l, n)
					}
				}
			}
		})
	}
}

// TestHintNeverServesPurged: the index read with the variant guards the
// hint, so a URL whose index is gone is never served from a stale hint.
func TestHintNeverServesPurged(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	ts := &tripStore{Store: e.store}
	c := httpcache.New(ts, httpcache.Options{Clock: e.clock.Now})
	a := &article{}
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		a.ServeHTTP(w, r)
	}))
	for range 2 {
		do(t, h, get("/v", "Accept-Language", "en"))
		c.Wait()
	}
	if res := do(t, h, get("/v", "Accept-Language", "en")); !isHit(res) {
		t.Fatalf("not cached: %q", res.cacheStatus())
	}
	do(t, h, get("/v").with("POST"))
	res := do(t, h, get("/v", "Accept-Language", "en"))
	if isHit(res) || res.body != "/v v1" {
		t.Fatalf("served after invalidation: %q %q", res.body, res.cacheStatus())
	}
	// And another instance, whose hint is stale, sharing the store.
	other := httpcache.New(ts, httpcache.Options{Clock: e.clock.Now})
	oh := other.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		a.ServeHTTP(w, r)
	}))
	c.Wait()
	if res := do(t, oh, get("/v", "Accept-Language", "en")); !isHit(res) || res.body != "/v v1" {
		t.Fatalf("other instance: %q %q", res.body, res.cacheStatus())
	}
	do(t, h, get("/v").with("PUT"))
	e.clock.Advance(time.Second)
	if res := do(t, oh, get("/v", "Accept-Language", "en")); isHit(res) || res.body != "/v v2" {
		t.Fatalf("other instance served a purged variant through its hint: %q %q", res.body, res.cacheStatus())
	}
}
