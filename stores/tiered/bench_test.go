package tiered

import (
	"context"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// benchValue is the size of a small cached page.
var benchValue = make([]byte, 4<<10)

const benchKey = "hc1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// BenchmarkL1Hit compares a hit in a tiered store's L1 with a hit in a plain
// memory store holding the same value (benchstat -col /kind). A registered
// tiered store (with PubSub) checks the clock against its registration on
// every read; one without PubSub does not.
func BenchmarkL1Hit(b *testing.B) {
	for _, kind := range []string{"memory", "tiered", "tiered-registered"} {
		b.Run("kind="+kind, func(b *testing.B) {
			ctx := context.Background()
			l1 := memory.New(memory.Options{})
			var st store.ObjectStore = l1
			if kind != "memory" {
				s := New(l1, memory.New(memory.Options{}), Options{L1TTL: time.Hour})
				if kind == "tiered-registered" {
					// As registered by a heartbeat, without Redis.
					s.member = newMembership(true)
					s.member.renewed(s.member.now(), int64(time.Hour), func() {})
				}
				st = s
			}
			if err := st.Set(ctx, benchKey, benchValue, time.Hour); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := st.GetObject(ctx, benchKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkL2Hit compares a read from Redis alone (guarded, as the
// middleware would use it) with a tiered read that misses L1, hits L2 and
// fills L1 (benchstat -col /kind). L1 holds one entry and the keys
// alternate, so every read misses L1.
func BenchmarkL2Hit(b *testing.B) {
	client := newRedisClient(b, testserver.SharedRedis(b))
	keys := []string{benchKey + "-a", benchKey + "-b"}
	for _, kind := range []string{"redis", "tiered"} {
		b.Run("kind="+kind, func(b *testing.B) {
			ctx := context.Background()
			l2 := &redisL2{client, newPrefix()}
			st := store.Guard(l2, store.GuardOptions{Timeout: time.Second})
			if kind == "tiered" {
				st = New(memory.New(memory.Options{MaxEntries: 1}), l2, Options{
					L1TTL: time.Hour,
					Guard: store.GuardOptions{Timeout: time.Second},
				})
			}
			for _, k := range keys {
				if err := l2.Set(ctx, k, benchValue, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := st.Get(ctx, keys[i%2]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
