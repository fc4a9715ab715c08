package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

func TestClear(t *testing.T) {
	for _, shards := range []int{1, 16} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			ctx := context.Background()
			const n = 50
			s := New(Options{Shards: shards, MaxEntries: n})
			key := func(i int) string { return fmt.Sprintf("key-%d", i) }
			for i := range n + 10 { // the first ten are evicted
				if err := s.SetObject(ctx, key(i), make([]byte, i), i, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			before := s.Stats()

			s.Clear()
			if got, want := s.Stats(), (Stats{Evictions: before.Evictions}); got != want {
				t.Fatalf("Stats() after Clear = %+v; want %+v", got, want)
			}
			recount(t, s)
			for i := range n + 10 {
				if _, err := s.Get(ctx, key(i)); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Get(%q) after Clear = %v; want ErrNotFound", key(i), err)
				}
			}

			// The budgets were relieved exactly: the store fills up to
			// MaxEntries again without evicting.
			for i := range n {
				if err := s.Set(ctx, key(i), []byte("again"), time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.Stats(); got.Entries != n || got.Evictions != before.Evictions {
				t.Fatalf("Stats() after refilling = %+v; want %d entries and %d evictions", got, n, before.Evictions)
			}
			recount(t, s)
		})
	}
}

func TestClearEmpty(t *testing.T) {
	s := New(Options{})
	s.Clear()
	if got := s.Stats(); got != (Stats{}) {
		t.Fatalf("Stats() = %+v; want zero", got)
	}
}

// TestClearConcurrent clears while other goroutines write, read and delete;
// the counters must still match the contents (run with -race).
func TestClearConcurrent(t *testing.T) {
	ctx := context.Background()
	s := New(Options{MaxEntries: 64, Shards: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprintf("k%d", (g*500+i)%100)
				switch i % 4 {
				case 0, 1:
					_ = s.Set(ctx, k, make([]byte, i%64), time.Hour)
				case 2:
					_, _ = s.Get(ctx, k)
				case 3:
					_ = s.Delete(ctx, k)
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			s.Clear()
		}
	})
	wg.Wait()
	recount(t, s)
}
