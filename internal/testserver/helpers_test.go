package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// ioTimeout bounds an operation that should succeed (or fail at once). It is
// generous: loaded CI machines stall processes for seconds.
const ioTimeout = 10 * time.Second

// fakeTB records skips and failures instead of acting on them, so tests can
// check what the package reports. Skip and Fatal end the calling goroutine
// like the real ones: run the code under test with run.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	skipped string
	fatal   string
	errs    []string
}

func newFakeTB(t *testing.T) *fakeTB { return &fakeTB{TB: t} }

func (f *fakeTB) set(p *string, msg string) {
	f.mu.Lock()
	*p = msg
	f.mu.Unlock()
}

func (f *fakeTB) Skip(args ...any)                 { f.set(&f.skipped, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Skipf(format string, args ...any) { f.Skip(fmt.Sprintf(format, args...)) }
func (f *fakeTB) SkipNow()                         { f.Skip("SkipNow") }
func (f *fakeTB) Fatal(args ...any)                { f.set(&f.fatal, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Fatal(fmt.Sprintf(format, args...))
}
func (f *fakeTB) FailNow() { f.Fatal("FailNow") }
func (f *fakeTB) Error(args ...any) {
	f.mu.Lock()
	f.errs = append(f.errs, fmt.Sprint(args...))
	f.mu.Unlock()
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.Error(fmt.Sprintf(format, args...))
}

// run calls fn on a new goroutine, as a test body runs, and returns what it
// reported through f, resetting f for the next run.
func (f *fakeTB) run(fn func()) (skipped, fatal string) {
	f.TB.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		f.TB.Fatal("fakeTB.run: code under test did not return")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	skipped, fatal = f.skipped, f.fatal
	f.skipped, f.fatal = "", ""
	return skipped, fatal
}

// clearOverrides makes the package start its own servers whatever the
// environment says.
func clearOverrides(t *testing.T) {
	t.Setenv(EnvRedisURL, "")
	t.Setenv(EnvMemcachedAddr, "")
	t.Setenv(EnvRedisClusterAddrs, "")
}

// redisConn dials addr and closes the connection at cleanup.
func redisConn(t *testing.T, addr string) *respConn {
	t.Helper()
	c, err := dialRESP(addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// redisDo runs one command and fails t on an error.
func redisDo(t *testing.T, c *respConn, args ...string) any {
	t.Helper()
	v, err := c.do(ioTimeout, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// memcachedConn is a memcached text-protocol connection.
type memcachedConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialMemcached(t *testing.T, addr string) *memcachedConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &memcachedConn{c: c, r: bufio.NewReader(c)}
}

// roundTrip sends req and reads reply lines up to and including one that
// ends the reply (or the first line, if ends is empty).
func (m *memcachedConn) roundTrip(t *testing.T, req string, ends ...string) []string {
	t.Helper()
	m.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(m.c, req); err != nil {
		t.Fatalf("memcached %q: %v", req, err)
	}
	var lines []string
	for {
		line, err := m.r.ReadString('\n')
		if err != nil {
			t.Fatalf("memcached %q: %v (read so far %q)", req, err, lines)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(ends) == 0 {
			return lines
		}
		for _, e := range ends {
			if line == e {
				return lines
			}
		}
	}
}

// assertRefused checks that nothing accepts connections on addr.
func assertRefused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err == nil {
		c.Close()
		t.Fatalf("%s accepts connections; want it refused", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v; want connection refused", addr, err)
	}
}
