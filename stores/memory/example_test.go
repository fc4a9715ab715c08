package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

func Example() {
	ctx := context.Background()
	store := memory.New(memory.Options{MaxBytes: 32 << 20})

	if err := store.Set(ctx, "greeting", []byte("hello"), time.Minute); err != nil {
		fmt.Println("set:", err)
	}
	v, err := store.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, err)

	_, err = store.Get(ctx, "missing")
	fmt.Println(errors.Is(err, httpcache.ErrNotFound))

	err = store.Set(ctx, "forever", []byte("x"), 0)
	fmt.Println(errors.Is(err, httpcache.ErrInvalidTTL))

	fmt.Printf("%+v\n", store.Stats())
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
	store := memory.New(memory.Options{Clock: func() time.Time { return now }})

	_ = store.Set(ctx, "k", []byte("v"), 10*time.Second)
	now = now.Add(10*time.Second - time.Nanosecond)
	_, err := store.Get(ctx, "k")
	fmt.Println("just before the ttl:", err)
	now = now.Add(time.Nanosecond)
	_, err = store.Get(ctx, "k")
	fmt.Println("at the ttl:", err)
	// Output:
	// just before the ttl: <nil>
	// at the ttl: httpcache: not found
}
