package tiered

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestL1HitCostsNoL2Call counts the calls that reach L2.
func TestL1HitCostsNoL2Call(t *testing.T) {
	client := newRedisClient(t, testserver.SharedRedis(t))
	p := newPrefix()
	l2 := &counting{Store: &redisL2{client, p}}
	s := newStore(t, memory.New(memory.Options{}), l2, Options{L1TTL: time.Hour})

	mustSet(t, s, "written", "v")
	for range 100 {
		mustGet(t, s, "written", "v")
	}
	if n := l2.gets.Load(); n != 0 {
		t.Fatalf("100 hits on a key written here made %d L2 Gets; want 0", n)
	}

	// A key written by someone else: one L2 read fills L1.
	mustSet(t, &redisL2{client, p}, "elsewhere", "w")
	for range 100 {
		mustGet(t, s, "elsewhere", "w")
	}
	if n := l2.gets.Load(); n != 1 {
		t.Fatalf("100 reads of a key only in L2 made %d L2 Gets; want 1", n)
	}

	// A miss costs one L2 read each time: misses are not kept.
	mustMiss(t, s, "nowhere")
	mustMiss(t, s, "nowhere")
	if n := l2.gets.Load(); n != 3 {
		t.Fatalf("L2 Gets = %d after two misses; want 3", n)
	}
}

// TestFillKeepsTheReturnedSlice: the value a fill returns is the one L1
// keeps, so that the middleware can attach the decoded object to it.
func TestFillKeepsTheReturnedSlice(t *testing.T) {
	ctx := context.Background()
	l2 := &counting{Store: memory.New(memory.Options{})}
	s := newStore(t, memory.New(memory.Options{}), l2, Options{L1TTL: time.Hour})
	mustSet(t, l2.Store, "k", "v")

	v, obj, err := s.GetObject(ctx, "k")
	if err != nil || obj != nil {
		t.Fatalf("GetObject = %q, %v, %v; want the value and no object", v, obj, err)
	}
	decoded := &struct{ name string }{"decoded"}
	s.AttachObject("k", v, decoded)
	if _, obj, _ := s.GetObject(ctx, "k"); obj != any(decoded) {
		t.Fatalf("GetObject after AttachObject: object %v; want %v", obj, decoded)
	}
	if n := l2.gets.Load(); n != 1 {
		t.Fatalf("L2 Gets = %d; want 1", n)
	}
	// The L2 store's own slice is not the one kept.
	l2v, _ := l2.Store.Get(ctx, "k")
	if &l2v[0] == &v[0] {
		t.Fatal("the fill kept L2's slice, not a copy of its own")
	}
}

// TestL2Outage stops Redis under a running store: L1 hits go on (for as
// long as the registration would last, an hour here), L1 misses fail
// within the guard's timeout, and when Redis is back the subscription is
// restored and L1, which may have missed invalidations, is cleared.
func TestL2Outage(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Redis(t)
	srv.SkipIfExternal(t)
	client := newRedisClient(t, srv)
	p := newPrefix()
	l1 := memory.New(memory.Options{})
	l2 := &counting{Store: &redisL2{client, p}}
	guard := store.GuardOptions{Timeout: 250 * time.Millisecond, Cooldown: 20 * time.Millisecond}
	s := newStore(t, l1, l2, Options{L1TTL: time.Hour, InstanceTTL: time.Hour, PubSub: client, Channel: p + "invalidate", Guard: guard})
	waitLive(t, s)
	mustSet(t, s, "hot", "v")

	srv.Stop()
	gets := l2.gets.Load()
	for range 10 {
		mustGet(t, s, "hot", "v")
	}
	if n := l2.gets.Load() - gets; n != 0 {
		t.Fatalf("L1 hits during the outage made %d L2 calls", n)
	}
	for range 10 { // enough to open the circuit, which then fails at once
		err := within(t, 10*guard.Timeout, func() error {
			_, err := s.Get(ctx, "cold")
			return err
		})
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get of an L1 miss during the outage = %v; want a store error", err)
		}
	}
	// A write fails but still reaches L1: this instance keeps caching.
	if err := within(t, 10*guard.Timeout, func() error { return s.Set(ctx, "during", []byte("d"), time.Hour) }); err == nil {
		t.Fatal("Set during the outage succeeded")
	}
	mustGet(t, s, "during", "d")

	srv.Start()
	waitSubscribed(t, s, 2)
	mustMiss(t, l1, "hot")
	mustMiss(t, l1, "during")
	testwait.For(t, "L2 to take writes again", func() bool { return s.Set(ctx, "after", []byte("a"), time.Hour) == nil })
	mustGet(t, &redisL2{client, p}, "after", "a")
	mustGet(t, s, "after", "a")
}

// TestRedisDownAtNew: New does not wait for Redis. Until the store has
// subscribed and registered, it does not use L1 (another instance's purge
// could not reach it, nor wait for it): a write that fails in L2 is not
// kept. Once Redis is back, it registers and uses L1.
func TestRedisDownAtNew(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Redis(t)
	srv.SkipIfExternal(t)
	srv.Stop()
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { client.Close() })
	p := newPrefix()
	l1 := memory.New(memory.Options{})
	guard := store.GuardOptions{Timeout: 250 * time.Millisecond, Cooldown: 20 * time.Millisecond}
	s := newStore(t, l1, &redisL2{client, p}, Options{L1TTL: time.Hour, PubSub: client, Channel: p + "invalidate", Guard: guard})

	if err := within(t, 10*guard.Timeout, func() error { return s.Set(ctx, "k", []byte("v"), time.Hour) }); err == nil {
		t.Fatal("Set with Redis down succeeded")
	}
	mustMiss(t, l1, "k")
	err := within(t, 10*guard.Timeout, func() error { _, err := s.Get(ctx, "k"); return err })
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get with Redis down before registering = %v; want a store error", err)
	}

	srv.Start()
	waitLive(t, s)
	testwait.For(t, "L2 to take writes", func() bool { return s.Set(ctx, "k", []byte("v2"), time.Hour) == nil })
	mustGet(t, l1, "k", "v2")
	mustGet(t, s, "k", "v2")
}

// within runs f and returns its error, failing t if f has not returned
// after d: a liveness check, not a latency measurement.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("call still running after %v", d)
		return nil
	}
}
