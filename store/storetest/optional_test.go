package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
	"github.com/seedcache/httpcache/stores/memory"
)

// plainStore is a store with only the required methods: Counter, TagIndex
// and the rest are optional (and their cases skip without them).
type plainStore struct{ m *memory.Store }

func (s plainStore) Get(ctx context.Context, k string) ([]byte, error) { return s.m.Get(ctx, k) }
func (s plainStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.m.Set(ctx, k, v, ttl)
}
func (s plainStore) Delete(ctx context.Context, k ...string) error { return s.m.Delete(ctx, k...) }

// localPlain is a local store that keeps no state of its own: its
// LocalState is a store.StateMap.
type localPlain struct {
	plainStore
	*store.StateMap
}

func (localPlain) Guarded() bool { return true }

var _ store.Local = localPlain{}

// TestWithoutOptionalInterfaces: a store with only Get, Set and Delete
// passes, its cases of optional interfaces skipped, whether or not it says
// it is local. (The purge cases of such stores are in purgetest.)
func TestWithoutOptionalInterfaces(t *testing.T) {
	for name, wrap := range map[string]func(*memory.Store) store.Store{
		"networked, no Counter": func(m *memory.Store) store.Store { return plainStore{m} },
		"local, a StateMap":     func(m *memory.Store) store.Store { return localPlain{plainStore{m}, new(store.StateMap)} },
	} {
		t.Run(name, func(t *testing.T) {
			clock := fakeclock.New(time.Unix(1_700_000_000, 0))
			storetest.Run(t, func(t *testing.T) store.Store {
				return wrap(memory.New(memory.Options{Clock: clock.Now}))
			}, storetest.Options{Advance: clock.Advance})
		})
	}
}
