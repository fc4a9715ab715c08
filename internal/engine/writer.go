package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// headerHook is told when the final response header is about to be written,
// before it reaches the client: it may edit the live header (to add
// Cache-Status, say) and says what to do with the response.
type headerHook interface {
	writeHeader(status int, header http.Header) hookAction
}

// informationalHook is a headerHook that also sees the header of 1xx
// responses (103 Early Hints) before they go out: net/http sends the
// header as it stands with them.
type informationalHook interface {
	informational(header http.Header)
}

// dropHook is a headerHook told when a response it asked to capture turns
// out not storable while it is being written (too large, streaming too
// long, hijacked, a failed write): it need not wait for the end to know.
// clientGone says it was a failed write to the client.
type dropHook interface {
	dropped(clientGone bool)
}

// hookAction is what the capture writer does with a response.
type hookAction uint8

const (
	// actionPass writes the response through without keeping a copy.
	actionPass hookAction = iota
	// actionCapture writes it through and keeps a bounded copy.
	actionCapture
	// actionSuppress keeps it from the client altogether: the middleware
	// answers instead (a 304 to its own revalidation, a 5xx replaced by a
	// stale response).
	actionSuppress
)

// captureWriter writes a response through to the client while keeping a
// bounded copy of it. It never buffers before sending: every Write goes to the
// client first. It records the status and a clone of the header at the first
// final WriteHeader, forwards 1xx responses without recording them, treats a
// first Write as an implicit 200, and reaches Flush and Hijack through
// http.ResponseController so that wrappers below it keep working.
//
// A flushed response is captured like any other (a reverse proxy flushes
// every write of a response without a Content-Length): it is storable if it
// completes within the limit, and within maxStream of its first flush.
//
// It deliberately has no ReadFrom: io.Copy must go through Write so that the
// bytes are captured.
type captureWriter struct {
	w     http.ResponseWriter
	hook  headerHook
	limit int64

	wroteHeader bool
	status      int
	header      http.Header // snapshot at WriteHeader
	capture     bool        // still keeping a copy
	body        []byte
	bufp        *[]byte // body's pooled buffer
	written     int64   // bytes accepted by the client's writer

	suppressed bool // the response is kept from the client

	overflow  bool      // body exceeded limit: copy dropped
	flushed   bool      // the handler flushed: a stream, storable if it ends in time
	flushedAt time.Time // when it first flushed
	overdue   bool      // still streaming past maxStream: copy dropped
	hijacked  bool      // connection taken over: not storable
	writeErr  error     // a write to the client failed

	// now and maxStream bound how long a flushed response may go on
	// after its first flush and still be stored
	// (Options.MaxStreamDuration). A negative maxStream stops capturing
	// at the first flush; zero, or a nil now, sets no bound.
	now       func() time.Time
	maxStream time.Duration

	// waiters, if set, counts the requests that wait for the captured
	// copy (collapsed into this one). Once there are any, the handler's
	// writes go to the copy at the handler's pace, and a pump writes the
	// copy on to the client from a goroutine of its own, so that a slow
	// client holds neither the handler nor those waiting. The copy is bounded by the
	// limit: past it the writer drains the pump and writes through again.
	waiters *atomic.Uint64
	pump    *pump
}

// pump writes a growing captured body to the client from its own
// goroutine. The body only grows (bytes once appended never change), so the
// pump may write a prefix of it while the handler appends.
type pump struct {
	w    http.ResponseWriter
	mu   sync.Mutex
	wake *sync.Cond
	buf  []byte // the body as far as the handler has written it
	sent int    // bytes of buf handed to the client's writer
	// flush asks for a flush once buf is written; stop for an end once it
	// is (or at once, if abandon).
	flush, stop, abandon bool
	err                  error // the first failed write or flush
	done                 chan struct{}
}

func startPump(w http.ResponseWriter, body []byte) *pump {
	p := &pump{w: w, buf: body, sent: len(body), done: make(chan struct{})}
	p.wake = sync.NewCond(&p.mu)
	go p.run()
	return p
}

func (p *pump) run() {
	defer close(p.done)
	defer func() {
		// A ResponseWriter below that panics (a middleware's wrapper)
		// would take the process down from this goroutine, out of
		// net/http's recovery: the panic ends the client's writes, as a
		// failed write would.
		if v := recover(); v != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = fmt.Errorf("httpcache: the response writer panicked: %v", v)
			}
			p.mu.Unlock()
		}
	}()
	for {
		p.mu.Lock()
		for p.sent == len(p.buf) && !p.flush && !p.stop {
			p.wake.Wait()
		}
		chunk, flush, err := p.buf[p.sent:], p.flush, p.err
		p.flush = false
		if p.abandon || p.stop && len(chunk) == 0 && !flush {
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if err == nil && len(chunk) > 0 {
			_, err = p.w.Write(chunk)
		}
		if err == nil && flush {
			err = http.NewResponseController(p.w).Flush()
		}
		p.mu.Lock()
		p.sent += len(chunk)
		if p.err == nil {
			p.err = err
		}
		p.mu.Unlock()
	}
}

// push hands the pump the body grown to buf, and maybe asks for a flush.
func (p *pump) push(buf []byte, flush bool) {
	p.mu.Lock()
	p.buf = buf
	p.flush = p.flush || flush
	p.mu.Unlock()
	p.wake.Signal()
}

// end waits for the pump to write what it has (or, if abandon, only what it
// is writing) and stop, and returns the first error it met.
func (p *pump) end(abandon bool) error {
	p.mu.Lock()
	p.stop, p.abandon = true, abandon
	p.mu.Unlock()
	p.wake.Signal()
	<-p.done
	return p.err
}

var (
	_ http.ResponseWriter = (*captureWriter)(nil)
	_ http.Flusher        = (*captureWriter)(nil)
	_ http.Hijacker       = (*captureWriter)(nil)
	_ io.StringWriter     = (*captureWriter)(nil)
)

// bodyPool recycles capture buffers between misses.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody keeps rare huge buffers out of the pool.
const maxPooledBody = 256 << 10

func newCaptureWriter(w http.ResponseWriter, hook headerHook, limit int64) *captureWriter {
	return &captureWriter{w: w, hook: hook, limit: limit}
}

// Header returns the client's header map: handlers and the middleware above
// share it, as with any wrapper.
func (c *captureWriter) Header() http.Header { return c.w.Header() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (c *captureWriter) Unwrap() http.ResponseWriter { return c.w }

// WriteHeader records the first final status and header, lets the hook
// decorate the header, and writes it through. 1xx informational responses
// (such as 103 Early Hints) are forwarded and not recorded.
func (c *captureWriter) WriteHeader(status int) {
	if c.wroteHeader {
		c.w.WriteHeader(status) // let net/http report the superfluous call
		return
	}
	h := c.w.Header()
	header.Canonicalize(h) // the hook reads it under canonical names
	if status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols {
		if ih, ok := c.hook.(informationalHook); ok {
			ih.informational(h)
		}
		c.w.WriteHeader(status)
		return
	}
	c.wroteHeader = true
	c.status = status
	c.header = cloneHeader(h)
	if c.hook != nil {
		switch c.hook.writeHeader(status, h) {
		case actionCapture:
			c.capture = true
			c.startBody()
		case actionSuppress:
			c.suppressed = true
			return
		}
	}
	c.w.WriteHeader(status)
}

// cloneHeader is h.Clone() (nil values kept nil, every value slice capped),
// its values in one array.
func cloneHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	nv := 0
	for _, vv := range h {
		nv += len(vv)
	}
	sv := make([]string, nv)
	h2 := make(http.Header, len(h))
	for k, vv := range h {
		if vv == nil {
			h2[k] = nil
			continue
		}
		n := copy(sv, vv)
		h2[k] = sv[:n:n]
		sv = sv[n:]
	}
	return h2
}

// sent reports whether anything of the response has gone to the client (or
// the handler took the connection over).
func (c *captureWriter) sent() bool { return c.wroteHeader && !c.suppressed || c.hijacked }

// startBody takes a pooled buffer, sized from Content-Length when the
// handler declared one within the limit.
func (c *captureWriter) startBody() {
	c.bufp = bodyPool.Get().(*[]byte)
	c.body = (*c.bufp)[:0]
	if n := header.ContentLength(c.header); n > 0 && n <= c.limit && int64(cap(c.body)) < n {
		c.body = make([]byte, 0, n)
	}
}

// detachAbove is how much of a flight leader's body is written straight
// through before a pump takes the client's writes over, whether or not
// anyone waits yet: past it, a write may block on a client that reads
// nothing, and requests that join the flight while the handler is stuck
// in that write would wait for that client. Below it, writes land in
// socket buffers, and a pump (a goroutine per miss) would cost more than
// it saves.
const detachAbove = 64 << 10

// detached reports whether the client is written to by a pump, starting
// one for a write of n more bytes when the response is still captured for
// a flight and either others wait for the copy or the body grows past
// detachAbove.
func (c *captureWriter) detached(n int) bool {
	if c.pump == nil && c.capture && c.waiters != nil &&
		(c.waiters.Load() > 0 || c.written+int64(n) > detachAbove) {
		c.pump = startPump(c.w, c.body)
	}
	return c.pump != nil
}

// attach ends the pump, if there is one, once it has written everything
// (or, if abandon, what it is writing): the client is written to by the
// caller again.
func (c *captureWriter) attach(abandon bool) {
	if c.pump == nil {
		return
	}
	err := c.pump.end(abandon)
	c.pump = nil
	if err != nil && c.writeErr == nil {
		c.writeErr = err // the client's: the copy itself was whole
	}
}

// release returns the capture buffer to the pool, once the pump has written
// it to the client. The caller must be done with body.
func (c *captureWriter) release() {
	c.attach(false)
	if c.bufp != nil && cap(c.body) <= maxPooledBody {
		*c.bufp = c.body[:0]
		bodyPool.Put(c.bufp)
	}
	c.bufp, c.body = nil, nil
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.suppressed {
		return len(p), nil
	}
	if c.flushed {
		c.checkStream()
	}
	if c.detached(len(p)) && c.fits(len(p)) {
		c.body = append(c.body, p...)
		c.written += int64(len(p))
		c.pump.push(c.body, false)
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.record(p[:n], err)
	return n, err
}

// WriteString avoids a copy for handlers using io.WriteString.
func (c *captureWriter) WriteString(s string) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.suppressed {
		return len(s), nil
	}
	if c.flushed {
		c.checkStream()
	}
	if c.detached(len(s)) && c.fits(len(s)) {
		c.body = append(c.body, s...)
		c.written += int64(len(s))
		c.pump.push(c.body, false)
		return len(s), nil
	}
	n, err := io.WriteString(c.w, s)
	if c.capture && err == nil && c.fits(n) {
		c.body = append(c.body, s[:n]...)
	}
	c.count(n, err)
	return n, err
}

func (c *captureWriter) record(p []byte, err error) {
	if c.capture && err == nil && c.fits(len(p)) {
		c.body = append(c.body, p...)
	}
	c.count(len(p), err)
}

// fits reports whether n more bytes stay within the limit, and stops
// capturing (freeing the copy) when they do not.
func (c *captureWriter) fits(n int) bool {
	if int64(len(c.body))+int64(n) <= c.limit {
		return true
	}
	c.overflow = true
	c.drop()
	return false
}

// drop stops capturing a response that turned out not storable, tells the
// hook (so that those waiting for it go at once), and frees the copy once
// the pump, if any, has written it to the client.
func (c *captureWriter) drop() {
	if !c.capture {
		return
	}
	c.capture = false
	if d, ok := c.hook.(dropHook); ok {
		d.dropped(c.writeErr != nil)
	}
	c.release()
}

// checkStream drops the copy of a flushed response still streaming more
// than maxStream after its first flush.
func (c *captureWriter) checkStream() {
	if c.flushed && c.capture && c.maxStream > 0 && c.now != nil && c.now().Sub(c.flushedAt) > c.maxStream {
		c.overdue = true
		c.drop()
	}
}

func (c *captureWriter) count(n int, err error) {
	c.written += int64(n)
	if err != nil && c.writeErr == nil {
		c.writeErr = err
		c.drop()
	}
}

// Flush sends buffered data to the client. A flushed response is still
// stored if it ends within maxStream of its first flush. Errors are
// dropped, as http.Flusher requires; use FlushError or
// http.ResponseController to see them.
func (c *captureWriter) Flush() { _ = c.FlushError() }

// FlushError is Flush returning the error, which wraps http.ErrNotSupported
// when the underlying writer cannot flush.
func (c *captureWriter) FlushError() error {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if !c.flushed {
		c.flushed = true
		switch {
		case c.maxStream < 0:
			c.overdue = true // streams are never stored
			c.drop()
		case c.now != nil:
			c.flushedAt = c.now()
		}
	} else {
		c.checkStream()
	}
	if c.suppressed {
		return nil
	}
	if c.pump != nil {
		c.pump.push(c.body, true) // the client's errors show at the end
		return nil
	}
	if err := http.NewResponseController(c.w).Flush(); err != nil {
		return fmt.Errorf("httpcache: flush: %w", err)
	}
	return nil
}

// Hijack hands the connection to the handler. Nothing of a hijacked
// response is stored. The error wraps http.ErrNotSupported when the
// underlying writer cannot hijack (as with HTTP/2).
func (c *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if c.suppressed {
		return nil, nil, fmt.Errorf("httpcache: hijack of a response the cache answers: %w", http.ErrNotSupported)
	}
	c.attach(false) // what was written goes first
	conn, rw, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("httpcache: hijack: %w", err)
	}
	c.hijacked = true
	c.drop()
	return conn, rw, nil
}

// complete reports whether the captured copy is the whole response, as
// written, within the limits: the only kind that may be stored. It is
// asked once the handler has returned: a flushed response ends then.
func (c *captureWriter) complete() bool {
	c.checkStream()
	if !c.wroteHeader || c.suppressed || c.overflow || c.overdue || c.hijacked || c.writeErr != nil {
		return false
	}
	// A handler that declared a Content-Length and wrote fewer bytes sent
	// a truncated response; net/http will close the connection on it.
	if n := header.ContentLength(c.header); n >= 0 && n != c.written {
		return false
	}
	return int64(len(c.body)) == c.written
}
