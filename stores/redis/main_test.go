package redis_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
)

// TestMain stops the shared servers, then fails the package if a goroutine
// is left behind: a call abandoned to its context must not leave one
// running once its client and connections are closed.
func TestMain(m *testing.M) { os.Exit(testserver.MainNoLeaks(m)) }

// prefixes makes key prefixes that no other store in the test binary uses,
// so that tests can share one server.
var prefixes atomic.Int64

func freshPrefix(t testing.TB) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), prefixes.Add(1))
}

// singleClient returns a client of the shared single-node server, closed at
// tb's cleanup.
func singleClient(tb testing.TB) *goredis.Client {
	tb.Helper()
	srv := testserver.SharedRedis(tb)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	tb.Cleanup(func() { client.Close() })
	return client
}

// clusterClient returns a client of the shared three-master cluster, closed
// at tb's cleanup.
func clusterClient(tb testing.TB) *goredis.ClusterClient {
	tb.Helper()
	c := testserver.SharedRedisCluster(tb)
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { client.Close() })
	return client
}

// ringClient returns a Ring of two single-node servers of tb's own, closed
// at tb's cleanup.
func ringClient(tb testing.TB) *goredis.Ring {
	tb.Helper()
	a, b := testserver.Redis(tb), testserver.Redis(tb)
	client := goredis.NewRing(&goredis.RingOptions{
		Addrs: map[string]string{"a": a.Addr(), "b": b.Addr()},
	})
	tb.Cleanup(func() { client.Close() })
	return client
}

// counter is a go-redis hook that counts round trips: each Process and
// each pipeline is one. It leaves out the handshake of a new connection
// (HELLO, CLIENT SETINFO), which node clients run through their hooks.
type counter struct {
	commands, pipelines atomic.Int64
}

func (c *counter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c *counter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !isHandshake(cmd) {
			c.commands.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if len(cmds) > 0 && !isHandshake(cmds[0]) {
			c.pipelines.Add(1)
		}
		return next(ctx, cmds)
	}
}

func isHandshake(cmd goredis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// roundTrips returns the number of round trips counted so far.
func (c *counter) roundTrips() int64 { return c.commands.Load() + c.pipelines.Load() }

// count adds a counter to client.
func count(client goredis.UniversalClient) *counter {
	c := &counter{}
	client.AddHook(c)
	return c
}
