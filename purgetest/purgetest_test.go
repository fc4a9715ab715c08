package purgetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/internal/plainstore"
	"github.com/seedcache/httpcache/purgetest"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// sharedStore plays a networked store with counters and a tag index (as
// Redis is): not local, so that every Cache on it keeps its purge records
// in it, through Counter.
type sharedStore struct{ plainstore.Plain }

func (s sharedStore) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	return s.M.Advance(ctx, name, floor, ttl)
}
func (s sharedStore) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	return s.M.AddTags(ctx, key, tags, ttl)
}
func (s sharedStore) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	return s.M.TaggedKeys(ctx, tag)
}
func (s sharedStore) RemoveTags(ctx context.Context, tags ...string) error {
	return s.M.RemoveTags(ctx, tags...)
}

var (
	_ store.Counter  = sharedStore{}
	_ store.TagIndex = sharedStore{}
)

// TestStores runs the cases on a local store sharing purge records
// through store.Local (stores/memory), and on a shared store with a
// Counter and a TagIndex: two Caches each.
func TestStores(t *testing.T) {
	for name, wrap := range map[string]func(*memory.Store) store.Store{
		"local":  func(m *memory.Store) store.Store { return m },
		"shared": func(m *memory.Store) store.Store { return sharedStore{plainstore.Plain{M: m}} },
	} {
		t.Run(name, func(t *testing.T) {
			clock := fakeclock.New(time.Unix(1_700_000_000, 0))
			purgetest.Run(t, func(t *testing.T) store.Store {
				return wrap(memory.New(memory.Options{Clock: clock.Now}))
			})
		})
	}
}

// TestWithoutOptionalInterfaces: with only Get, Set and Delete (and, for a
// local store, a store.StateMap), the cases run on two Caches for a local
// store, and skip for a shared store without a Counter.
func TestWithoutOptionalInterfaces(t *testing.T) {
	for name, wrap := range map[string]func(*memory.Store) store.Store{
		"networked, no Counter": func(m *memory.Store) store.Store { return plainstore.Plain{M: m} },
		"local, a StateMap":     func(m *memory.Store) store.Store { return plainstore.NewLocal(m) },
	} {
		t.Run(name, func(t *testing.T) {
			purgetest.Run(t, func(t *testing.T) store.Store {
				return wrap(memory.New(memory.Options{}))
			})
		})
	}
}
