package integration_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memcached"
	"github.com/seedcache/httpcache/stores/memory"
	redisstore "github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/tiered"
)

// sink is a minimal reusable ResponseWriter (as in the root benchmarks).
type sink struct {
	h      http.Header
	status int
	n      int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(code int)        { s.status = code }
func (s *sink) Write(p []byte) (int, error) { s.n += len(p); return len(p), nil }

func page(body []byte, vary bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Etag", `"5f2b9c1e"`)
		if vary {
			h.Set("Vary", "Accept-Encoding")
		}
		w.Write(body)
	})
}

// recordingStore remembers the last key and value written through it, so
// that the raw benchmark can read exactly the bytes a hit reads.
type recordingStore struct {
	httpcache.Store
	keys   []string
	values [][]byte
}

// GetMulti passes through, so that the middleware reads as it would from
// the store itself.
func (s *recordingStore) GetMulti(ctx context.Context, keys ...string) ([][]byte, error) {
	return s.Store.(store.MultiGetter).GetMulti(ctx, keys...)
}

func (s *recordingStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	s.keys = append(s.keys, key)
	s.values = append(s.values, append([]byte(nil), v...))
	return s.Store.Set(ctx, key, v, ttl)
}

var sizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// rawClient is what the raw side of a benchmark does with its client.
type rawClient struct {
	set func(ctx context.Context, key string, value []byte) error
	get func(ctx context.Context, keys []string) error // GET one, or multi-get several
}

// benchHit compares, side by side, a hit through the middleware on store
// with the raw client reading the same bytes: the values the hit reads are
// copied under keys of the raw side's own, and read back as the hit reads
// them (one GET, or one multi-get of the index and the variant).
func benchHit(b *testing.B, store httpcache.Store, raw rawClient) {
	for _, sz := range sizes {
		for _, vary := range []bool{false, true} {
			name := "size=" + sz.name
			if vary {
				name += "/vary=true"
			} else {
				name += "/vary=false"
			}
			rec := &recordingStore{Store: store}
			c := httpcache.New(rec, httpcache.Options{})
			h := c.Handler(page(bytes.Repeat([]byte("x"), sz.n), vary))
			req := httptest.NewRequest("GET", "http://example.com/bench/"+name, nil)
			req.Header.Set("Accept-Encoding", "gzip, br")
			h.ServeHTTP(&sink{h: http.Header{}}, req)
			c.Wait()
			if vary && len(rec.keys) != 2 || !vary && len(rec.keys) != 1 {
				b.Fatalf("stored keys %q", rec.keys)
			}
			h.ServeHTTP(&sink{h: http.Header{}}, req) // learn the Vary index
			ctx := context.Background()
			var keys []string
			for i, v := range rec.values {
				k := "raw:" + name + ":" + string(rune('a'+i))
				if err := raw.set(ctx, k, v); err != nil {
					b.Fatal(err)
				}
				keys = append(keys, k)
			}
			rawGet := raw.get
			b.Run(name+"/kind=raw", func(b *testing.B) {
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					if err := rawGet(ctx, keys); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
			b.Run(name+"/kind=hit", func(b *testing.B) { hitLoop(b, h, req) })
			b.Run(name+"/kind=memory-hit", func(b *testing.B) {
				// The same page as a memory-store hit, for the CPU it
				// costs beside the shared store's.
				mc := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
				mh := mc.Handler(page(bytes.Repeat([]byte("x"), sz.n), vary))
				mh.ServeHTTP(&sink{h: http.Header{}}, req)
				hitLoop(b, mh, req)
			})
		}
	}
}

// hitLoop serves req through h until b is done, every time a hit, and
// reports the process's CPU time per request beside the wall time.
func hitLoop(b *testing.B, h http.Handler, req *http.Request) {
	w := &sink{h: http.Header{}}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	reportCPU(b, cpu)
	if w.h.Get("Cache-Status") != "httpcache; hit" {
		b.Fatalf("not a hit: %q", w.h.Get("Cache-Status"))
	}
}

// processCPU is the user and system CPU time this process has used: the
// servers the benchmarks talk to are processes of their own, not counted.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start (cpu-ns/op):
// what a request costs this process, whatever the round trip's wait.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRedis: a hit through the Redis store vs go-redis reading the same
// bytes (GET for one key, MGET for the index and the variant).
func BenchmarkRedis(b *testing.B) {
	srv := testserver.Redis(b)
	// ContextTimeoutEnabled, as stores/redis recommends: the store's
	// deadline then bounds socket I/O without a goroutine hop.
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	defer client.Close()
	benchHit(b, redisstore.New(client, redisstore.Options{}), rawClient{
		set: func(ctx context.Context, key string, v []byte) error {
			return client.Set(ctx, key, v, time.Hour).Err()
		},
		get: func(ctx context.Context, keys []string) error {
			if len(keys) == 1 {
				_, err := client.Get(ctx, keys[0]).Bytes()
				return err
			}
			return client.MGet(ctx, keys...).Err()
		},
	})
}

// BenchmarkMemcached: a hit through the Memcached store vs gomemcache
// reading the same bytes (Get, or GetMulti of the index and the variant).
func BenchmarkMemcached(b *testing.B) {
	srv := testserver.Memcached(b)
	client := memcache.New(srv.Addr())
	client.Timeout = 15 * time.Millisecond // see stores/memcached: no goroutine per call
	benchHit(b, memcached.New(client, memcached.Options{}), rawClient{
		set: func(ctx context.Context, key string, v []byte) error {
			return client.Set(&memcache.Item{Key: key, Value: v, Expiration: 3600})
		},
		get: func(ctx context.Context, keys []string) error {
			if len(keys) == 1 {
				_, err := client.Get(keys[0])
				return err
			}
			_, err := client.GetMulti(keys)
			return err
		},
	})
}

// BenchmarkTiered: an L1 hit through the tiered store vs a hit on a plain
// memory store.
func BenchmarkTiered(b *testing.B) {
	srv := testserver.Redis(b)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer client.Close()
	t := tiered.New(memory.New(memory.Options{}), redisstore.New(client, redisstore.Options{}),
		tiered.Options{PubSub: client, L1TTL: time.Hour})
	defer t.Close()
	body := bytes.Repeat([]byte("x"), 1<<10)
	for _, tc := range []struct {
		kind  string
		store httpcache.Store
	}{{"memory", memory.New(memory.Options{})}, {"tiered", t}} {
		b.Run("kind="+tc.kind, func(b *testing.B) {
			c := httpcache.New(tc.store, httpcache.Options{})
			h := c.Handler(page(body, true))
			req := httptest.NewRequest("GET", "http://example.com/tiered", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			for range 3 {
				h.ServeHTTP(&sink{h: http.Header{}}, req)
				c.Wait()
			}
			w := &sink{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			if w.h.Get("Cache-Status") != "httpcache; hit" {
				b.Fatalf("not a hit: %q", w.h.Get("Cache-Status"))
			}
		})
	}
}
