package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/stores/redis"
)

// benchContext is the kind of context the middleware passes: one with a
// deadline (its per-operation timeout), so the store's guard goroutine
// runs. The deadline is far enough away never to pass.
func benchContext(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	return ctx
}

// timeoutsClient returns a client of the same server as client, built with
// ContextTimeoutEnabled, closed at b's cleanup.
func timeoutsClient(b *testing.B, client *goredis.Client) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: client.Options().Addr, ContextTimeoutEnabled: true})
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkGet compares the store's Get with the raw client's
// Get(ctx, key).Bytes() of the same value on a loopback redis-server, and
// with the store on a client with ContextTimeoutEnabled (kind=store-cte),
// which skips the guard goroutine:
//
//	go test -run '^$' -bench Get -count 6 ./stores/redis/ | benchstat -col /kind -
func BenchmarkGet(b *testing.B) {
	client := singleClient(b)
	cte := timeoutsClient(b, client)
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("size=%dKiB", size>>10), func(b *testing.B) {
			prefix := freshPrefix(b)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			stCTE := redis.New(cte, redis.Options{KeyPrefix: prefix})
			ctx := benchContext(b)
			value := make([]byte, size)
			if err := st.Set(ctx, "k", value, time.Hour); err != nil {
				b.Fatal(err)
			}
			key := freshPrefix(b) + "k"
			if err := client.Set(ctx, key, value, time.Hour).Err(); err != nil {
				b.Fatal(err)
			}
			b.Run("kind=raw", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if v, err := client.Get(ctx, key).Bytes(); err != nil || len(v) != size {
						b.Fatal(len(v), err)
					}
				}
			})
			b.Run("kind=store", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if v, err := st.Get(ctx, "k"); err != nil || len(v) != size {
						b.Fatal(len(v), err)
					}
				}
			})
			b.Run("kind=store-cte", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if v, err := stCTE.Get(ctx, "k"); err != nil || len(v) != size {
						b.Fatal(len(v), err)
					}
				}
			})
		})
	}
}

// BenchmarkGetMulti compares the store's GetMulti of two keys with one hash
// tag (the middleware's Vary index and variant) with the raw client's MGET
// of the same keys.
func BenchmarkGetMulti(b *testing.B) {
	client := singleClient(b)
	prefix := freshPrefix(b)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	stCTE := redis.New(timeoutsClient(b, client), redis.Options{KeyPrefix: prefix})
	ctx := benchContext(b)
	keys := []string{"{hc1:0123456789abcdef}:vary", "{hc1:0123456789abcdef}:v:fedcba9876543210"}
	rawPrefix := freshPrefix(b) // the raw client's keys are its own
	raw := []string{rawPrefix + keys[0], rawPrefix + keys[1]}
	value := make([]byte, 1<<10)
	for i := range keys {
		if err := st.Set(ctx, keys[i], value, time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := client.Set(ctx, raw[i], value, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("kind=raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := client.MGet(ctx, raw...).Result(); err != nil || v[0] == nil || v[1] == nil {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("kind=store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := st.GetMulti(ctx, keys...); err != nil || v[0] == nil || v[1] == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kind=store-cte", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := stCTE.GetMulti(ctx, keys...); err != nil || v[0] == nil || v[1] == nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGuard measures the guard goroutine that makes a call return when
// its context ends: a context that can never end skips it, and so does a
// deadline on a client with ContextTimeoutEnabled.
func BenchmarkGuard(b *testing.B) {
	plain := singleClient(b)
	timeouts := timeoutsClient(b, plain)
	for _, c := range []struct {
		name   string
		client *goredis.Client
		ctx    context.Context
	}{
		{"ctx=background", plain, context.Background()},
		{"ctx=deadline", plain, benchContext(b)},
		{"ctx=deadline-ContextTimeoutEnabled", timeouts, benchContext(b)},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := redis.New(c.client, redis.Options{KeyPrefix: freshPrefix(b)})
			if err := st.Set(context.Background(), "k", make([]byte, 1<<10), time.Hour); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Get(c.ctx, "k"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
