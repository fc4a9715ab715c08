package httpcache_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/faultstore"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/store"
)

// TestGuardKeepsMultiGetter: Guard returns a MultiGetter exactly when the
// store it guards is one, so that a guarded networked store keeps its
// one-round-trip hits.
func TestGuardKeepsMultiGetter(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	if _, ok := store.Guard(e.store, store.GuardOptions{}).(store.MultiGetter); ok {
		t.Fatal("guarding a store without GetMulti made a MultiGetter")
	}
	g := store.Guard(&faultstore.Script{}, store.GuardOptions{})
	if gs, ok := g.(store.GuardedStore); !ok || !gs.Guarded() {
		t.Fatal("a guarded store does not say so")
	}
	m := &tripStore{Store: e.store}
	gm, ok := store.Guard(m, store.GuardOptions{}).(store.MultiGetter)
	if !ok {
		t.Fatal("guarding a MultiGetter lost GetMulti")
	}
	if _, err := gm.GetMulti(context.Background(), "a", "b"); err != nil || m.trips.Load() != 1 {
		t.Fatalf("GetMulti through the guard: %v, %d trips", err, m.trips.Load())
	}
}

// panickyStore is a networked store whose client panics (a bug in it, a
// nil connection in a pool): Get when getPanics, Set always.
type panickyStore struct{ getPanics bool }

func (s panickyStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.getPanics {
		panic("store client bug in Get")
	}
	return nil, store.ErrNotFound
}
func (panickyStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	panic("store client bug in Set")
}
func (panickyStore) Delete(ctx context.Context, keys ...string) error { return nil }

// TestGuardRecoversStorePanics: a store that panics is a store that fails:
// the request is served by the handler, a background write does not take
// the process down, and the breaker counts the panics.
func TestGuardRecoversStorePanics(t *testing.T) {
	for _, getPanics := range []bool{false, true} {
		c := httpcache.New(panickyStore{getPanics: getPanics}, httpcache.Options{Logger: discardLogger()})
		h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "hello")
		}))
		for i := range 8 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/a", nil))
			if rec.Code != 200 || rec.Body.String() != "hello" {
				t.Fatalf("getPanics %v, request %d: %d %q", getPanics, i, rec.Code, rec.Body.String())
			}
			c.Wait() // the write, which panics, has run
		}
		// Each panic is a failure; when every call panics, the breaker
		// opens after five (Gets that miss in between close it again).
		s := c.Stats()
		if !getPanics && s.StoreErrors != 8 || getPanics && (s.StoreErrors != 5 || s.StoreSkips == 0) {
			t.Fatalf("getPanics %v: stats %+v: the panics were not counted as failures", getPanics, s)
		}
	}
}

// TestCacheStatusNeverSaysStoredWhileStoreFails: while the store fails, or
// its circuit is open, no response promises "stored": Cache-Status says
// why nothing will be (detail=store-error, detail=circuit-open), and
// nothing is written.
func TestCacheStatusNeverSaysStoredWhileStoreFails(t *testing.T) {
	clk := newClock()
	s := &faultstore.Script{}
	s.FailWith(errors.New("connection refused"))
	c := httpcache.New(s, httpcache.Options{Logger: discardLogger(), Clock: clk.Now,
		Guard: httpcache.GuardOptions{Failures: 3}})
	h := c.Handler(respond(200, maxAge("60"), "page"))
	want := []string{"store-error", "store-error", "circuit-open", "circuit-open"}
	for i, detail := range want {
		res := do(t, h, get("/page"))
		if res.body != "page" || res.cacheStatus() != "httpcache; fwd=uri-miss; detail="+detail {
			t.Fatalf("request %d: %q, Cache-Status %q; want detail=%s and nothing said stored", i, res.body, res.cacheStatus(), detail)
		}
	}

	t.Run("circuit opened while the handler ran", func(t *testing.T) {
		s := &faultstore.Script{}
		s.FailWith(store.ErrNotFound) // up: the lookup finds nothing
		c := httpcache.New(s, httpcache.Options{Logger: discardLogger(), Clock: clk.Now,
			Guard: httpcache.GuardOptions{Failures: 3}})
		var h http.Handler
		h = c.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/page" {
				s.FailWith(errors.New("connection refused"))
				for i := range 3 { // other requests meanwhile open the circuit
					do(t, h, get("/other/"+itoa(int64(i))))
				}
			}
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "page")
		}})
		res := do(t, h, get("/page"))
		if res.cacheStatus() != "httpcache; fwd=uri-miss; detail=circuit-open" {
			t.Fatalf("Cache-Status %q; want detail=circuit-open", res.cacheStatus())
		}
		c.Wait()
		if st := c.Stats(); st.Stores != 0 {
			t.Fatalf("stats %+v: written while the circuit was open", st)
		}
	})
}

// TestStatsReportCircuitOpen pins Stats.CircuitOpen: false while the store
// answers, true once the guard has opened its circuit, false again once a
// probe after the cooldown finds the store answering.
func TestStatsReportCircuitOpen(t *testing.T) {
	clk := newClock()
	s := &faultstore.Script{}
	s.FailWith(store.ErrNotFound)
	c := httpcache.New(s, httpcache.Options{Logger: discardLogger(), Clock: clk.Now,
		Guard: httpcache.GuardOptions{Failures: 3, Cooldown: time.Second, Clock: clk.Now}})
	h := c.Handler(respond(200, maxAge("60"), "page"))
	do(t, h, get("/page"))
	if c.Stats().CircuitOpen {
		t.Fatal("circuit open while the store answers")
	}
	s.FailWith(errors.New("connection refused"))
	for i := range 3 {
		do(t, h, get("/p/"+itoa(int64(i))))
	}
	if !c.Stats().CircuitOpen {
		t.Fatalf("circuit not reported open after 3 failures: %+v", c.Stats())
	}
	s.FailWith(store.ErrNotFound)
	clk.Advance(2 * time.Second)
	do(t, h, get("/probe"))
	if c.Stats().CircuitOpen {
		t.Fatal("circuit still reported open after the store answered a probe")
	}
}
