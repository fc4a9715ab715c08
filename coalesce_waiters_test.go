package httpcache_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// TestCoalesceWaitersElectOneLeaderWhenTheLeaderIsLost: when the leader's
// fetch comes to nothing for reasons of its own request — its client went
// away mid-fetch (a proxy then answers 502), or its handler call panicked
// — the requests that waited on it elect one new leader and wait on it,
// rather than each calling the handler.
func TestCoalesceWaitersElectOneLeaderWhenTheLeaderIsLost(t *testing.T) {
	const n = 10
	tests := []struct {
		name string
		lose func(cancel context.CancelFunc, panicNext *atomic.Bool, lost chan struct{})
	}{
		{"client gone", func(cancel context.CancelFunc, _ *atomic.Bool, _ chan struct{}) { cancel() }},
		{"panic", func(_ context.CancelFunc, panicNext *atomic.Bool, lost chan struct{}) {
			panicNext.Store(true)
			close(lost)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			var calls atomic.Int64
			var panicNext atomic.Bool
			release, lost := make(chan struct{}), make(chan struct{})
			origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					select {
					case <-lost:
					case <-r.Context().Done(): // as a reverse proxy whose client went away
					}
					if panicNext.Load() {
						panic(http.ErrAbortHandler)
					}
					http.Error(w, "upstream request canceled", http.StatusBadGateway)
					return
				}
				<-release
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "the page")
			})
			srv := httptest.NewServer(e.cache.Handler(origin))
			defer srv.Close()
			get := func(ctx context.Context) (int, string, error) {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/page", nil)
				resp, err := srv.Client().Do(req)
				if err != nil {
					return 0, "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), err
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go get(ctx)
			testwait.For(t, "the leader's handler call", func() bool { return calls.Load() == 1 })
			type result struct {
				code int
				body string
				err  error
			}
			results := make(chan result, n)
			for range n {
				go func() {
					code, body, err := get(context.Background())
					results <- result{code, body, err}
				}()
			}
			testwait.For(t, "the waiters", func() bool { return e.cache.Stats().Waiting == n })
			tc.lose(cancel, &panicNext, lost)
			testwait.For(t, "a new handler call", func() bool { return calls.Load() >= 2 })
			close(release)
			for range n {
				r := <-results
				if r.err != nil || r.code != 200 || r.body != "the page" {
					t.Fatalf("a waiter got %d %q (%v)", r.code, r.body, r.err)
				}
			}
			if got := calls.Load(); got > 2 {
				t.Fatalf("handler called %d times: %d waiters behind a lost leader must elect one new leader (want at most 2)", got, n)
			}
		})
	}
}

// TestCoalesceWaitersStopWaitingAfterLockTimeout: requests waiting on a
// fetch that does not end stop waiting once Options.LockTimeout has
// passed; one of them calls the handler in the leader's place and the
// others are served what it stored.
func TestCoalesceWaitersStopWaitingAfterLockTimeout(t *testing.T) {
	const n = 4
	e := newEnv(t, httpcache.Options{LockTimeout: time.Second})
	var calls atomic.Int64
	hang := make(chan struct{})
	defer close(hang)
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-hang // a fetch that does not end while the others wait
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "the page")
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/stuck", nil))
	testwait.For(t, "the leader's handler call", func() bool { return calls.Load() == 1 })
	done := make(chan []*httptest.ResponseRecorder)
	go func() {
		done <- parallel(h, n, func(int) *http.Request { return httptest.NewRequest("GET", "/stuck", nil) })
	}()
	var recs []*httptest.ResponseRecorder
	select {
	case recs = <-done:
	case <-time.After(testwait.Timeout):
		t.Fatalf("waiters still held after %v behind a fetch that does not end (lock timeout 1s)", testwait.Timeout)
	}
	collapsed := 0
	for i, rec := range recs {
		if rec.Code != 200 || rec.Body.String() != "the page" {
			t.Fatalf("request %d: %d %q", i, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Cache-Status") == "httpcache; fwd=uri-miss; collapsed" {
			collapsed++
		}
	}
	if got := calls.Load(); got != 2 || collapsed != n-1 {
		t.Fatalf("handler called %d times, %d of %d waiters collapsed; want one new leader (2 calls) serving the other %d",
			got, collapsed, n, n-1)
	}
}

// TestCoalesceWaitersDoNotWaitForTheLeadersSlowClient: the requests
// collapsed into a fetch do not wait for the leader's own client, however
// slowly it reads (here: never, a 16 MiB body). A storable response is
// captured at the handler's pace and they are served it (one handler
// call); one that turns out too large to store (no Content-Length, past
// MaxBodySize) releases them as soon as the copy passes the limit, to call
// the handler each. Either way well before the lock timeout.
func TestCoalesceWaitersDoNotWaitForTheLeadersSlowClient(t *testing.T) {
	const (
		n    = 4
		size = 16 << 20
	)
	tests := []struct {
		name       string
		maxBody    int64
		length     bool // the handler declares a Content-Length
		wantCalls  int64
		wantStatus string
		// oneWrite: the handler writes its body in one Write, and the
		// waiters arrive while that Write is blocked on the leader's
		// client (as with a handler that renders its page, then writes it).
		oneWrite bool
	}{
		{"storable", 32 << 20, true, 1, "httpcache; fwd=uri-miss; collapsed", false},
		// Each waiter's own header goes out before its body passes the
		// limit: it cannot say the response will not be stored.
		{"too large", 1 << 20, false, n + 1, "httpcache; fwd=uri-miss; stored", false},
		{"storable, written at once, waiters arriving during the write", 32 << 20, true, 1, "httpcache; fwd=uri-miss; collapsed", true},
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{MaxBodySize: tc.maxBody, LockTimeout: time.Minute})
			writing := make(chan struct{})
			g := newGate(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				if tc.length {
					w.Header().Set("Content-Length", fmt.Sprint(size))
				}
				if tc.oneWrite {
					w.(http.Flusher).Flush() // the header out first
					close(writing)
					w.Write(body)
					return
				}
				for p := body; len(p) > 0; p = p[32<<10:] {
					w.Write(p[:32<<10]) // as a proxy copies, 32 KiB at a time
				}
			})
			srv := httptest.NewServer(e.cache.Handler(g))
			defer srv.Close()

			// The leader's client sends its request and never reads.
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetReadBuffer(4 << 10)
			}
			if _, err := io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: "+srv.Listener.Addr().String()+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			testwait.For(t, "the leader's handler call", func() bool { return g.calls.Load() == 1 })
			if tc.oneWrite {
				close(g.release)
				<-writing
			}

			type result struct {
				n      int
				status string
				err    error
			}
			results := make(chan result, n)
			for range n {
				go func() {
					resp, err := srv.Client().Get(srv.URL + "/big")
					if err != nil {
						results <- result{err: err}
						return
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					results <- result{len(b), resp.Header.Get("Cache-Status"), err}
				}()
			}
			testwait.For(t, "the waiters", func() bool { return e.cache.Stats().Waiting == n })
			if !tc.oneWrite {
				close(g.release)
			}
			deadline := time.After(testwait.Timeout) // well under the lock timeout (a minute)
			for range n {
				select {
				case r := <-results:
					if r.err != nil || r.n != size || r.status != tc.wantStatus {
						t.Fatalf("a waiter got %d bytes, Cache-Status %q (%v)", r.n, r.status, r.err)
					}
				case <-deadline:
					t.Fatalf("waiters still held after %v by a leader whose client reads nothing", testwait.Timeout)
				}
			}
			if got := g.calls.Load(); got != tc.wantCalls {
				t.Fatalf("handler called %d times; want %d", got, tc.wantCalls)
			}
		})
	}
}
