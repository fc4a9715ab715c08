package httpcache_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// readFromRecorder counts calls of ReadFrom, the path to sendfile.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFroms int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	return io.Copy(struct{ io.Writer }{r.ResponseRecorder}, src)
}

// TestPassThroughKeepsReadFrom: a bypassed response (here a Range
// request for a file, the typical one) and a POST's still reach the
// server's ReadFrom, so files go out with sendfile.
func TestPassThroughKeepsReadFrom(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 1<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		w.Header().Set("Cache-Tag", "file")
		if r.Method == http.MethodPost {
			io.Copy(w, f)
			return
		}
		http.ServeContent(w, r, "big", time.Time{}, f)
	}))
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/big", nil),
		httptest.NewRequest("POST", "/big", nil),
	} {
		if r.Method == "GET" {
			r.Header.Set("Range", "bytes=0-524287")
		}
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(rec, r)
		if rec.readFroms == 0 || rec.Body.Len() < 1<<19 {
			t.Fatalf("%s: %d bytes, ReadFrom called %d times (want the server's ReadFrom)", r.Method, rec.Body.Len(), rec.readFroms)
		}
		if rec.Header().Get("Cache-Tag") != "" {
			t.Fatalf("%s: the tag header reached the client", r.Method)
		}
	}
}

// TestUnsentHeaderStaysOpen: a flush the writer below cannot do, or a
// copy of nothing, sends no header: the tag header set afterwards is still
// removed, and the status that does go out (an error) is the one that
// decides the invalidation of a POST.
func TestUnsentHeaderStaysOpen(t *testing.T) {
	for _, how := range []string{"failed flush", "empty copy"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			var h http.Handler = e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					w.Header().Set("Cache-Control", "max-age=600")
					io.WriteString(w, "stored")
					return
				}
				if how == "failed flush" {
					http.NewResponseController(w).Flush() // http.TimeoutHandler's writer cannot
				} else {
					io.Copy(w, struct{ io.Reader }{strings.NewReader("")}) // net/http sends nothing
				}
				w.Header().Set("Cache-Tag", "secret")
				w.WriteHeader(http.StatusInternalServerError)
			}))
			if how == "failed flush" {
				h = http.TimeoutHandler(h, time.Minute, "timeout")
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			send := func(method string) *http.Response {
				req, _ := http.NewRequest(method, srv.URL+"/r", nil)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			send("GET")
			if resp := send("POST"); resp.StatusCode != 500 || resp.Header.Get("Cache-Tag") != "" {
				t.Fatalf("POST: %d, tag header %q", resp.StatusCode, resp.Header.Get("Cache-Tag"))
			}
			if st := send("GET").Header.Get("Cache-Status"); st != "httpcache; hit" {
				t.Fatalf("a POST answered 500 invalidated the stored response: %q", st)
			}
		})
	}
}

// TestBypassKeepsHijack: an upgrade request bypasses the cache
// through a writer that strips the tag header; the handler can still take
// the connection over, by type assertion or ResponseController.
func TestBypassKeepsHijack(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	for _, how := range []string{"assertion", "controller"} {
		h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var conn net.Conn
			var err error
			if how == "assertion" {
				conn, _, err = w.(http.Hijacker).Hijack()
			} else {
				conn, _, err = http.NewResponseController(w).Hijack()
			}
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer conn.Close()
			io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
		}))
		srv := httptest.NewServer(h)
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		got, _ := io.ReadAll(conn)
		conn.Close()
		srv.Close()
		if !strings.HasPrefix(string(got), "HTTP/1.1 101") || !strings.HasSuffix(string(got), "hello") {
			t.Fatalf("%s: the upgrade did not go through: %q", how, got)
		}
	}
}

// nonFlusher is a ResponseWriter that cannot flush.
type nonFlusher struct{ http.ResponseWriter }

// TestPassThroughFlushes pins that a bypassed response can be flushed, as
// a streaming handler behind the cache expects: Flush reaches the writer
// below (sending the header, without the tag header), a ResponseController
// finds the writer below through Unwrap, and where nothing below can flush
// FlushError says so (wrapping http.ErrNotSupported) instead of pretending.
func TestPassThroughFlushes(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var flushErr, rcErr error
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Tag", "secret-tag")
		io.WriteString(w, "part one;")
		w.(http.Flusher).Flush()
		flushErr = w.(interface{ FlushError() error }).FlushError()
		rcErr = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
		io.WriteString(w, "part two")
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://example.com/stream", nil)
	req.Header.Set("Range", "bytes=0-1") // bypasses the cache: the pass-through writer
	h.ServeHTTP(rec, req)
	if !rec.Flushed || rec.Body.String() != "part one;part two" || rec.Header().Get("Cache-Tag") != "" {
		t.Errorf("flushed %v, body %q, Cache-Tag %q", rec.Flushed, rec.Body.String(), rec.Header().Get("Cache-Tag"))
	}
	if flushErr != nil {
		t.Errorf("FlushError on a flushable writer: %v", flushErr)
	}
	// The recorder has no deadlines: the controller must have reached it
	// through Unwrap to say so.
	if !errors.Is(rcErr, http.ErrNotSupported) {
		t.Errorf("SetWriteDeadline through the pass-through writer: %v, want ErrNotSupported from the recorder", rcErr)
	}

	h.ServeHTTP(nonFlusher{httptest.NewRecorder()}, req)
	if !errors.Is(flushErr, http.ErrNotSupported) {
		t.Errorf("FlushError over a writer that cannot flush: %v, want ErrNotSupported", flushErr)
	}
}
