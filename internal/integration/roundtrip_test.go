package integration_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/stores/memcached"
	redisstore "github.com/seedcache/httpcache/stores/redis"
)

// tripHook counts go-redis round trips: each command or pipeline sent.
type tripHook struct{ trips, commands atomic.Int64 }

func (h *tripHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *tripHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.trips.Add(1)
		h.commands.Add(1)
		return next(ctx, cmd)
	}
}

func (h *tripHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.trips.Add(1)
		h.commands.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// countingConn counts writes to a memcached connection: gomemcache flushes
// each request in one write, so writes are round trips.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestRoundTripsPerHit counts the network round trips a steady-state hit
// costs on the real servers, with and without Vary: one.
func TestRoundTripsPerHit(t *testing.T) {
	type counted struct {
		store httpcache.Store
		trips func() int64
	}
	setups := map[string]func(t *testing.T) counted{
		"redis": func(t *testing.T) counted {
			srv := testserver.Redis(t)
			client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
			t.Cleanup(func() { client.Close() })
			hook := &tripHook{}
			client.AddHook(hook)
			return counted{redisstore.New(client, redisstore.Options{}), hook.trips.Load}
		},
		"redis-cluster": func(t *testing.T) counted {
			cl := testserver.SharedRedisCluster(t)
			client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs()})
			t.Cleanup(func() { client.Close() })
			hook := &tripHook{}
			client.AddHook(hook)
			prefix := "rt-" + t.Name() + ":"
			return counted{redisstore.New(client, redisstore.Options{KeyPrefix: prefix}), hook.trips.Load}
		},
		"memcached": func(t *testing.T) counted {
			srv := testserver.Memcached(t)
			var writes atomic.Int64
			client := memcache.New(srv.Addr())
			client.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				conn, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return countingConn{conn, &writes}, nil
			}
			return counted{memcached.New(client, memcached.Options{}), writes.Load}
		},
	}
	for name, setup := range setups {
		for _, target := range []string{"/plain", "/varied?vary"} {
			t.Run(name+target, func(t *testing.T) {
				cs := setup(t)
				c := newCache(cs.store)
				h := c.Handler(&app{})
				for _, lang := range []string{"en", "fr"} { // fill, and learn the Vary index
					get(t, h, target, "Accept-Language", lang)
					c.Wait()
				}
				const hits = 20
				before := cs.trips()
				for i := range hits {
					lang := []string{"en", "fr"}[i%2]
					if _, status := get(t, h, target, "Accept-Language", lang); status != "httpcache; hit" {
						t.Fatalf("hit %d: %q", i, status)
					}
				}
				perHit := float64(cs.trips()-before) / hits
				t.Logf("%s %s: %.2f round trips per hit", name, target, perHit)
				if perHit != 1 {
					t.Fatalf("%.2f round trips per hit, want 1", perHit)
				}
			})
		}
	}
}
