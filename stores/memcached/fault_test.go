package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
)

// TestServerDown stops one server of a pool: calls on its keys fail
// promptly with an error that is not a miss, calls on the other server's
// keys go on working, and after a restart everything works again.
func TestServerDown(t *testing.T) {
	servers := testserver.MemcachedPool(t, 2)
	servers[0].SkipIfExternal(t)
	c, ss := newClient(t, addrs(servers)...)
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	ctx := context.Background()
	down := keyOn(t, s, ss, servers[0].Addr(), "down")
	up := keyOn(t, s, ss, servers[1].Addr(), "up")
	mustSet(t, s, down, []byte("d"), longTTL)
	mustSet(t, s, up, []byte("u"), longTTL)

	servers[0].Stop()
	// More calls than the client keeps idle connections, so that every
	// connection to the dead server has been tried and dropped.
	failing := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, down); return err }},
		{"Set", func() error { return s.Set(ctx, down, []byte("d2"), longTTL) }},
		{"Delete", func() error { return s.Delete(ctx, down) }},
		{"Delete of both", func() error { return s.Delete(ctx, up, down) }},
		{"GetMulti", func() error { _, err := s.GetMulti(ctx, up, down); return err }},
		{"Advance", func() error { _, err := s.Advance(ctx, down, 0, 0); return err }},
		{"Get again", func() error { _, err := s.Get(ctx, down); return err }},
	}
	for _, f := range failing {
		err := within(t, f.name, f.call)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on the stopped server = %v; want an error other than ErrNotFound", f.name, err)
		}
		t.Logf("%s: %v", f.name, err)
	}
	mustSet(t, s, up, []byte("u2"), longTTL)
	expectValue(t, s, up, []byte("u2"))
	if v, err := s.GetMulti(ctx, up); err != nil || string(v[0]) != "u2" {
		t.Errorf("GetMulti(up) = %q, %v; want u2", v, err)
	}

	servers[0].Start()
	expectMiss(t, s, down) // a restarted memcached is empty
	mustSet(t, s, down, []byte("d3"), longTTL)
	expectValue(t, s, down, []byte("d3"))
	if v, err := s.GetMulti(ctx, up, down); err != nil || string(v[0]) != "u2" || string(v[1]) != "d3" {
		t.Errorf("GetMulti(up, down) = %q, %v; want u2, d3", v, err)
	}
}

// TestBlackholedServer puts a proxy that stops forwarding between the
// client and the server: each call with a 50 ms deadline returns the
// deadline's error (well before a 5 s guard, which only tells a hang from
// a return), and the goroutines left behind end within the client's
// Timeout.
func TestBlackholedServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	// Registered first, so run last: after the proxy and the server, whose
	// goroutines would otherwise count, have been closed.
	var before goleak.Option
	t.Cleanup(func() {
		if before != nil {
			goleak.VerifyNone(t, before)
		}
	})
	before = goleak.IgnoreCurrent()

	srv := testserver.Memcached(t)
	proxy := testserver.NewProxy(t, srv.Addr())
	c, _ := newClient(t, proxy.Addr())
	c.Timeout = timeout
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	mustSet(t, s, "k", []byte("v"), longTTL)
	proxy.Block()
	running := goleak.IgnoreCurrent() // the servers' and the proxy's

	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, "k"); return err }},
		{"Set", func(ctx context.Context) error { return s.Set(ctx, "k", []byte("v2"), longTTL) }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "k") }},
		{"Delete of three", func(ctx context.Context) error { return s.Delete(ctx, "k", "l", "m") }},
		{"GetMulti", func(ctx context.Context) error { _, err := s.GetMulti(ctx, "k", "l"); return err }},
		{"Advance", func(ctx context.Context) error { _, err := s.Advance(ctx, "counter", 0, time.Minute); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			err := within(t, tt.name, func() error { return tt.call(ctx) })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s = %v; want an error wrapping context.DeadlineExceeded", tt.name, err)
			}
		})
	}

	// Every call left a goroutine waiting for the server; each gives up
	// within the client's Timeout (dial, then one read deadline).
	time.Sleep(2*timeout + 100*time.Millisecond)
	goleak.VerifyNone(t, running,
		// The proxy's goroutines for the connections the calls opened,
		// which it holds until it is closed.
		goleak.IgnoreAnyFunction("github.com/seedcache/httpcache/internal/testserver.(*Proxy).serve"),
		goleak.IgnoreAnyFunction("github.com/seedcache/httpcache/internal/testserver.(*Proxy).pump"),
	)

	// On Unblock the proxy delivers the commands it held, which the server
	// then runs late (the abandoned Delete of "k" may land after a new Set
	// of "k"): check that the store works again on a key they never touch.
	proxy.Unblock()
	mustSet(t, s, "after", []byte("v"), longTTL)
	expectValue(t, s, "after", []byte("v"))
}

// TestSetCopiesValueForLateWrite makes the client's dial wait until after
// Set has returned with its context's error and the caller has reused the
// slice: what the late write stores is still the value Set was given.
func TestSetCopiesValueForLateWrite(t *testing.T) {
	tp := &tap{gate: make(chan struct{})}
	c, _ := newClient(t, testserver.Memcached(t).Addr())
	c.DialContext = tp.dial
	c.Timeout = 2 * time.Second // longer than the dial is held
	s := New(c, Options{KeyPrefix: uniquePrefix()})

	v := []byte("original")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Set(ctx, "k", v, longTTL); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Set with the dial held = %v; want DeadlineExceeded", err)
	}
	copy(v, "MUTATED!")
	close(tp.gate)

	// The late write lands within the client's Timeout.
	deadline := time.Now().Add(guard)
	for {
		got, err := s.Get(context.Background(), "k")
		if err == nil {
			if string(got) != "original" {
				t.Fatalf("the late write stored %q; want %q", got, "original")
			}
			return
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("Get after the late write: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClientTimeoutBoundsCall: when the client's own timeouts end a call
// before the context's deadline, the call runs on the caller's goroutine and
// ends with the client's timeout error, not the context's.
func TestClientTimeoutBoundsCall(t *testing.T) {
	srv := testserver.Memcached(t)
	proxy := testserver.NewProxy(t, srv.Addr())
	c, _ := newClient(t, proxy.Addr())
	c.Timeout = 20 * time.Millisecond
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	mustSet(t, s, "k", []byte("v"), longTTL)
	proxy.Block()
	defer proxy.Unblock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := within(t, "Get", func() error { _, err := s.Get(ctx, "k"); return err })
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get = %v; want the client's own timeout error", err)
	}
}

// warmPool fills the idle pool of s's client with about n connections
// through proxy: it delays every chunk, so that n concurrent calls overlap
// and each takes a connection of its own, which the client keeps once they
// return. It fails t unless the server (at addr) holds at least n/2.
func warmPool(t *testing.T, s *Store, proxy *testserver.Proxy, addr string, n int) {
	t.Helper()
	proxy.SetDelay(20 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := s.Get(context.Background(), fmt.Sprintf("warm%d", i)); !errors.Is(err, store.ErrNotFound) {
				errs <- err
			}
		})
	}
	wg.Wait()
	proxy.SetDelay(0)
	close(errs)
	for err := range errs {
		t.Fatalf("warming the pool: %v", err)
	}
	if conns := serverConnections(t, addr); conns < n/2 {
		t.Fatalf("the server holds %d connections after %d concurrent calls; want the pool warm", conns, n)
	}
}

// serverConnections returns how many client connections the memcached at
// addr has open (its curr_connections, less the listener and this one).
func serverConnections(t *testing.T, addr string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, guard)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(guard))
	if _, err := io.WriteString(conn, "stats\r\n"); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "STAT curr_connections %d", &n); err == nil {
			return n - 2
		}
		if sc.Text() == "END" {
			break
		}
	}
	t.Fatalf("no curr_connections in memcached's stats: %v", sc.Err())
	return 0
}

// TestRestartedServerAnswersTheFirstCall: after a server restarts, every
// connection the client kept idle is dead (the server closed it). The first
// call of each kind after the restart succeeds all the same, however many
// dead connections the pool holds: a call that fails on a connection the
// server closed drops the idle connections and runs once more on a new one,
// instead of reporting the store down (and making the middleware's circuit
// breaker stop calling it, one dead connection per probe).
func TestRestartedServerAnswersTheFirstCall(t *testing.T) {
	const pool = 64 // as stores/storeurl configures the client
	calls := []struct {
		name string
		call func(s *Store) error
	}{
		{"Get", func(s *Store) error { _, err := s.Get(context.Background(), "k"); return err }},
		{"GetMulti", func(s *Store) error { _, err := s.GetMulti(context.Background(), "k", "l"); return err }},
		{"Set", func(s *Store) error { return s.Set(context.Background(), "k", []byte("v"), longTTL) }},
		{"Delete", func(s *Store) error { return s.Delete(context.Background(), "k") }},
		{"Delete of three", func(s *Store) error { return s.Delete(context.Background(), "k", "l", "m") }},
		{"Advance", func(s *Store) error { _, err := s.Advance(context.Background(), "counter", 0, time.Minute); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Memcached(t)
			srv.SkipIfExternal(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			c, _ := newClient(t, proxy.Addr())
			c.MaxIdleConns = pool
			c.Timeout = 2 * time.Second // no timeout on a loaded machine: only the dead connections fail
			s := New(c, Options{KeyPrefix: uniquePrefix()})
			warmPool(t, s, proxy, srv.Addr(), pool)

			srv.Stop()
			srv.Start()
			err := within(t, tt.name, func() error { return tt.call(s) })
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("first %s after the restart: %v; want it answered on a new connection", tt.name, err)
			}
		})
	}
}

// TestTimeoutsSayTheyAreTimeouts: a call that fails because one of the
// client's own timeouts passed returns an error that says it is a timeout,
// dial timeouts too (which gomemcache reports as a ConnectTimeoutError, no
// net.Error), so that the middleware's guard tells a slow store (or a
// starved process) from a store that refuses.
func TestTimeoutsSayTheyAreTimeouts(t *testing.T) {
	isTimeout := func(err error) bool {
		var te interface{ Timeout() bool }
		return errors.As(err, &te) && te.Timeout()
	}
	t.Run("dial", func(t *testing.T) {
		c, _ := newClient(t, testserver.Memcached(t).Addr())
		c.Timeout = 10 * time.Millisecond
		c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done() // a server that never answers the SYN
			return nil, ctx.Err()
		}
		s := New(c, Options{KeyPrefix: uniquePrefix()})
		for _, tt := range []struct {
			name string
			call func() error
		}{
			{"Get", func() error { _, err := s.Get(context.Background(), "k"); return err }},
			{"Set", func() error { return s.Set(context.Background(), "k", []byte("v"), longTTL) }},
			{"Delete", func() error { return s.Delete(context.Background(), "k") }},
			{"Advance", func() error { _, err := s.Advance(context.Background(), "counter", 0, 0); return err }},
		} {
			err := within(t, tt.name, tt.call)
			if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
				t.Errorf("%s with a dial that times out: %v; want a timeout", tt.name, err)
			}
		}
	})
	t.Run("read", func(t *testing.T) {
		srv := testserver.Memcached(t)
		proxy := testserver.NewProxy(t, srv.Addr())
		c, _ := newClient(t, proxy.Addr())
		c.Timeout = 50 * time.Millisecond
		s := New(c, Options{KeyPrefix: uniquePrefix()})
		mustSet(t, s, "k", []byte("v"), longTTL)
		proxy.Block()
		defer proxy.Unblock()
		err := within(t, "Get", func() error { _, err := s.Get(context.Background(), "k"); return err })
		if !isTimeout(err) {
			t.Errorf("Get from a server that does not answer: %v; want a timeout", err)
		}
	})
}
