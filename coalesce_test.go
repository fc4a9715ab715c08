package httpcache_test

import (
	"context"
	"errors"
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
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
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

// TestCoalesceColdRequests: a thousand concurrent misses of one cold URL
// make one handler call; the others wait for it and are all served its
// response.
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

// racedReads is a memory store seen as a shared one, so that the Cache
// writes to it in the background. Its writes are held until a read lets
// them land: the next read once armed, which reads the store, then lets the
// writes land (and the Cache forget the fetch that made them), and only then
// answers — as a read that reached the store just before the writes did.
type racedReads struct {
	m       *memory.Store
	armed   atomic.Bool
	release chan struct{} // closed: the held writes go ahead
	land    func()        // waits for them to have landed
}

func newRacedReads() *racedReads {
	return &racedReads{m: memory.New(memory.Options{}), release: make(chan struct{})}
}

func (s *racedReads) Get(ctx context.Context, k string) ([]byte, error) {
	v, err := s.m.Get(ctx, k)
	s.landIfArmed()
	return v, err
}

func (s *racedReads) landIfArmed() {
	if s.armed.CompareAndSwap(true, false) {
		close(s.release)
		s.land()
	}
}

func (s *racedReads) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	<-s.release
	return s.m.Set(ctx, k, v, ttl)
}

func (s *racedReads) Delete(ctx context.Context, k ...string) error { return s.m.Delete(ctx, k...) }

// racedPool is racedReads read through GetMulti as a pool of servers is,
// in parallel: the first key (the primary key) is answered after the
// writes land, the others (the variant) before.
type racedPool struct{ *racedReads }

func (s racedPool) GetMulti(ctx context.Context, keys ...string) ([][]byte, error) {
	vals := make([][]byte, len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		if i == 0 {
			s.landIfArmed()
		}
		v, err := s.m.Get(ctx, keys[i])
		switch {
		case err == nil:
			vals[i] = v
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return vals, nil
}

// TestStoredResponseFoundByNextRequest: a request made after a response was
// served as stored is answered from the store or from that response, never
// by a second handler call — also when its read of the store raced with the
// response's writes: it missed them, and by the time it looked for the
// fetch in progress, the writes had landed and the fetch was over; or it
// read the URL's new Vary index, but not the variant written before it
// (servers of a pool read in parallel), and so looked for the fetch under
// the variant's key, not under the URL's, which the fetch had begun with.
func TestStoredResponseFoundByNextRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		vary  bool
		store func(*racedReads) httpcache.Store
	}{
		{"missed the writes", false, func(s *racedReads) httpcache.Store { return s }},
		{"missed the writes, with Vary", true, func(s *racedReads) httpcache.Store { return s }},
		{"read the index, not the variant", true, func(s *racedReads) httpcache.Store { return racedPool{s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRacedReads()
			c := httpcache.New(tc.store(s), httpcache.Options{Logger: discardLogger(),
				Guard: httpcache.GuardOptions{Timeout: time.Minute}}) // the held reads are not failures
			s.land = c.Wait
			var calls atomic.Int64
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Cache-Control", "max-age=60")
				if tc.vary {
					w.Header().Set("Vary", "Accept-Language")
				}
				io.WriteString(w, "hello "+r.Header.Get("Accept-Language"))
			}))
			req := get("http://example.com/a", "Accept-Language", "fr")
			if res := do(t, h, req); res.cacheStatus() != "httpcache; fwd=uri-miss; stored" {
				t.Fatalf("first: %q", res.cacheStatus())
			}
			s.armed.Store(true)
			res := do(t, h, req)
			if s.armed.Load() {
				t.Fatal("the second request did not read the store: the writes never raced with it")
			}
			if res.body != "hello fr" || calls.Load() != 1 {
				t.Errorf("second: %q %q; the handler ran %d times, want 1", res.body, res.cacheStatus(), calls.Load())
			}
			c.Wait()
		})
	}
}

// TestCoalesceRequestThatCannotShareDoesNotLead: a request whose response
// could never be shared (its own Cache-Control: no-store, an Authorization
// header) does not lead its URL's fetch: the ordinary requests that follow
// it collapse into one handler call of their own instead of each waiting
// for it and then calling the handler.
func TestCoalesceRequestThatCannotShareDoesNotLead(t *testing.T) {
	tests := []struct {
		name   string
		header string
		value  string
		// ttl: the response says nothing, and is kept for Policy.TTL,
		// which a response to a request with a Cookie never is.
		ttl bool
	}{
		{"request no-store", "Cache-Control", "no-store", false},
		{"authorization", "Authorization", "Bearer secret", false},
		{"cookie, under Policy.TTL", "Cookie", "session=alice", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 10
			var opts httpcache.Options
			if tc.ttl {
				opts.Policy.TTL = time.Minute
			}
			e := newEnv(t, opts)
			g := newGate(func(w http.ResponseWriter, r *http.Request) {
				if !tc.ttl {
					w.Header().Set("Cache-Control", "max-age=60")
				}
				io.WriteString(w, "the page")
			})
			h := e.cache.Handler(g)
			first := make(chan *httptest.ResponseRecorder)
			go func() {
				r := httptest.NewRequest("GET", "/page", nil)
				r.Header.Set(tc.header, tc.value)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				first <- rec
			}()
			testwait.For(t, "the first request's handler call", func() bool { return g.calls.Load() == 1 })
			done := make(chan []*httptest.ResponseRecorder)
			go func() {
				done <- parallel(h, n, func(int) *http.Request { return httptest.NewRequest("GET", "/page", nil) })
			}()
			testwait.For(t, "the others to call the handler or wait", func() bool {
				return g.calls.Load()+e.cache.Stats().Waiting == n+1
			})
			close(g.release)
			<-first
			recs := <-done
			if got := g.calls.Load(); got > 2 {
				t.Fatalf("handler called %d times for %d requests behind one with %s: %s; want at most 2",
					got, n, tc.header, tc.value)
			}
			for i, rec := range recs {
				if rec.Code != 200 || rec.Body.String() != "the page" {
					t.Fatalf("request %d: %d %q", i, rec.Code, rec.Body.String())
				}
			}
		})
	}
}

// TestCoalesceCookiedWaitersFetchAtOnceWhenACookiedLeaderIsRefused: under
// Policy.TTL, a response that says nothing is not stored for a request with
// a Cookie (as every browser's request to most sites has). When the leader
// is refused for its cookie and the requests waiting on it carry cookies
// too, each of theirs would be refused alike: they call the handler at
// once, each, as they did before leaders refused for their own request
// were made lost, rather than one after another, each electing the next
// leader only once the previous one's handler call has ended.
func TestCoalesceCookiedWaitersFetchAtOnceWhenACookiedLeaderIsRefused(t *testing.T) {
	const n = 5
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute}, LockTimeout: time.Hour})
	var calls atomic.Int64
	first, others := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(others) })
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-first
		} else {
			<-others
		}
		io.WriteString(w, "the page for "+r.Header.Get("Cookie"))
	}))
	cookied := func(i int) *http.Request {
		r := httptest.NewRequest("GET", "/page", nil)
		r.Header.Set("Cookie", fmt.Sprintf("session=%d", i))
		return r
	}
	go h.ServeHTTP(httptest.NewRecorder(), cookied(-1))
	testwait.For(t, "the leader's handler call", func() bool { return calls.Load() == 1 })
	go parallel(h, n, cookied)
	testwait.For(t, "the others to wait on the leader", func() bool { return e.cache.Stats().Waiting == n })
	close(first)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the handler was called %d times: the leader's and %d of the %d waiters'", calls.Load(), calls.Load()-1, n)
		}
	})
	testwait.For(t, fmt.Sprintf("all %d waiters to call the handler at once", n), func() bool { return calls.Load() == n+1 })
}

// TestCollapsedRequestsEditingHeaderInPlaceLeaveEachOther: requests
// collapsed into one fetch are each served the stored response with value
// slices of their own: a middleware above the cache that edits its
// response's values in place (under -race, concurrently) changes that
// response alone, neither its neighbours' nor the entry later hits get.
func TestCollapsedRequestsEditingHeaderInPlaceLeaveEachOther(t *testing.T) {
	const n = 50
	e := newEnv(t, httpcache.Options{})
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("X-Mark", "m")
		io.WriteString(w, "the one response")
	})
	inner := e.cache.Handler(g)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(valueMarker{w}, r)
	})
	done := make(chan []*httptest.ResponseRecorder)
	go func() {
		done <- parallel(outer, n, func(int) *http.Request { return httptest.NewRequest("GET", "/cold", nil) })
	}()
	testwait.For(t, "the leader to call the handler and the rest to wait", func() bool {
		return g.calls.Load() == 1 && e.cache.Stats().Waiting == n-1
	})
	close(g.release)
	for i, rec := range <-done {
		if got := rec.Header().Get("X-Mark"); got != "m+" {
			t.Fatalf("request %d (%s): X-Mark %q, want \"m+\"", i, rec.Header().Get("Cache-Status"), got)
		}
	}
	if res := do(t, outer, get("/cold")); res.header.Get("X-Mark") != "m+" {
		t.Fatalf("hit after: X-Mark %q, want \"m+\"", res.header.Get("X-Mark"))
	}
}
