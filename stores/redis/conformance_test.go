package redis_test

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/purgetest"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
	"github.com/seedcache/httpcache/stores/redis"
)

// TestConformance runs the store suite on each kind of client. Redis's
// clock cannot be injected, so the TTL cases sleep for real (about 2 s per
// client); every store gets a fresh key prefix, so the clients can share
// servers with the other tests.
func TestConformance(t *testing.T) {
	single := func(tb testing.TB) goredis.UniversalClient { return singleClient(tb) }
	tests := []struct {
		name   string
		client func(testing.TB) goredis.UniversalClient
		limit  int // Options.MaxValueSize, and the suite's
	}{
		{"single", single, 0},
		{"cluster", func(tb testing.TB) goredis.UniversalClient { return clusterClient(tb) }, 0},
		{"ring", func(tb testing.TB) goredis.UniversalClient { return ringClient(tb) }, 0},
		// Values over the limit are refused with ErrTooLarge.
		{"single with 64 KiB limit", single, 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("sleeps for real; skipped in -short mode")
			}
			t.Parallel()
			client := tt.client(t)
			fresh := func(t *testing.T) store.Store {
				return redis.New(client, redis.Options{KeyPrefix: freshPrefix(t), MaxValueSize: tt.limit})
			}
			storetest.Run(t, fresh, storetest.Options{MaxValueSize: tt.limit})
			t.Run("Purge", func(t *testing.T) { purgetest.Run(t, fresh) })
		})
	}
}
