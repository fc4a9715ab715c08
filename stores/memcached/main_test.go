package memcached

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
)

// TestMain stops the shared servers and then fails the package if any
// goroutine is left: every goroutine the store starts must have ended
// within the client's timeouts.
func TestMain(m *testing.M) { os.Exit(testserver.MainNoLeaks(m)) }

// runID keeps the keys of this test binary apart from those of earlier runs
// on external servers (HTTPCACHE_MEMCACHED_ADDR).
var runID = rand.Uint32()

var prefixes atomic.Int64

// uniquePrefix returns a key prefix no other store in this run uses.
func uniquePrefix() string {
	return fmt.Sprintf("t%08x-%d:", runID, prefixes.Add(1))
}

// addrs returns the servers' addresses.
func addrs(servers []*testserver.Server) []string {
	a := make([]string, len(servers))
	for i, s := range servers {
		a[i] = s.Addr()
	}
	return a
}

// newClient returns a client on addrs that t's cleanup closes, and its
// server list, which tells which server a key goes to.
func newClient(t testing.TB, addrs ...string) (*memcache.Client, *memcache.ServerList) {
	t.Helper()
	var ss memcache.ServerList
	if err := ss.SetServers(addrs...); err != nil {
		t.Fatal(err)
	}
	c := memcache.NewFromSelector(&ss)
	t.Cleanup(func() { c.Close() })
	return c, &ss
}

// newStore returns a store with its own prefix on a new client of one new
// server, and that client.
func newStore(t *testing.T, opts Options) (*Store, *memcache.Client) {
	t.Helper()
	c, _ := newClient(t, testserver.Memcached(t).Addr())
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = uniquePrefix()
	}
	return New(c, opts), c
}

// guard is how long an operation may take before a test calls it hung. It
// only tells a hang from a return; it is no latency threshold.
const guard = 5 * time.Second

// within runs f and returns its error, failing t if f does not return
// within guard.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	select {
	case err := <-ch:
		return err
	case <-timer.C:
		t.Fatalf("%s did not return within %v", what, guard)
		return nil
	}
}

func mustSet(t *testing.T, s *Store, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, value, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// expectValue checks that key holds want.
func expectValue(t *testing.T, s *Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(got) != string(want) {
		t.Fatalf("Get(%q) = %d bytes %.20q; want %d bytes %.20q", key, len(got), got, len(want), want)
	}
}

// expectMiss checks that key holds nothing.
func expectMiss(t *testing.T, s *Store, key string) {
	t.Helper()
	if got, err := s.Get(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

// longTTL is the ttl of values that must outlive a test.
const longTTL = time.Hour
