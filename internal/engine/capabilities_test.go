package engine

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/rfc9111"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
	"github.com/seedcache/httpcache/stores/tiered"
)

// Synthetic stores, each with one capability (or a known combination), to
// pin how New discovers what a store can do.
type (
	capBase                struct{}
	capMulti               struct{ capBase }
	capObjects             struct{ capBase }
	capObjectsGuarded      struct{ capObjects }
	capObjectsGuardedMulti struct{ capObjectsGuarded }
	capLeaser              struct{ capBase }
	capTags                struct{ capBase }
	capCounter             struct{ capBase }
	capLocal               struct{ capBase }
)

func (capBase) Get(context.Context, string) ([]byte, error)              { return nil, store.ErrNotFound }
func (capBase) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (capBase) Delete(context.Context, ...string) error                  { return nil }
func (capMulti) GetMulti(_ context.Context, keys ...string) ([][]byte, error) {
	return make([][]byte, len(keys)), nil
}
func (capObjects) GetObject(context.Context, string) ([]byte, any, error) {
	return nil, nil, store.ErrNotFound
}
func (capObjects) SetObject(context.Context, string, []byte, any, time.Duration) error {
	return nil
}
func (capObjects) AttachObject(string, []byte, any) {}
func (capObjectsGuarded) Guarded() bool             { return true }
func (capObjectsGuardedMulti) GetMulti(_ context.Context, keys ...string) ([][]byte, error) {
	return make([][]byte, len(keys)), nil
}
func (capLeaser) Lease(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (capLeaser) Release(context.Context, string, string) error                { return nil }
func (capTags) AddTags(context.Context, string, []string, time.Duration) error { return nil }
func (capTags) TaggedKeys(context.Context, string) ([]string, error)           { return nil, nil }
func (capTags) RemoveTags(context.Context, ...string) error                    { return nil }
func (capCounter) Advance(context.Context, string, int64, time.Duration) (int64, error) {
	return 1, nil
}
func (capLocal) LocalState(_ any, fresh func() any) any { return fresh() }
func (capLocal) Guarded() bool                          { return true }

// TestNewProbesStoreCapabilities pins which optional interfaces New finds
// and how it calls them: ObjectStore only on a store that guards itself
// (every other read goes through the guard, which keeps no objects);
// MultiGetter only without objects; Leaser only with Options.Lease; Leaser,
// TagIndex and Counter found on the store as given and called through the
// guard; a local store written at once and keeping purge records in
// process; every other store guarded.
func TestNewProbesStoreCapabilities(t *testing.T) {
	type caps struct{ guarded, objects, multi, leaser, tags, counter, local bool }
	for _, tc := range []struct {
		name  string
		st    store.Store
		lease bool
		want  caps
	}{
		{"plain", capBase{}, false, caps{guarded: true}},
		{"multi-get", capMulti{}, false, caps{guarded: true, multi: true}},
		{"objects, unguarded", capObjects{}, false, caps{guarded: true}},
		{"objects, guarding itself", capObjectsGuarded{}, false, caps{objects: true}},
		{"objects and multi-get", capObjectsGuardedMulti{}, false, caps{objects: true}},
		{"leaser, leases off", capLeaser{}, false, caps{guarded: true}},
		{"leaser, leases on", capLeaser{}, true, caps{guarded: true, leaser: true}},
		{"tag index", capTags{}, false, caps{guarded: true, tags: true}},
		{"counter", capCounter{}, false, caps{guarded: true, counter: true}},
		{"local", capLocal{}, false, caps{local: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Config{}
			if tc.lease {
				opts.Lease.TTL = time.Second
			}
			c := New(tc.st, opts)
			// What store.Guard returns, and nothing else here, reports
			// its circuit.
			_, guarded := c.store.(store.CircuitReporter)
			sp, _ := c.purges.(*storePurges)
			got := caps{
				guarded: guarded,
				objects: c.objects != nil,
				multi:   c.multi != nil,
				leaser:  c.leaser != nil,
				tags:    c.tagIdx != nil,
				counter: sp != nil && sp.counter != nil,
				local:   c.writes.local,
			}
			if got != tc.want {
				t.Fatalf("capabilities %+v, want %+v", got, tc.want)
			}
			if got.local != (sp == nil) {
				t.Fatalf("local=%v but purge records in %T", got.local, c.purges)
			}
			if guarded {
				if got.leaser && c.leaser == store.Leaser(tc.st.(store.Leaser)) || got.tags && c.tagIdx == store.TagIndex(tc.st.(store.TagIndex)) ||
					got.counter && sp.counter == store.Counter(tc.st.(store.Counter)) {
					t.Fatal("a capability of a guarded store is called around the guard")
				}
			}
		})
	}
}

// countingTiered is a metrics wrapper of the usual Go shape: it embeds the
// store it wraps and overrides the reads it counts.
type countingTiered struct {
	*tiered.Store
	reads atomic.Int64
}

func (s *countingTiered) GetObject(ctx context.Context, k string) ([]byte, any, error) {
	s.reads.Add(1)
	return s.Store.GetObject(ctx, k)
}

// TestNewReadsThroughAWrapperEmbeddingACapableStore pins that a wrapper
// embedding a Capable store (stores/tiered) and overriding GetObject is
// read through its own GetObject, as before Caps: the Caps method it
// inherits by embedding describes the embedded store, whose handles would
// bypass the wrapper.
func TestNewReadsThroughAWrapperEmbeddingACapableStore(t *testing.T) {
	ts := tiered.New(memory.New(memory.Options{}), memory.New(memory.Options{}), tiered.Options{})
	t.Cleanup(func() { ts.Close() })
	w := &countingTiered{Store: ts}
	c := New(w, Config{Site: RouteConfig{Rules: rfc9111.Rules{TTL: time.Minute}}, Logger: slog.New(slog.DiscardHandler)})
	h := c.Handler(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Write([]byte("hello"))
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/a", nil))
		if rec.Code != 200 || rec.Body.String() != "hello" {
			t.Fatalf("got %d %q", rec.Code, rec.Body.String())
		}
		c.Wait()
	}
	if n := w.reads.Load(); n == 0 {
		t.Errorf("the wrapper's GetObject saw %d calls over a miss and a hit; want 2 (New read the embedded store around it)", n)
	}
}

// mapLocal is an in-process store written to the interfaces of before
// store.Local: it guards itself and says it is local (Local() bool), and
// keeps no state for the middleware (no LocalState).
type mapLocal struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *mapLocal) Get(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[k]; ok {
		return v, nil
	}
	return nil, store.ErrNotFound
}

func (s *mapLocal) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = bytes.Clone(v)
	return nil
}

func (s *mapLocal) Delete(_ context.Context, ks ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range ks {
		delete(s.m, k)
	}
	return nil
}

func (s *mapLocal) Guarded() bool { return true }
func (s *mapLocal) Local() bool   { return true }

// TestNewLocalStoreWithoutLocalStateTakesPurges: a local store that keeps
// no state for the middleware (no LocalState) took purges, recorded in the
// Cache, before store.Local; it has no Counter, so as a shared store it
// cannot take them at all.
func TestNewLocalStoreWithoutLocalStateTakesPurges(t *testing.T) {
	c := New(&mapLocal{m: map[string][]byte{}}, Config{Site: RouteConfig{Rules: rfc9111.Rules{TTL: time.Minute}}, Logger: slog.New(slog.DiscardHandler)})
	if err := c.Purge(context.Background(), Purge{URLs: []string{"http://example.com/a"}}); err != nil {
		t.Errorf("Purge: %v; want it recorded, as for any local store", err)
	}
}
