package testserver

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

const (
	proxyDialTimeout  = 5 * time.Second
	proxyCloseTimeout = 5 * time.Second
	proxyBufSize      = 32 << 10
)

// Proxy is a TCP proxy on a loopback port in front of a target address, for
// the faults a real server does not produce on demand: latency, a server
// that accepts but never answers, dropped connections. Its methods are safe
// for concurrent use and take effect on live connections too.
type Proxy struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	delay   time.Duration
	blocked bool
	gate    chan struct{} // closed while not blocked
	conns   map[*proxyConn]struct{}
	closed  bool

	wg sync.WaitGroup // the accept loop and every connection's goroutines
}

// proxyConn is one client connection and, once dialled, its upstream.
type proxyConn struct {
	client net.Conn
	ctx    context.Context // cancelled by close
	cancel context.CancelFunc

	mu       sync.Mutex
	upstream net.Conn
	closed   bool
}

// NewProxy starts a proxy to target (host:port) that tb's cleanup closes,
// together with every connection through it.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testserver: proxy listen: %v", err)
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{target: target, ln: ln, gate: gate, conns: make(map[*proxyConn]struct{})}
	p.wg.Add(1)
	go p.acceptLoop()
	tb.Cleanup(func() {
		if err := p.close(); err != nil {
			tb.Errorf("testserver: %v", err)
		}
	})
	return p
}

// Addr returns the proxy's address (127.0.0.1:port), for clients to dial
// instead of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDelay delays every chunk of data forwarded in either direction by d
// from now on, so a request and its reply take at least 2d longer. Zero
// removes the delay.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Block makes the proxy hang: it still accepts connections but forwards
// nothing in either direction, and new connections do not reach the target,
// until Unblock. Data already read is held, not dropped.
func (p *Proxy) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.blocked {
		p.blocked = true
		p.gate = make(chan struct{})
	}
}

// Unblock resumes forwarding, held data first.
func (p *Proxy) Unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked {
		p.blocked = false
		close(p.gate)
	}
}

// CloseAll closes every live connection through the proxy, on both sides.
// The proxy keeps accepting new ones.
func (p *Proxy) CloseAll() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}

// close stops accepting, closes every connection and waits, bounded, for the
// proxy's goroutines.
func (p *Proxy) close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.CloseAll()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(proxyCloseTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return errors.New("proxy goroutines still running after close")
	}
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or similar: back off, as net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		pc := &proxyConn{client: c, ctx: ctx, cancel: cancel}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			cancel()
			c.Close()
			return
		}
		p.conns[pc] = struct{}{}
		// Added under p.mu with closed false: close has not started waiting.
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(pc)
	}
}

func (p *Proxy) serve(pc *proxyConn) {
	defer p.wg.Done()
	defer func() {
		pc.close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	// Blocked means hanging: the client is accepted but the target is not
	// even dialled until Unblock.
	if !p.wait(pc, false) {
		return
	}
	ctx, cancel := context.WithTimeout(pc.ctx, proxyDialTimeout)
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		return // the client sees its connection closed, as with a dead server
	}
	if !pc.setUpstream(up) {
		return
	}
	var pumps sync.WaitGroup
	pumps.Go(func() { p.pump(pc, up, pc.client) })
	pumps.Go(func() { p.pump(pc, pc.client, up) })
	pumps.Wait()
}

// pump copies src to dst chunk by chunk, applying the delay and the block to
// each chunk. At EOF it half-closes dst, so a server that closes its side is
// seen to close by the client.
func (p *Proxy) pump(pc *proxyConn, dst, src net.Conn) {
	buf := make([]byte, proxyBufSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(pc, true) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				pc.close()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
					return
				}
			}
			pc.close()
			return
		}
	}
}

// wait holds a chunk for the delay (if delayed) and then until the proxy is
// not blocked. It reports false when the connection closed meanwhile.
func (p *Proxy) wait(pc *proxyConn, delayed bool) bool {
	p.mu.Lock()
	d := p.delay
	p.mu.Unlock()
	if delayed && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-pc.ctx.Done():
			return false
		}
	}
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
		return true
	case <-pc.ctx.Done():
		return false
	}
}

// setUpstream records the dialled upstream, or reports false (and closes it)
// if the connection was closed during the dial.
func (pc *proxyConn) setUpstream(up net.Conn) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		up.Close()
		return false
	}
	pc.upstream = up
	return true
}

// close closes both sides once.
func (pc *proxyConn) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed {
		return
	}
	pc.closed = true
	pc.cancel()
	pc.client.Close()
	if pc.upstream != nil {
		pc.upstream.Close()
	}
}
