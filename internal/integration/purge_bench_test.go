package integration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// BenchmarkPurge: what PurgeTags of a tag carried by one stored page, alone
// or with seven more, costs on each store (kind=purge: the markers
// recorded, the entry found through
// the tag index and deleted, and for tiered every other instance's L1
// dropped and acknowledged — a second instance is subscribed), side by
// side with one Set of a small value through the same store (kind=set: one
// round trip). The page is stored again, untimed, before each purge.
func BenchmarkPurge(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) (httpcache.Store, httpcache.Store)
	}{{"memory", func(*testing.B) (httpcache.Store, httpcache.Store) {
		s := memory.New(memory.Options{})
		return s, s
	}}}
	for _, be := range backends {
		stores = append(stores, struct {
			name string
			open func(b *testing.B) (httpcache.Store, httpcache.Store)
		}{be.name, func(b *testing.B) (httpcache.Store, httpcache.Store) {
			addr := be.start(b).Addr()
			return be.open(b, addr), be.open(b, addr)
		}})
	}
	ctx := context.Background()
	for _, st := range stores {
		store, other := st.open(b)
		c := newCache(store)
		newCache(other) // the other instance, for tiered's acknowledgements
		h := c.Handler(&tagged{})
		b.Run("store="+st.name+"/kind=set", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := store.Set(ctx, "bench:set", []byte("value"), time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, tags := range [][]string{
			{"page:/p"},
			{"page:/p", "t1", "t2", "t3", "t4", "t5", "t6", "t7"},
		} {
			b.Run(fmt.Sprintf("store=%s/kind=purge/tags=%d", st.name, len(tags)), func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					b.StopTimer()
					get(b, h, "/p")
					c.Wait()
					b.StartTimer()
					if err := c.PurgeTags(ctx, tags...); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if _, status := get(b, h, "/p"); status == "httpcache; hit" {
					b.Fatal("the page survived its purge")
				}
			})
		}
	}
}
