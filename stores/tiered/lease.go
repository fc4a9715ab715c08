package tiered

import (
	"context"
	"time"

	"github.com/seedcache/httpcache/store"
)

var _ store.Leaser = (*Store)(nil)

// Lease takes the lease on L2, the store every instance shares. With an L2
// that cannot lease (memcached), every lease is granted: there is nothing
// to coordinate through.
func (s *Store) Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	if s.leaser != nil {
		return s.leaser.Lease(ctx, name, token, ttl)
	}
	return true, nil
}

// Release gives up a lease taken with Lease.
func (s *Store) Release(ctx context.Context, name, token string) error {
	if s.leaser != nil {
		return s.leaser.Release(ctx, name, token)
	}
	return nil
}
