package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/seedcache/httpcache/internal/header"
)

// stripWriter passes a response the cache does not keep (a bypass, a method
// other than GET and HEAD) straight through, removing only the tag header,
// which is for the cache and not for the client — from 1xx responses too —
// and noting the final status. It keeps what the writer below can do: Flush,
// Hijack, Push and ReadFrom (so that files still go out with sendfile)
// reach it, and http.ResponseController finds the rest through Unwrap.
type stripWriter struct {
	w         http.ResponseWriter
	tag       string // the tag header's canonical name
	enclosing *miss  // another Cache's fetch this response is for: it gets the tags
	status    int    // the final status; 0 until one has gone out
}

var (
	_ http.Flusher    = (*stripWriter)(nil)
	_ http.Hijacker   = (*stripWriter)(nil)
	_ http.Pusher     = (*stripWriter)(nil)
	_ io.ReaderFrom   = (*stripWriter)(nil)
	_ io.StringWriter = (*stripWriter)(nil)
)

// passThrough returns the writer for a response to r that the cache passes
// through. When a fetch of another Cache encloses r, that Cache stores the
// response: the tags are handed to it as the header is removed.
func (c *Engine) passThrough(w http.ResponseWriter, r *http.Request) *stripWriter {
	return &stripWriter{w: w, tag: c.opts.TagHeader, enclosing: enclosingMiss(r, c)}
}

// strip takes the tag header out before the header goes out.
func (s *stripWriter) strip() {
	h := s.w.Header()
	header.Canonicalize(h)
	takeTags(h, s.tag, s.enclosing)
}

func (s *stripWriter) Header() http.Header { return s.w.Header() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (s *stripWriter) Unwrap() http.ResponseWriter { return s.w }

func (s *stripWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.strip()
		if code >= 200 || code == http.StatusSwitchingProtocols {
			s.status = code
		}
	}
	s.w.WriteHeader(code)
}

// start sends the header with the implicit 200 before the body, as
// net/http does at the first Write.
func (s *stripWriter) start() {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
}

func (s *stripWriter) Write(p []byte) (int, error) {
	s.start()
	return s.w.Write(p)
}

func (s *stripWriter) WriteString(str string) (int, error) {
	s.start()
	return io.WriteString(s.w, str)
}

// ReadFrom lets the writer below copy from src itself (net/http uses
// sendfile for files). The header is stripped first; the response counts
// as started only once bytes went out (net/http sends nothing for an empty
// src).
func (s *stripWriter) ReadFrom(src io.Reader) (int64, error) {
	if s.status != 0 {
		return readFrom(s.w, src)
	}
	s.strip()
	n, err := readFrom(s.w, src)
	if n > 0 {
		s.status = http.StatusOK
	}
	return n, err
}

func readFrom(w http.ResponseWriter, src io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w}, src)
}

// Flush sends buffered data to the client; errors are dropped, as
// http.Flusher requires (FlushError returns them).
func (s *stripWriter) Flush() { _ = s.FlushError() }

// FlushError is Flush returning the error, which wraps
// http.ErrNotSupported when the writer below cannot flush.
func (s *stripWriter) FlushError() error {
	if s.status == 0 {
		s.strip()
	}
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		return fmt.Errorf("httpcache: flush: %w", err) // nothing went out
	}
	if s.status == 0 {
		s.status = http.StatusOK // a flush sends the header
	}
	return nil
}

// Hijack hands the connection to the handler; the error wraps
// http.ErrNotSupported when the writer below cannot hijack.
func (s *stripWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("httpcache: hijack: %w", err)
	}
	return conn, rw, nil
}

// Push initiates an HTTP/2 server push when a writer below can.
func (s *stripWriter) Push(target string, opts *http.PushOptions) error {
	for w := s.w; ; {
		if p, ok := w.(http.Pusher); ok {
			return p.Push(target, opts)
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return http.ErrNotSupported
		}
		w = u.Unwrap()
	}
}
