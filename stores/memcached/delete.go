package memcached

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bradfitz/gomemcache/memcache"
)

// Delete removes keys; keys that are not stored are not an error. memcached
// has no multi-key delete: each key costs one command, sent at most the
// client's MaxIdleConns at a time (see the package documentation). Once ctx
// is done no further command is sent; a key whose command was sent may or
// may not be deleted.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	var err error
	switch len(keys) {
	case 0:
		if ctx.Err() != nil {
			err = ctxError(ctx)
		}
	case 1:
		_, err = call(ctx, s.client, s.key(keys[0]), deleteOne)
	default:
		_, err = call(ctx, s.client, s.keys(keys), func(c *memcache.Client, keys []string) (struct{}, error) {
			return struct{}{}, deleteAll(ctx, c, keys)
		})
	}
	if err != nil {
		return fmt.Errorf("memcached: delete: %w", err)
	}
	return nil
}

// deleteOne deletes key, treating a miss as success, repeated as again
// says.
func deleteOne(c *memcache.Client, key string) (struct{}, error) {
	return again(c, key, deleteOnce)
}

func deleteOnce(c *memcache.Client, key string) (struct{}, error) {
	if err := c.Delete(key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return struct{}{}, err
	}
	return struct{}{}, nil
}

// deleteAll deletes keys with at most the client's idle pool size of
// commands in flight, stopping once ctx is done. It reports the first
// failure and how many keys failed.
func deleteAll(ctx context.Context, c *memcache.Client, keys []string) error {
	workers := c.MaxIdleConns
	if workers < 1 {
		workers = memcache.DefaultMaxIdleConns
	}
	workers = min(workers, len(keys))
	errs := make([]error, len(keys))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(keys); i = int(next.Add(1) - 1) {
				if ctx.Err() != nil {
					errs[i] = ctxError(ctx)
					continue
				}
				_, errs[i] = deleteOne(c, keys[i])
			}
		})
	}
	wg.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			if failed == 0 {
				first = err
			}
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d keys not deleted, the first because: %w", failed, len(keys), first)
}
