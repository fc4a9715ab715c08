package tiered

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestTwoInstancesWithPubSub: two instances, each with its own L1, share a
// Redis L2. A write or delete on one reaches the other's L1 through pub/sub,
// long before L1TTL (an hour here, so that nothing else could explain it).
func TestTwoInstancesWithPubSub(t *testing.T) {
	ctx := context.Background()
	client := newRedisClient(t, testserver.SharedRedis(t))
	p := newPrefix()
	opts := Options{L1TTL: time.Hour, PubSub: client, Channel: p + "invalidate"}
	l1a, l1b := memory.New(memory.Options{}), memory.New(memory.Options{})
	a := newStore(t, l1a, &redisL2{client, p}, opts)
	b := newStore(t, l1b, &redisL2{client, p}, opts)
	waitLive(t, a)
	waitLive(t, b)

	// B hears of A's first write before it reads, so that the message
	// cannot drop the copy B is about to make.
	mustSet(t, a, "k", "v1")
	waitMessages(t, b, 1)
	mustGet(t, b, "k", "v1")
	mustGet(t, l1b, "k", "v1") // B has its own copy now

	mustSet(t, a, "k", "v2")
	testwait.For(t, "B to drop its copy of v1 and read v2", func() bool {
		v, err := b.Get(ctx, "k")
		return err == nil && string(v) == "v2"
	})
	mustGet(t, l1b, "k", "v2")

	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "B to drop its copy of v2", func() bool {
		_, err := b.Get(ctx, "k")
		return errors.Is(err, store.ErrNotFound)
	})

	// An instance hears its own messages too, and ignores them: its L1
	// keeps what it wrote.
	waitMessages(t, b, 3) // A's two writes and its delete
	mustSet(t, b, "k", "v3")
	waitMessages(t, b, 4)
	mustGet(t, l1b, "k", "v3")
	mustGet(t, a, "k", "v3")
}

// waitMessages waits until s has handled n messages.
func waitMessages(t *testing.T, s *Store, n int64) {
	t.Helper()
	testwait.For(t, fmt.Sprintf("message %d", n), func() bool { return s.messages.Load() >= n })
}

// TestTwoInstancesWithoutPubSub: with no pub/sub, an instance's L1 copy of
// a key another instance wrote or deleted stays until L1TTL, and no longer.
func TestTwoInstancesWithoutPubSub(t *testing.T) {
	ctx := context.Background()
	client := memcache.New(testserver.SharedMemcached(t).Addr())
	t.Cleanup(func() { client.Close() })
	const l1TTL = 200 * time.Millisecond
	p := newPrefix()
	a := newStore(t, memory.New(memory.Options{}), &memcachedL2{client, p}, Options{L1TTL: l1TTL})
	b := newStore(t, memory.New(memory.Options{}), &memcachedL2{client, p}, Options{L1TTL: l1TTL})

	tests := []struct {
		name   string // also the key
		change func(t *testing.T, key string)
		want   string // what B reads once its copy has gone; "" for a miss
	}{
		{"write", func(t *testing.T, key string) { mustSet(t, a, key, "v2") }, "v2"},
		{"delete", func(t *testing.T, key string) {
			if err := a.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.name
			mustSet(t, a, key, "v1")
			copied := time.Now() // B's copy is made after this
			mustGet(t, b, key, "v1")
			tt.change(t, key)
			v, err := b.Get(ctx, key)
			if time.Since(copied) < l1TTL && (err != nil || string(v) != "v1") {
				t.Fatalf("B read %q, %v within L1TTL of copying v1; want its stale copy", v, err)
			}
			testwait.For(t, "B's copy to expire", func() bool {
				v, err := b.Get(ctx, key)
				if tt.want == "" {
					return errors.Is(err, store.ErrNotFound)
				}
				return err == nil && string(v) == tt.want
			})
			if d := time.Since(copied); d < l1TTL {
				t.Fatalf("B's copy went after %v, before its L1TTL of %v", d, l1TTL)
			}
		})
	}
}
