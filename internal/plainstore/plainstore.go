// Package plainstore holds stores for tests of what the cache and the
// conformance suites do without a store's optional capabilities: a store
// with only Get, Set and Delete over a memory store, and a local one that
// keeps no state of its own (its LocalState a store.StateMap).
package plainstore

import (
	"context"
	"time"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// Plain is a store with only the required methods, over M.
type Plain struct{ M *memory.Store }

// Get reads k from M.
func (s Plain) Get(ctx context.Context, k string) ([]byte, error) { return s.M.Get(ctx, k) }

// Set writes k to M.
func (s Plain) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.M.Set(ctx, k, v, ttl)
}

// Delete deletes k from M.
func (s Plain) Delete(ctx context.Context, k ...string) error { return s.M.Delete(ctx, k...) }

// Local is a local store (store.Local) that keeps no state of its own.
type Local struct {
	Plain
	*store.StateMap
}

// NewLocal returns a Local over m with a fresh StateMap.
func NewLocal(m *memory.Store) Local { return Local{Plain{m}, new(store.StateMap)} }

// Guarded reports true: a local store needs no guard.
func (Local) Guarded() bool { return true }

var _ store.Local = Local{}
