package memcached_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/stores/memcached"
)

// The benchmarks compare the store with the raw client on the same values,
// as sub-benchmarks kind=raw, kind=store (a context that can never be
// done: no goroutine) and kind=deadline (a context with a deadline, as the
// middleware passes: one goroutine per call), for benchstat -col /kind.
// The server is a local memcached on a loopback port.

const prefix = "bench:"

// benchStore returns a store and its client on a new local server.
func benchStore(b *testing.B) (*memcached.Store, *memcache.Client) {
	c := memcache.New(testserver.Memcached(b).Addr())
	b.Cleanup(func() { c.Close() })
	return memcached.New(c, memcached.Options{KeyPrefix: prefix}), c
}

// kinds runs get as each kind of caller.
func kinds(b *testing.B, raw func() error, store func(ctx context.Context) error) {
	deadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, k := range []struct {
		name string
		get  func() error
	}{
		{"raw", raw},
		{"store", func() error { return store(context.Background()) }},
		{"deadline", func() error { return store(deadline) }},
	} {
		b.Run("kind="+k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := k.get(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	s, c := benchStore(b)
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			key := fmt.Sprintf("get-%d", size)
			value := bytes.Repeat([]byte{'v'}, size)
			if err := s.Set(context.Background(), key, value, time.Hour); err != nil {
				b.Fatal(err)
			}
			raw := prefix + "k:" + key // a legal key is sent readable
			kinds(b,
				func() error { _, err := c.Get(raw); return err },
				func(ctx context.Context) error { _, err := s.Get(ctx, key); return err })
		})
	}
}

func BenchmarkGetMulti(b *testing.B) {
	s, c := benchStore(b)
	keys := []string{"multi-1", "multi-2"}
	raw := []string{prefix + "k:" + keys[0], prefix + "k:" + keys[1]}
	value := bytes.Repeat([]byte{'v'}, 1<<10)
	for _, k := range keys {
		if err := s.Set(context.Background(), k, value, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	check := func(n int) error {
		if n != len(keys) {
			return fmt.Errorf("got %d values; want %d", n, len(keys))
		}
		return nil
	}
	kinds(b,
		func() error { m, err := c.GetMulti(raw); return cmpErr(err, check(len(m))) },
		func(ctx context.Context) error {
			v, err := s.GetMulti(ctx, keys...)
			n := 0
			for _, x := range v {
				if x != nil {
					n++
				}
			}
			return cmpErr(err, check(n))
		})
}

// cmpErr returns err, or else check.
func cmpErr(err, check error) error {
	if err != nil {
		return err
	}
	return check
}
