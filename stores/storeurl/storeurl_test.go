package storeurl

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"

	"github.com/seedcache/httpcache/store"
)

func TestRedisClient(t *testing.T) {
	tests := []struct {
		url     string
		cluster bool
		err     string
	}{
		{url: "redis://127.0.0.1:6379/0"},
		{url: "rediss://user:pw@127.0.0.1:6380/2"},
		{url: "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", cluster: true},
		{url: "http://127.0.0.1:6379", err: "Redis URL"},
		{url: "::", err: "Redis URL"},
	}
	for _, tc := range tests {
		c, err := RedisClient(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("RedisClient(%q) = %v, want an error containing %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("RedisClient(%q): %v", tc.url, err)
		}
		switch c := c.(type) {
		case *goredis.ClusterClient:
			if !tc.cluster || len(c.Options().Addrs) != 3 || !c.Options().ContextTimeoutEnabled {
				t.Errorf("%q: cluster client %+v", tc.url, c.Options().Addrs)
			}
		case *goredis.Client:
			if tc.cluster || !c.Options().ContextTimeoutEnabled {
				t.Errorf("%q: single-node client", tc.url)
			}
		}
		c.Close()
	}
}

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c := RegisterFlags(fs)
	if err := fs.Parse([]string{"-store", "memcached", "-memcached", "127.0.0.1:1, 127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	servers, err := memcachedServers(c.Memcached)
	if err != nil || len(servers) != 2 || servers[1] != "127.0.0.1:2" {
		t.Fatalf("servers %q, %v", servers, err)
	}
	for _, bad := range []string{"", " , ", "nohost"} {
		if _, err := memcachedServers(bad); err == nil {
			t.Errorf("memcachedServers(%q) accepted", bad)
		}
	}
	st, closeStore, err := (&Flags{Kind: "memory"}).Open(Options{})
	if err != nil || st == nil {
		t.Fatal(err)
	}
	closeStore()
}

// TestMemoryMaxBytes: -memory-max-bytes is the memory store's budget; an
// entry larger than it is refused.
func TestMemoryMaxBytes(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c := RegisterFlags(fs)
	if err := fs.Parse([]string{"-memory-max-bytes", "1000"}); err != nil {
		t.Fatal(err)
	}
	st, closeStore, err := c.Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	ctx := context.Background()
	if err := st.Set(ctx, "small", make([]byte, 100), time.Minute); err != nil {
		t.Fatalf("an entry within the budget: %v", err)
	}
	if err := st.Set(ctx, "big", make([]byte, 2000), time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("an entry over the budget: %v, want ErrTooLarge", err)
	}
	if _, _, err := (&Flags{Kind: "memory", MemoryMaxBytes: -1}).Open(Options{}); err == nil || !strings.Contains(err.Error(), "-memory-max-bytes") {
		t.Fatalf("a negative budget: %v", err)
	}
}

// TestMemcachedTimeoutWithinGuard: the memcached client's own timeouts end
// a call (three of them at most: dial, write, read) before the cache's
// default deadline, so that the store runs calls on the caller's goroutine.
func TestMemcachedTimeoutWithinGuard(t *testing.T) {
	if 3*MemcachedTimeout >= store.DefaultGuardTimeout {
		t.Fatalf("memcached client timeout %v: three of them reach the guard's %v", MemcachedTimeout, store.DefaultGuardTimeout)
	}
}

// syncBuffer is a bytes.Buffer safe for the goroutines go-redis logs from.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOpenRoutesRedisLogs: with Options.Logger set, what go-redis logs on
// its own, such as a dial that failed, goes to that logger (and not to
// standard error, go-redis's default); a Redis that is down fails a call
// after one dial, not after go-redis's five.
func TestOpenRoutesRedisLogs(t *testing.T) {
	t.Cleanup(logging.Enable) // go-redis's own logger again, for the tests after
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: a dial is refused
	for _, kind := range []string{"redis", "tiered"} {
		t.Run(kind, func(t *testing.T) {
			var logs syncBuffer
			c := &Flags{Kind: kind, RedisURL: "redis://" + addr}
			st, closeStore, err := c.Open(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := st.Get(ctx, "k"); err == nil || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get from a closed port: %v", err)
			}
			if out := logs.String(); !strings.Contains(out, "failed to dial after 1 attempts") || !strings.Contains(out, "source=go-redis") {
				t.Fatalf("the logger got %q; want go-redis's dial failure, after one attempt", out)
			}
		})
	}
}

// TestTieredChannelFollowsKeyPrefix: the example programs' tiered stores
// announce invalidations on a channel of their cache's key prefix, so that
// applications sharing a Redis keep their L1 invalidations apart.
func TestTieredChannelFollowsKeyPrefix(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"", ""},
		{"httpcache:", "httpcache:invalidate"},
		{"proxy:0123456789abcdef:", "proxy:0123456789abcdef:invalidate"},
	} {
		if got := (Options{KeyPrefix: tc.prefix}).channel(); got != tc.want {
			t.Errorf("KeyPrefix %q: channel %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// TestOpen: each URL form opens its store, and a URL Open cannot read is a
// clear error.
func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		url string
		err string
	}{
		{url: "memory://"},
		{url: "memory:"},
		{url: "memory://?max-bytes=1048576"},
		{url: "redis://127.0.0.1:1/0"},
		{url: "memcached://127.0.0.1:1,127.0.0.1:2"},
		{url: "tiered+redis://127.0.0.1:1/0?max-bytes=1048576"},
		{url: "memory://?max-bytes=lots", err: "max-bytes"},
		{url: "memcached://", err: "no memcached servers"},
		{url: "memcached://nohost", err: "want host:port"},
		{url: "redis://127.0.0.1:1/0?bogus=1", err: "Redis URL"},
		{url: "ftp://x", err: "unknown store"},
		{url: "", err: "unknown store"},
	} {
		s, release, err := Open(tc.url, Options{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Open(%q) = %v, want an error containing %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || s == nil {
			t.Errorf("Open(%q) = %v", tc.url, err)
			continue
		}
		release()
	}
}

// TestOpenMemoryMaxBytes: max-bytes in the URL is the memory store's
// budget, before Options.MemoryMaxBytes.
func TestOpenMemoryMaxBytes(t *testing.T) {
	s, release, err := Open("memory://?max-bytes=1000", Options{MemoryMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := s.Set(context.Background(), "big", make([]byte, 2000), time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("an entry over max-bytes: %v, want ErrTooLarge", err)
	}
}

// TestOpenErrorsDoNotShowThePassword: the example programs print Open's
// error and exit; a URL carrying a password must not put it in logs.
func TestOpenErrorsDoNotShowThePassword(t *testing.T) {
	for _, u := range []string{
		"redis://:s3cret@127.0.0.1:6379/notadb",
		"rediss://user:s3cret@127.0.0.1:6379/0?dial_timeout=oops",
		"tiered+redis://:s3cret@127.0.0.1:6379/0?max-bytes=-1",
		"tiered+redis://:s3cret@127.0.0.1:6379/notadb",
	} {
		s, release, err := Open(u, Options{})
		if err == nil {
			release()
			t.Errorf("Open(%q) = %T, want an error", u, s)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open: %v; want the password left out (url.URL.Redacted)", err)
		}
	}
}
