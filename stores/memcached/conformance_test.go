package memcached

import (
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/purgetest"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
)

// conformanceOptions describes the store to storetest. A value with a
// whole-second ttl lives up to a second past it (the second the store adds
// for memcached's clock; a fractional ttl is first rounded up, but the
// suite's real-clock cases use whole seconds). The store holds any value
// that fits a 1 MiB item under the longest (250-byte) key.
var conformanceOptions = storetest.Options{
	TTLGranularity: time.Second,
	MaxValueSize:   DefaultMaxItemSize - ItemOverhead - maxKeyLen,
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name    string
		servers int
	}{
		{"pool of 2", 2},
		{"single server", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each sleeps about 2 s for the TTL cases
			c, _ := newClient(t, addrs(testserver.MemcachedPool(t, tt.servers))...)
			// The suite checks behaviour, not latency: gomemcache's
			// own 500 ms read deadline can fire on a loaded machine.
			c.Timeout = 5 * time.Second
			fresh := func(t *testing.T) store.Store {
				return New(c, Options{KeyPrefix: uniquePrefix()})
			}
			storetest.Run(t, fresh, conformanceOptions)
			t.Run("Purge", func(t *testing.T) { purgetest.Run(t, fresh) })
		})
	}
}
