package tiered

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestCloseStopsSubscriber: after Close (and the test's own client's), no
// goroutine of the store's is left, whether Redis is up or down.
func TestCloseStopsSubscriber(t *testing.T) {
	tests := []struct {
		name string
		down bool
	}{
		{"redis up", false},
		{"redis down", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Redis(t)
			if tt.down {
				srv.SkipIfExternal(t)
				srv.Stop()
			}
			// The server's own goroutines are there before and after.
			ignore := []goleak.Option{
				goleak.IgnoreCurrent(),
				goleak.IgnoreAnyFunction("github.com/seedcache/httpcache/internal/testserver.spawnLoop"),
			}
			client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
			p := newPrefix()
			s := New(memory.New(memory.Options{}), &redisL2{client, p}, Options{PubSub: client, Channel: p + "invalidate"})
			if tt.down {
				time.Sleep(50 * time.Millisecond) // let the subscriber get into go-redis's retry loop
			} else {
				waitSubscribed(t, s, 1)
				mustSet(t, s, "k", "v")
				waitFor(t, "the store to hear its own message", func() bool { return s.messages.Load() > 0 })
			}

			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if !tt.down {
				mustGet(t, s, "k", "v") // the store still works; the client is still open
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
