package httpcache

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
)

// stripWriter passes a response the cache does not keep (a bypass, a method
// other than GET and HEAD) straight through, removing only the tag header,
// which is for the cache and not for the client — from 1xx responses too —
// and noting the final status. It keeps what the writer below can do: Flush,
// Hijack, Push and ReadFrom (so that files still go out with sendfile)
// reach it, and http.ResponseController finds the rest through Unwrap.
type stripWriter struct {
	w      http.ResponseWriter
	tag    string // the tag header's canonical name
	status int    // the final status; 0 until one is written
}

var (
	_ http.Flusher    = (*stripWriter)(nil)
	_ http.Hijacker   = (*stripWriter)(nil)
	_ http.Pusher     = (*stripWriter)(nil)
	_ io.ReaderFrom   = (*stripWriter)(nil)
	_ io.StringWriter = (*stripWriter)(nil)
)

// passThrough returns the writer for a response to r that the cache passes
// through: w itself when a fetch of another Cache encloses r (that Cache
// reads the tag header for its own copy, and removes it), else w wrapped to
// remove the header.
func (c *Cache) passThrough(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	if enclosingMiss(r, c) != nil {
		return w
	}
	return &stripWriter{w: w, tag: c.opts.TagHeader}
}

func (s *stripWriter) Header() http.Header { return s.w.Header() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (s *stripWriter) Unwrap() http.ResponseWriter { return s.w }

func (s *stripWriter) WriteHeader(code int) {
	if s.status == 0 {
		delete(s.w.Header(), s.tag)
		if code >= 200 || code == http.StatusSwitchingProtocols {
			s.status = code
		}
	}
	s.w.WriteHeader(code)
}

// started strips the header before the first byte of the body goes out
// with net/http's implicit 200.
func (s *stripWriter) started() {
	if s.status == 0 {
		delete(s.w.Header(), s.tag)
		s.status = http.StatusOK
	}
}

func (s *stripWriter) Write(p []byte) (int, error) {
	s.started()
	return s.w.Write(p)
}

func (s *stripWriter) WriteString(str string) (int, error) {
	s.started()
	return io.WriteString(s.w, str)
}

// ReadFrom lets the writer below copy from src itself (net/http uses
// sendfile for files).
func (s *stripWriter) ReadFrom(src io.Reader) (int64, error) {
	s.started()
	if rf, ok := s.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{s.w}, src)
}

// Flush sends buffered data to the client; errors are dropped, as
// http.Flusher requires (FlushError returns them).
func (s *stripWriter) Flush() { _ = s.FlushError() }

// FlushError is Flush returning the error, which wraps
// http.ErrNotSupported when the writer below cannot flush.
func (s *stripWriter) FlushError() error {
	s.started()
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		return fmt.Errorf("httpcache: flush: %w", err)
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

// Push initiates an HTTP/2 server push when the writer below can.
func (s *stripWriter) Push(target string, opts *http.PushOptions) error {
	if p, ok := s.w.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}
