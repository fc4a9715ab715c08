package memory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// TestConcurrentBudgets hammers small stores from many goroutines (run it
// with -race) and checks that the counters and budgets hold afterwards.
func TestConcurrentBudgets(t *testing.T) {
	for _, shards := range []int{1, 16} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			clock := newFakeClock()
			s := New(Options{MaxBytes: 32 << 10, MaxEntries: 100, Shards: shards, Clock: clock.Now})
			ctx := context.Background()
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(g), 7))
					for range 2000 {
						key := fmt.Sprintf("key-%d", r.IntN(200))
						var err error
						switch r.IntN(10) {
						case 0:
							err = s.Delete(ctx, key)
						case 1:
							clock.Advance(time.Millisecond)
						case 2, 3, 4:
							err = s.SetObject(ctx, key, []byte(key), key, time.Duration(1+r.IntN(50))*time.Millisecond)
						default:
							var v []byte
							var obj any
							v, obj, err = s.GetObject(ctx, key)
							if errors.Is(err, store.ErrNotFound) {
								err = nil
							} else if err == nil && (string(v) != key || obj != key) {
								err = fmt.Errorf("GetObject(%q) = %q, %v", key, v, obj)
							}
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			recount(t, s)
		})
	}
}
