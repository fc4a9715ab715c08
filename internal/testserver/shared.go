package testserver

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// sharedSlot holds one server shared by the whole test binary: started by
// the first test that asks, stopped by Main.
type sharedSlot[T any] struct {
	mu      sync.Mutex
	started bool
	v       T
	err     error
	close   func(T) error
}

// get returns the shared value, starting it on first use. A failure is kept
// too, so every later test skips or fails the same way without trying again.
func (s *sharedSlot[T]) get(start func() (T, error)) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.v, s.err = start()
	}
	return s.v, s.err
}

// stop stops the shared value, if it was started, and refuses later use.
func (s *sharedSlot[T]) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.started && s.err == nil {
		err = s.close(s.v)
	}
	var zero T
	s.started, s.v = true, zero
	s.err = errors.New("testserver: shared servers were already stopped by testserver.Main")
	return err
}

var (
	sharedRedis     = sharedSlot[*Server]{close: (*Server).close}
	sharedMemcached = sharedSlot[*Server]{close: (*Server).close}
	sharedCluster   = sharedSlot[*Cluster]{close: (*Cluster).close}
)

// SharedRedis is Redis for a server shared by every test in the binary that
// asks for it. Tests must not rely on it being empty (use distinct keys or
// key prefixes) and cannot Stop it. The package's TestMain should call Main;
// without it the server dies with the test binary (on Linux) but its
// temporary directory stays behind.
func SharedRedis(tb testing.TB) *Server {
	tb.Helper()
	s, err := sharedRedis.get(func() (*Server, error) { return markShared(newRedis()) })
	if err != nil {
		fail(tb, err)
	}
	return s
}

// SharedMemcached is Memcached for a server shared by every test in the
// binary that asks for it; see SharedRedis.
func SharedMemcached(tb testing.TB) *Server {
	tb.Helper()
	s, err := sharedMemcached.get(func() (*Server, error) {
		servers, err := newMemcachedPool(1)
		if err != nil {
			for _, s := range servers {
				s.close()
			}
			return nil, err
		}
		return markShared(servers[0], nil)
	})
	if err != nil {
		fail(tb, err)
	}
	return s
}

// SharedRedisCluster is RedisCluster for a cluster shared by every test in
// the binary that asks for it; see SharedRedis.
func SharedRedisCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := sharedCluster.get(func() (*Cluster, error) {
		c, err := newRedisCluster()
		if err == nil {
			for _, n := range c.nodes {
				n.shared = true
			}
		}
		return c, err
	})
	if err != nil {
		fail(tb, err)
	}
	return c
}

func markShared(s *Server, err error) (*Server, error) {
	if s != nil {
		s.shared = true
	}
	return s, err
}

// Main runs the tests and then stops the servers the Shared… functions
// started, returning the exit code for os.Exit. Call it from TestMain in
// every package that uses a Shared… function:
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// MainNoLeaks is Main, and then fails the run if a goroutine is left
// behind once the servers are stopped: a store's calls abandoned to their
// context, or a Cache's background work, must end with their test.
func MainNoLeaks(m *testing.M) int {
	code := Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	return code
}

// StopShared stops the servers the Shared… functions started. Main calls it;
// call it yourself from a TestMain that cannot use Main. Later Shared… calls
// fail.
func StopShared() error {
	return errors.Join(sharedRedis.stop(), sharedMemcached.stop(), sharedCluster.stop())
}
