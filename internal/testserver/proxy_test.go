package testserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// echoServer accepts connections on a loopback port and echoes each line
// back, until cleanup.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				io.Copy(c, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

type lineConn struct {
	net.Conn
	r *bufio.Reader
}

func dialLine(t *testing.T, addr string) *lineConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineConn{Conn: c, r: bufio.NewReader(c)}
}

// echo sends line and reads the echo within timeout.
func (c *lineConn) echo(line string, timeout time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	return c.readLine(timeout)
}

func (c *lineConn) readLine(timeout time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(timeout))
	s, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return s[:len(s)-1], nil
}

func mustEcho(t *testing.T, c *lineConn, line string) {
	t.Helper()
	got, err := c.echo(line, ioTimeout)
	if err != nil || got != line {
		t.Fatalf("echo %q = %q, %v", line, got, err)
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

func TestProxyForwards(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c := dialLine(t, p.Addr())
	mustEcho(t, c, "hello")
	mustEcho(t, c, "again")
	// Large writes cross the buffer in several chunks.
	big := make([]byte, 3*proxyBufSize)
	for i := range big {
		big[i] = 'a' + byte(i%26)
	}
	mustEcho(t, c, string(big))
}

func TestProxyDelay(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c := dialLine(t, p.Addr())
	mustEcho(t, c, "warm")

	const d = 100 * time.Millisecond
	p.SetDelay(d)
	start := time.Now()
	mustEcho(t, c, "slow")
	// Only a lower bound: wall-clock upper bounds are flaky on busy machines.
	if rtt := time.Since(start); rtt < d {
		t.Errorf("round trip with delay %v took %v", d, rtt)
	}
	p.SetDelay(0)
	mustEcho(t, c, "fast")
}

func TestProxyBlock(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	before := dialLine(t, p.Addr())
	mustEcho(t, before, "before")

	p.Block()
	p.Block() // idempotent
	if _, err := before.echo("held", 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("echo on a live connection while blocked: %v; want a timeout", err)
	}
	// New connections are accepted, then hang.
	during := dialLine(t, p.Addr())
	if _, err := during.echo("new", 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("echo on a new connection while blocked: %v; want a timeout", err)
	}

	p.Unblock()
	p.Unblock() // idempotent
	// Held data is delivered, not dropped.
	if got, err := before.readLine(ioTimeout); err != nil || got != "held" {
		t.Errorf("after Unblock, held echo = %q, %v", got, err)
	}
	if got, err := during.readLine(ioTimeout); err != nil || got != "new" {
		t.Errorf("after Unblock, echo on the connection accepted while blocked = %q, %v", got, err)
	}
	mustEcho(t, dialLine(t, p.Addr()), "after")
}

func TestProxyCloseAll(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c := dialLine(t, p.Addr())
	mustEcho(t, c, "one")
	p.CloseAll()
	if _, err := c.readLine(ioTimeout); err == nil || isTimeout(err) {
		t.Errorf("read after CloseAll: %v; want the connection closed", err)
	}
	mustEcho(t, dialLine(t, p.Addr()), "two")
}

// The proxy closes without hanging while connections are blocked or
// delayed, and a second close is harmless.
func TestProxyCloseWithLiveConnections(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c1 := dialLine(t, p.Addr())
	mustEcho(t, c1, "x")
	p.SetDelay(time.Hour)
	io.WriteString(c1, "delayed\n")
	p.SetDelay(0)
	p.Block()
	c2 := dialLine(t, p.Addr())
	io.WriteString(c2, "blocked\n")
	time.Sleep(20 * time.Millisecond) // let the proxy pick both up; the test holds either way
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	if err := p.close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*lineConn{c1, c2} {
		if _, err := c.readLine(ioTimeout); err == nil || isTimeout(err) {
			t.Errorf("read after close: %v; want the connection closed", err)
		}
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("closed proxy still accepts connections")
	}
}

// A target that is down looks like one: the client's connection closes.
func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p := NewProxy(t, target)
	c := dialLine(t, p.Addr())
	if _, err := c.echo("anyone?", ioTimeout); err == nil || isTimeout(err) {
		t.Errorf("echo through a proxy to a dead target: %v; want the connection closed", err)
	}
}

func TestProxyRedis(t *testing.T) {
	clearOverrides(t)
	s := Redis(t)
	p := NewProxy(t, s.Addr())
	c := redisConn(t, p.Addr())
	if got := redisDo(t, c, "PING"); got != "PONG" {
		t.Fatalf("PING through the proxy = %#v", got)
	}
	p.Block()
	if _, err := c.do(200*time.Millisecond, "PING"); !isTimeout(err) {
		t.Fatalf("PING while blocked: %v; want a timeout", err)
	}
	p.Unblock()
	// (c now holds the late reply to the PING that timed out: use another.)
	c2 := redisConn(t, p.Addr())
	if got := redisDo(t, c2, "PING"); got != "PONG" {
		t.Fatalf("PING after Unblock = %#v", got)
	}
	// The server going away closes the client's connection.
	s.Stop()
	if _, err := c2.do(ioTimeout, "PING"); err == nil || isTimeout(err) {
		t.Errorf("PING through the proxy to a stopped server: %v; want the connection closed", err)
	}
}
