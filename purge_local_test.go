package httpcache_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// dropCounting is a store with local copies that has only the optional
// interface store.Replicated (besides those of stores/memory): it must
// still be asked to drop them after a purge.
type dropCounting struct {
	*memory.Store
	drops atomic.Int64
}

func (s *dropCounting) DropLocalCopies(ctx context.Context) error { s.drops.Add(1); return nil }
func (s *dropCounting) GetShared(ctx context.Context, key string) ([]byte, error) {
	return s.Store.Get(ctx, key)
}

// TestLocalCopiesAskedToDrop: a store that adds only store.Replicated to
// stores/memory's capabilities is still asked to drop
// its local copies after a purge.
func TestLocalCopiesAskedToDrop(t *testing.T) {
	s := &dropCounting{Store: memory.New(memory.Options{})}
	c := httpcache.New(s, httpcache.Options{})
	if err := c.PurgeURL(context.Background(), "http://example.com/a"); err != nil {
		t.Fatal(err)
	}
	if s.drops.Load() != 1 {
		t.Errorf("DropLocalCopies called %d times after a purge, want 1", s.drops.Load())
	}
}
