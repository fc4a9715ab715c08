package tiered

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestCloseStopsSubscriber: after Close (and the test's own client's), no
// goroutine of the store's is left — subscriber and heartbeat — whether
// Redis is up, down, or hangs.
func TestCloseStopsSubscriber(t *testing.T) {
	tests := []struct {
		name string
		down bool // Redis is stopped before New
		hang bool // the connection to Redis hangs once the store is registered
	}{
		{"redis up", false, false},
		{"redis down", true, false},
		{"redis hangs", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Redis(t)
			if tt.down {
				srv.SkipIfExternal(t)
				srv.Stop()
			}
			proxy := testserver.NewProxy(t, srv.Addr())
			// The server's and the proxy's own goroutines are there
			// before and after.
			ignore := []goleak.Option{
				goleak.IgnoreCurrent(),
				goleak.IgnoreAnyFunction("github.com/seedcache/httpcache/internal/testserver.spawnLoop"),
				goleak.IgnoreAnyFunction("github.com/seedcache/httpcache/internal/testserver.(*Proxy).serve"),
				goleak.IgnoreAnyFunction("github.com/seedcache/httpcache/internal/testserver.(*Proxy).pump"),
			}
			client := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
			p := newPrefix()
			s := New(memory.New(memory.Options{}), &redisL2{client, p}, Options{PubSub: client, Channel: p + "invalidate"})
			if tt.down {
				time.Sleep(50 * time.Millisecond) // let the subscriber get into go-redis's retry loop
			} else {
				waitLive(t, s)
				mustSet(t, s, "k", "v")
				testwait.For(t, "the store to hear its own message", func() bool { return s.messages.Load() > 0 })
			}
			if tt.hang {
				proxy.Block()
				// Let a heartbeat start and hang.
				beats := s.beatsSent.Load()
				s.kick <- struct{}{}
				testwait.For(t, "a heartbeat to start", func() bool { return s.beatsSent.Load() > beats })
			}

			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if !tt.down && !tt.hang {
				mustGet(t, s, "k", "v") // the store still works, on L2; the client is still open
			}
			client.Close()
			goleak.VerifyNone(t, ignore...)
		})
	}
}

func TestCloseWithoutPubSub(t *testing.T) {
	s := New(memory.New(memory.Options{}), memory.New(memory.Options{}), Options{})
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v; want nil", err)
	}
}
