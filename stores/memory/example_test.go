package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New(memory.Options{MaxBytes: 32 << 20})

	if err := s.Set(ctx, "greeting", []byte("hello"), time.Minute); err != nil {
		fmt.Println("set:", err)
	}
	v, err := s.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, err)

	_, err = s.Get(ctx, "missing")
	fmt.Println(errors.Is(err, store.ErrNotFound))

	err = s.Set(ctx, "forever", []byte("x"), 0)
	fmt.Println(errors.Is(err, store.ErrInvalidTTL))

	fmt.Printf("%+v\n", s.Stats())
	// Output:
	// hello <nil>
	// true
	// true
	// {Entries:1 Bytes:205 Evictions:0}
}

// A store's clock can be injected, so that expiry is tested without sleeping.
func ExampleOptions_clock() {
	ctx := context.Background()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memory.New(memory.Options{Clock: func() time.Time { return now }})

	_ = s.Set(ctx, "k", []byte("v"), 10*time.Second)
	now = now.Add(10*time.Second - time.Nanosecond)
	_, err := s.Get(ctx, "k")
	fmt.Println("just before the ttl:", err)
	now = now.Add(time.Nanosecond)
	_, err = s.Get(ctx, "k")
	fmt.Println("at the ttl:", err)
	// Output:
	// just before the ttl: <nil>
	// at the ttl: httpcache: not found
}

// Counters read back with Get as decimal numbers, and are never evicted;
// one advanced with a ttl expires a ttl after its last Advance.
func ExampleStore_Advance() {
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := memory.New(memory.Options{MaxEntries: 1, Clock: func() time.Time { return now }})

	_, _ = s.Advance(ctx, "purges", 0, 0)    // 1
	_, _ = s.Advance(ctx, "purges", 1000, 0) // the floor: 1000
	_, _ = s.Advance(ctx, "purges", 10, 0)   // one more: 1001
	_, _ = s.Advance(ctx, "marker", 7, time.Minute)
	_ = s.Set(ctx, "a", []byte("x"), time.Minute)
	_ = s.Set(ctx, "b", []byte("x"), time.Minute) // evicts a, not the counters
	now = now.Add(time.Minute)
	v, err := s.Get(ctx, "purges")
	fmt.Printf("%s %v\n", v, err)
	_, err = s.Get(ctx, "marker")
	fmt.Println(err)
	// Output:
	// 1001 <nil>
	// httpcache: not found
}

// Tag records leave with their entries.
func ExampleStore_AddTags() {
	ctx := context.Background()
	s := memory.New(memory.Options{})

	for _, key := range []string{"/a", "/b"} {
		_ = s.Set(ctx, key, []byte("page"), time.Minute)
		_ = s.AddTags(ctx, key, []string{"product-1"}, time.Minute)
	}
	_ = s.Delete(ctx, "/a")
	keys, err := s.TaggedKeys(ctx, "product-1")
	fmt.Println(keys, err)
	// Output:
	// [/b] <nil>
}
