package engine

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordHook records what the capture writer told it.
type recordHook struct {
	status  int
	capture bool
}

func (h *recordHook) writeHeader(status int, header http.Header) hookAction {
	h.status = status
	header.Set("X-Hooked", "1")
	if h.capture {
		return actionCapture
	}
	return actionPass
}

// transports runs fn against a handler served over HTTP/1.1, over HTTP/2
// (TLS), and directly into an httptest.ResponseRecorder.
func transports(t *testing.T, fn func(t *testing.T, kind string, serve func(h http.Handler) *http.Response)) {
	for _, kind := range []string{"http1", "http2", "recorder"} {
		t.Run(kind, func(t *testing.T) {
			serve := func(h http.Handler) *http.Response {
				if kind == "recorder" {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
					return rec.Result()
				}
				srv := httptest.NewUnstartedServer(h)
				if kind == "http2" {
					srv.EnableHTTP2 = true
					srv.StartTLS()
				} else {
					srv.Start()
				}
				t.Cleanup(srv.Close)
				resp, err := srv.Client().Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { resp.Body.Close() })
				if kind == "http2" && resp.ProtoMajor != 2 {
					t.Fatalf("got %s, want HTTP/2", resp.Proto)
				}
				return resp
			}
			fn(t, kind, serve)
		})
	}
}

// TestCaptureWriterRecords: the capture writer records the status, a
// snapshot of the header at WriteHeader (an implicit 200 on the first
// Write) and the body written through Write and io.Copy, while the client
// gets the same.
func TestCaptureWriterRecords(t *testing.T) {
	transports(t, func(t *testing.T, kind string, serve func(http.Handler) *http.Response) {
		hook := &recordHook{capture: true}
		var cw *captureWriter
		resp := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw = newCaptureWriter(w, hook, 1<<20)
			cw.Header().Set("Content-Type", "text/plain")
			io.WriteString(cw, "hello, ")             // implicit 200
			io.Copy(cw, strings.NewReader("world"))   // through Write
			cw.Header().Set("X-After", "late")        // not in the snapshot
			fmtWrite(cw, []byte("!"))                 // plain Write
			cw.WriteHeader(http.StatusTeapot)         // superfluous
			if _, ok := any(cw).(io.ReaderFrom); ok { // never ReadFrom
				t.Error("captureWriter implements io.ReaderFrom")
			}
		}))
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "hello, world!" || resp.StatusCode != 200 {
			t.Fatalf("client got %d %q", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Hooked") != "1" {
			t.Fatal("hook's header edit did not reach the client")
		}
		if hook.status != 200 || cw.status != 200 || string(cw.body) != "hello, world!" || !cw.complete() {
			t.Fatalf("captured status %d body %q complete %v", cw.status, cw.body, cw.complete())
		}
		if cw.header.Get("X-After") != "" || cw.header.Get("X-Hooked") != "" {
			t.Fatal("header snapshot not taken at WriteHeader, before the hook")
		}
	})
}

func fmtWrite(w io.Writer, p []byte) { w.Write(p) }

// TestCaptureWriterNoCapture: when the hook declines capture, the body
// goes to the client and is not kept.
func TestCaptureWriterNoCapture(t *testing.T) {
	rec := httptest.NewRecorder()
	cw := newCaptureWriter(rec, &recordHook{capture: false}, 1<<20)
	io.WriteString(cw, "not kept")
	if cw.body != nil || rec.Body.String() != "not kept" {
		t.Fatalf("body %q, client %q", cw.body, rec.Body.String())
	}
}

// TestCaptureWriterLimit: a body at the limit is captured complete; one
// byte over drops the capture while the client still gets everything.
func TestCaptureWriterLimit(t *testing.T) {
	rec := httptest.NewRecorder()
	cw := newCaptureWriter(rec, &recordHook{capture: true}, 10)
	io.WriteString(cw, "0123456789")
	if !cw.complete() {
		t.Fatal("a body exactly at the limit is complete")
	}
	cw.Write([]byte("x"))
	if cw.complete() || cw.body != nil || rec.Body.String() != "0123456789x" {
		t.Fatalf("over the limit: complete=%v body=%q client=%q", cw.complete(), cw.body, rec.Body.String())
	}
}

// TestCaptureWriterWritesThrough: the first part of a response reaches the
// client while the handler is still running, and the flushed response is
// still captured whole.
func TestCaptureWriterWritesThrough(t *testing.T) {
	transports(t, func(t *testing.T, kind string, serve func(http.Handler) *http.Response) {
		if kind == "recorder" {
			return // nothing reads a recorder concurrently
		}
		release := make(chan struct{})
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		resp := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw := newCaptureWriter(w, &recordHook{capture: true}, 1<<20)
			io.WriteString(cw, "first\n")
			if err := http.NewResponseController(cw).Flush(); err != nil {
				t.Errorf("flush through the wrapper: %v", err)
			}
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			io.WriteString(cw, "second\n")
			if !cw.flushed || !cw.complete() || string(cw.body) != "first\nsecond\n" {
				t.Errorf("a flushed response that completed: flushed %v, complete %v, body %q; want it whole and storable",
					cw.flushed, cw.complete(), cw.body)
			}
		}))
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("read %q, %v before the handler finished", line, err)
		}
		once.Do(func() { close(release) })
	})
}

// TestCaptureWriterHijack: a handler can hijack the connection through
// the capture writer.
func TestCaptureWriterHijack(t *testing.T) {
	transports(t, func(t *testing.T, kind string, serve func(http.Handler) *http.Response) {
		if kind == "recorder" {
			return
		}
		var hijackErr error
		done := make(chan struct{})
		resp := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			cw := newCaptureWriter(w, &recordHook{capture: true}, 1<<20)
			conn, brw, err := cw.Hijack()
			hijackErr = err
			if err != nil {
				cw.WriteHeader(http.StatusNotImplemented)
				return
			}
			if !cw.hijacked || cw.complete() {
				t.Error("a hijacked response must not count as storable")
			}
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			brw.Flush()
			conn.Close()
		}))
		<-done
		switch kind {
		case "http1":
			if hijackErr != nil {
				t.Fatalf("hijack over HTTP/1.1: %v", hijackErr)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "hijacked" {
				t.Fatalf("body %q", body)
			}
		case "http2":
			if !errors.Is(hijackErr, http.ErrNotSupported) {
				t.Fatalf("hijack over HTTP/2: %v, want an error wrapping http.ErrNotSupported", hijackErr)
			}
		}
	})
}

// TestCaptureWriterFlushNotSupported: Flush and Hijack on a writer that
// cannot do them return errors wrapping http.ErrNotSupported.
func TestCaptureWriterFlushNotSupported(t *testing.T) {
	cw := newCaptureWriter(struct{ http.ResponseWriter }{httptest.NewRecorder()}, &recordHook{capture: true}, 1<<20)
	if err := cw.FlushError(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("FlushError = %v, want http.ErrNotSupported", err)
	}
	if _, _, err := cw.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Hijack = %v, want http.ErrNotSupported", err)
	}
}

// TestCaptureWriterUnwrapDeadlines: Unwrap returns the wrapped writer, so
// that http.ResponseController reaches its deadlines.
func TestCaptureWriterUnwrapDeadlines(t *testing.T) {
	transports(t, func(t *testing.T, kind string, serve func(http.Handler) *http.Response) {
		if kind == "recorder" {
			return
		}
		resp := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw := newCaptureWriter(w, nil, 1<<20)
			if cw.Unwrap() != w {
				t.Error("Unwrap does not return the wrapped writer")
			}
			if err := http.NewResponseController(cw).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline through the wrapper: %v", err)
			}
		}))
		resp.Body.Close()
	})
}

// TestCaptureWriterInformational: 1xx responses go to the client and are not
// recorded; the final status is.
func TestCaptureWriterInformational(t *testing.T) {
	for _, http2 := range []bool{false, true} {
		srvHook := &recordHook{capture: true}
		var captured *captureWriter
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw := newCaptureWriter(w, srvHook, 1<<20)
			captured = cw
			cw.Header().Set("Link", "</style.css>; rel=preload")
			cw.WriteHeader(http.StatusEarlyHints)
			cw.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(cw, "final")
		}))
		srv.EnableHTTP2 = http2
		srv.StartTLS()
		var got1xx []int
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, _ textproto.MIMEHeader) error { got1xx = append(got1xx, code); return nil },
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if len(got1xx) != 1 || got1xx[0] != 103 {
			t.Fatalf("http2=%v: client saw 1xx %v, want [103]", http2, got1xx)
		}
		if resp.StatusCode != 200 || string(body) != "final" || srvHook.status != 200 || captured.status != 200 || string(captured.body) != "final" {
			t.Fatalf("http2=%v: final %d %q, recorded %d %q", http2, resp.StatusCode, body, captured.status, captured.body)
		}
	}
}

// dropRecorder is a recordHook that notes when the capture was dropped.
type dropRecorder struct {
	recordHook
	drops int
}

func (h *dropRecorder) dropped(bool) { h.drops++ }

// TestCaptureWriterStreamBound: a flushed response still streaming more
// than maxStream after its first flush is dropped (and the hook told at
// once); one that ends in time is kept; a negative maxStream drops at the
// first flush.
func TestCaptureWriterStreamBound(t *testing.T) {
	tests := []struct {
		name      string
		maxStream time.Duration
		write     time.Duration // after the first flush, a write
		end       time.Duration // and the end
		complete  bool
		dropAt    string // "write", "end", "flush" or ""
	}{
		{"in time", time.Second, time.Second, time.Second, true, ""},
		{"overdue at a write", time.Second, 2 * time.Second, 2 * time.Second, false, "write"},
		{"overdue at the end", time.Second, 0, 2 * time.Second, false, "end"},
		{"no bound", 0, time.Hour, time.Hour, true, ""},
		{"streams never stored", -1, 0, 0, false, "flush"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			hook := &dropRecorder{recordHook: recordHook{capture: true}}
			cw := newCaptureWriter(httptest.NewRecorder(), hook, 1<<20)
			cw.now, cw.maxStream = func() time.Time { return now }, tc.maxStream
			start := now
			io.WriteString(cw, "a")
			cw.Flush()
			if got := hook.drops == 1; got != (tc.dropAt == "flush") {
				t.Fatalf("after the flush: dropped %d times", hook.drops)
			}
			now = start.Add(tc.write)
			io.WriteString(cw, "b")
			if got := hook.drops == 1; got != (tc.dropAt == "flush" || tc.dropAt == "write") {
				t.Fatalf("after the write: dropped %d times", hook.drops)
			}
			now = start.Add(tc.end)
			if got := cw.complete(); got != tc.complete {
				t.Fatalf("complete = %v, want %v", got, tc.complete)
			}
			if want := btoi(tc.dropAt != ""); hook.drops != want {
				t.Fatalf("dropped %d times, want %d", hook.drops, want)
			}
			if tc.complete && string(cw.body) != "ab" {
				t.Fatalf("body %q", cw.body)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// panickyWriter is a ResponseWriter below the cache whose Write panics.
type panickyWriter struct{ h http.Header }

func (p *panickyWriter) Header() http.Header       { return p.h }
func (p *panickyWriter) WriteHeader(int)           {}
func (p *panickyWriter) Write([]byte) (int, error) { panic("the writer below broke") }

// TestPumpSurvivesPanickingWriter: when the client is written to by the
// pump (a goroutine of its own), a ResponseWriter below that panics ends
// the client's writes as a failed write would, instead of crashing the
// process from a goroutine net/http does not recover.
func TestPumpSurvivesPanickingWriter(t *testing.T) {
	p := startPump(&panickyWriter{h: http.Header{}}, nil)
	p.push([]byte("body"), false)
	if err := p.end(false); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("end = %v, want the panic as an error", err)
	}
}
