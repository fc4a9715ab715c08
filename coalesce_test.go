package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// gate is a handler that counts calls and blocks each until released.
type gate struct {
	calls   atomic.Int64
	release chan struct{}
	respond func(w http.ResponseWriter, r *http.Request)
}

func newGate(respond func(w http.ResponseWriter, r *http.Request)) *gate {
	return &gate{release: make(chan struct{}), respond: respond}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	<-g.release
	g.respond(w, r)
}

// parallel serves n copies of req through h concurrently, and returns the
// responses once all have finished.
func parallel(h http.Handler, n int, req func(i int) *http.Request) []*httptest.ResponseRecorder {
	recs := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		recs[i] = httptest.NewRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(recs[i], req(i))
		}()
	}
	wg.Wait()
	return recs
}

func TestCoalesceColdRequests(t *testing.T) {
	const n = 1000
	e := newEnv(t, httpcache.Options{})
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "the one response")
	})
	h := e.cache.Handler(g)
	done := make(chan []*httptest.ResponseRecorder)
	go func() {
		done <- parallel(h, n, func(int) *http.Request { return httptest.NewRequest("GET", "/cold", nil) })
	}()
	testwait.For(t, "the leader to call the handler and the rest to wait", func() bool {
		return g.calls.Load() == 1 && e.cache.Stats().Waiting == n-1
	})
	close(g.release)
	recs := <-done
	if g.calls.Load() != 1 {
		t.Fatalf("handler called %d times for %d concurrent cold requests", g.calls.Load(), n)
	}
	collapsed := 0
	for i, rec := range recs {
		if rec.Code != 200 || rec.Body.String() != "the one response" {
			t.Fatalf("request %d: %d %q", i, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Cache-Status") == "httpcache; fwd=uri-miss; collapsed" {
			collapsed++
		}
	}
	if collapsed != n-1 || e.cache.Stats().Coalesced != n-1 {
		t.Fatalf("%d responses say collapsed, %d counted; want %d", collapsed, e.cache.Stats().Coalesced, n-1)
	}
}

// TestCoalesceNeverSharesUnstorable: when the leader's response turns out
// not storable, every waiter runs the handler itself.
func TestCoalesceNeverSharesUnstorable(t *testing.T) {
	tests := []struct {
		name    string
		opts    httpcache.Options
		respond func(w http.ResponseWriter, r *http.Request)
	}{
		{"private", httpcache.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "private, max-age=60")
			fmt.Fprintf(w, "for %s", r.Header.Get("X-User"))
		}},
		{"set-cookie", httpcache.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Set-Cookie", "session="+r.Header.Get("X-User"))
			fmt.Fprintf(w, "for %s", r.Header.Get("X-User"))
		}},
		{"no-store", httpcache.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprintf(w, "for %s", r.Header.Get("X-User"))
		}},
		{"over the size limit", httpcache.Options{MaxBodySize: 8}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "for %s, a long body", r.Header.Get("X-User"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20
			e := newEnv(t, tc.opts)
			g := newGate(tc.respond)
			h := e.cache.Handler(g)
			done := make(chan []*httptest.ResponseRecorder)
			go func() {
				done <- parallel(h, n, func(i int) *http.Request {
					r := httptest.NewRequest("GET", "/mine", nil)
					r.Header.Set("X-User", fmt.Sprint("user", i))
					return r
				})
			}()
			testwait.For(t, "the waiters", func() bool { return e.cache.Stats().Waiting == n-1 })
			close(g.release)
			recs := <-done
			if g.calls.Load() != n {
				t.Fatalf("handler called %d times; every waiter must run it itself (%d)", g.calls.Load(), n)
			}
			for i, rec := range recs {
				want := fmt.Sprintf("for user%d", i)
				if got := rec.Body.String(); len(got) < len(want) || got[:len(want)] != want {
					t.Fatalf("request %d got %q: another user's response", i, got)
				}
			}
		})
	}
}

// TestCoalesceVaryMismatch: a waiter whose request headers select another
// variant than the leader's response runs the handler itself.
func TestCoalesceVaryMismatch(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "in %s", r.Header.Get("Accept-Language"))
	})
	h := e.cache.Handler(g)
	langs := []string{"en", "fr", "en", "de", "en"}
	done := make(chan []*httptest.ResponseRecorder)
	go func() {
		done <- parallel(h, len(langs), func(i int) *http.Request {
			r := httptest.NewRequest("GET", "/v", nil)
			r.Header.Set("Accept-Language", langs[i])
			return r
		})
	}()
	testwait.For(t, "the waiters", func() bool { return e.cache.Stats().Waiting == int64(len(langs)-1) })
	close(g.release)
	for i, rec := range <-done {
		if rec.Body.String() != "in "+langs[i] {
			t.Fatalf("request %d (%s) got %q", i, langs[i], rec.Body.String())
		}
	}
}

// TestCoalesceWaiterCancelled: a waiter whose client goes away returns at
// once, while the leader is still running.
func TestCoalesceWaiterCancelled(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	g := newGate(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	defer close(g.release)
	h := e.cache.Handler(g)
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	testwait.For(t, "the leader", func() bool { return g.calls.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil).WithContext(ctx))
		close(returned)
	}()
	testwait.For(t, "the waiter", func() bool { return e.cache.Stats().Waiting == 1 })
	cancel()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled waiter kept waiting for the leader")
	}
}

// TestSlowKeyDoesNotBlockOthers: while one key's handler hangs, hits and
// misses on other keys go on.
func TestSlowKeyDoesNotBlockOthers(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	release := make(chan struct{})
	defer close(release)
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.URL.Path)
	}))
	do(t, h, get("/fast"))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	testwait.For(t, "the slow key's waiter", func() bool { return e.cache.Stats().Waiting == 1 })
	finished := make(chan struct{})
	go func() {
		if res := do(t, h, get("/fast")); !isHit(res) {
			t.Errorf("other key: %q", res.cacheStatus())
		}
		do(t, h, get("/other"))
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("a hit on another key waited for the slow key")
	}
}
