package memory_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache/stores/memory"
)

// benchKeys are cache-key-like strings: a prefix and a 64-hex-digit hash.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("hc1:%064x", i*2654435761)
	}
	return keys
}

var shardCounts = []int{1, 4, 16, 64}

func filledStore(b *testing.B, shards int, keys []string) *memory.Store {
	s := memory.New(memory.Options{Shards: shards})
	value := make([]byte, 4<<10)
	for _, k := range keys {
		if err := s.Set(context.Background(), k, value, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkGet(b *testing.B) {
	keys := benchKeys(1024)
	for _, shards := range shardCounts {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s := filledStore(b, shards, keys)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGetParallel(b *testing.B) {
	keys := benchKeys(1024)
	for _, shards := range shardCounts {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s := filledStore(b, shards, keys)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) * 7919) // goroutines start apart in the key list
				for pb.Next() {
					if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

func BenchmarkSet(b *testing.B) {
	keys := benchKeys(1024)
	value := make([]byte, 4<<10)
	for _, shards := range shardCounts {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s := filledStore(b, shards, keys)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Set(ctx, keys[i%len(keys)], value, time.Hour); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkMixedParallel is 90% hits and 10% overwrites, with a budget
// small enough that the overwrites of new keys evict.
func BenchmarkMixedParallel(b *testing.B) {
	keys := benchKeys(4096)
	value := make([]byte, 4<<10)
	for _, shards := range shardCounts {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			s := memory.New(memory.Options{Shards: shards, MaxEntries: 2048})
			ctx := context.Background()
			for _, k := range keys[:2048] {
				_ = s.Set(ctx, k, value, time.Hour)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) * 7919)
				for pb.Next() {
					k := keys[i%len(keys)]
					if i%10 == 0 {
						_ = s.Set(ctx, k, value, time.Hour)
					} else {
						_, _ = s.Get(ctx, k)
					}
					i++
				}
			})
		})
	}
}
