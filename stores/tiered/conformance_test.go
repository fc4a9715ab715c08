package tiered

import (
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/purgetest"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
	"github.com/seedcache/httpcache/stores/memory"
)

// conformanceL1TTL is short so that the suite's real sleeps stay short: a
// copy filled from L2 may outlive the value's ttl by up to L1TTL, which the
// suite is told as TTLGranularity.
const conformanceL1TTL = 500 * time.Millisecond

// conformanceGuard is generous: the suite writes 4 MiB values, which take
// longer than a short guard timeout under -race on a busy machine.
var conformanceGuard = store.GuardOptions{Timeout: 5 * time.Second}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for real; skipped in -short mode")
	}
	t.Run("redis with pubsub", func(t *testing.T) {
		client := newRedisClient(t, testserver.SharedRedis(t))
		fresh := func(t *testing.T) store.Store {
			p := newPrefix()
			s := newStore(t, memory.New(memory.Options{}), &redisL2{client, p}, Options{
				L1TTL:   conformanceL1TTL,
				PubSub:  client,
				Channel: p + "invalidate",
				Guard:   conformanceGuard,
			})
			// Until it is registered, the store reads and writes L2
			// alone, and keeps no objects: the suite checks it at work.
			waitLive(t, s)
			return s
		}
		storetest.Run(t, fresh, storetest.Options{TTLGranularity: conformanceL1TTL})
		t.Run("Purge", func(t *testing.T) { purgetest.Run(t, fresh) })
	})
	t.Run("memcached", func(t *testing.T) {
		client := memcache.New(testserver.SharedMemcached(t).Addr())
		t.Cleanup(func() { client.Close() })
		fresh := func(t *testing.T) store.Store {
			s := newStore(t, memory.New(memory.Options{}), &memcachedL2{client, newPrefix()}, Options{
				L1TTL: conformanceL1TTL,
				Guard: conformanceGuard,
			})
			// The Store is a TagIndex whatever its L2, as Go's
			// interfaces are static, but over memcached every tag
			// operation fails with errors.ErrUnsupported: show the
			// suite the store without it, so that it skips those cases.
			return withoutTagIndex{s, s}
		}
		storetest.Run(t, fresh, storetest.Options{TTLGranularity: time.Second + conformanceL1TTL}) // memcached's clock ticks in seconds
		t.Run("Purge", func(t *testing.T) { purgetest.Run(t, fresh) })
	})
}

// withoutTagIndex is a Store seen without its TagIndex methods.
type withoutTagIndex struct {
	store.ObjectStore
	store.Counter
}
