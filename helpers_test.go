package httpcache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// env is one cache over a memory store with an injected clock.
type env struct {
	t     *testing.T
	clock *fakeclock.Clock
	store *memory.Store
	cache *httpcache.Cache
}

func newEnv(t *testing.T, opts httpcache.Options) *env {
	t.Helper()
	clk := newClock()
	store := memory.New(memory.Options{Clock: clk.Now})
	opts.Clock = clk.Now
	return &env{t: t, clock: clk, store: store, cache: httpcache.New(store, opts)}
}

// counter is a handler that counts its calls and answers with fn.
type counter struct {
	calls atomic.Int64
	fn    func(w http.ResponseWriter, r *http.Request)
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls.Add(1)
	c.fn(w, r)
}

func (c *counter) n() int64 { return c.calls.Load() }

// handlerFunc builds a counter that writes the given headers and body.
func respond(status int, header map[string]string, body string) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}}
}

// request is one test request.
type request struct {
	method string
	url    string
	header map[string]string
	tls    bool
}

func get(url string, kv ...string) request {
	r := request{method: http.MethodGet, url: url, header: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.header[kv[i]] = kv[i+1]
	}
	return r
}

func (r request) with(method string) request { r.method = method; return r }

// result is a recorded response.
type result struct {
	status int
	header http.Header
	body   string
}

// cacheStatus is the last (our) member of the Cache-Status list.
func (res result) cacheStatus() string {
	v := res.header.Values("Cache-Status")
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// do serves req through h and returns the response.
func do(t *testing.T, h http.Handler, req request) result {
	t.Helper()
	r := httptest.NewRequest(req.method, req.url, nil)
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	if req.tls {
		r.TLS = httpsState()
		r.URL.Scheme = "https"
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func isHit(res result) bool { return strings.HasSuffix(res.cacheStatus(), "; hit") }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// discardLogger keeps expected store failures out of the test output.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// clockKey is where a Cache with the default prefix keeps its purge clock.
const clockKey = "httpcache:v1:purge:seq"

// probedMem is a memory store seen as a shared store with a Counter. It
// counts reads of the purge clock; while slow is set, its reads time out in
// the middleware's guard (guardedCall: a purge's calls go through), counted
// in timeouts;
// and it holds the next write of a response once holdSet is set, until
// release is closed.
type probedMem struct {
	m          *memory.Store
	slow       atomic.Bool
	timeouts   atomic.Int64 // reads timed out by slow
	clockReads atomic.Int64
	holdSet    atomic.Bool
	held       chan struct{} // closed when a write is being held
	release    chan struct{}
	// holdMiss holds the next read that finds the purge clock missing,
	// before it returns, until releaseMiss is closed.
	holdMiss    atomic.Bool
	missHeld    chan struct{}
	releaseMiss chan struct{}
	// holdMarks holds the next read of a purge marker until releaseMarks
	// is closed.
	holdMarks    atomic.Bool
	marksHeld    chan struct{}
	releaseMarks chan struct{}
}

func newProbedMem() *probedMem {
	return &probedMem{m: memory.New(memory.Options{}), held: make(chan struct{}), release: make(chan struct{}),
		missHeld: make(chan struct{}), releaseMiss: make(chan struct{}),
		marksHeld: make(chan struct{}), releaseMarks: make(chan struct{})}
}

func (s *probedMem) Get(ctx context.Context, k string) ([]byte, error) {
	if k == clockKey {
		s.clockReads.Add(1)
	}
	if guardedCall(ctx) && s.slow.Load() {
		s.timeouts.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if strings.Contains(k, ":purge:h:") && s.holdMarks.CompareAndSwap(true, false) {
		close(s.marksHeld)
		<-s.releaseMarks
	}
	v, err := s.m.Get(ctx, k)
	if k == clockKey && errors.Is(err, store.ErrNotFound) && s.holdMiss.CompareAndSwap(true, false) {
		close(s.missHeld)
		<-s.releaseMiss
	}
	return v, err
}

func (s *probedMem) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if s.holdSet.CompareAndSwap(true, false) {
		close(s.held)
		<-s.release
	}
	return s.m.Set(ctx, k, v, ttl)
}

func (s *probedMem) Delete(ctx context.Context, k ...string) error { return s.m.Delete(ctx, k...) }

func (s *probedMem) Advance(ctx context.Context, n string, floor int64, ttl time.Duration) (int64, error) {
	return s.m.Advance(ctx, n, floor, ttl)
}

// collapse starts n requests for target through h, each sending its body to
// the channel returned, and waits until all are waiting on c's flight.
func collapse(t *testing.T, c *httpcache.Cache, h http.Handler, target string, n int) <-chan string {
	t.Helper()
	bodies := make(chan string, n)
	for range n {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			bodies <- rec.Body.String()
		}()
	}
	testwait.For(t, "the waiters", func() bool { return c.Stats().Waiting == int64(n) })
	return bodies
}

// leader starts a request for target through h, whose handler is g, and
// waits until g has been called; the body comes on the channel returned.
func lead(t *testing.T, h http.Handler, g *gate, target string) <-chan string {
	t.Helper()
	body := make(chan string, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		body <- rec.Body.String()
	}()
	testwait.For(t, "the leader's fetch", func() bool { return g.calls.Load() >= 1 })
	return body
}

// twoCaches returns two Caches on st with opts and no logs: two processes,
// in effect.
func twoCaches(st httpcache.Store, opts httpcache.Options) (*httpcache.Cache, *httpcache.Cache) {
	opts.Logger = discardLogger()
	return httpcache.New(st, opts), httpcache.New(st, opts)
}

// expectAll checks that the n bodies are all want.
func expectAll(t *testing.T, bodies <-chan string, n int, want string) {
	t.Helper()
	for range n {
		if b := <-bodies; b != want {
			t.Fatalf("a waiter got %q; want %q", b, want)
		}
	}
}

// taggedGate is a gated handler rendering version, read when it is called
// (before the gate), tagged t, with the Cache-Control cc.
func taggedGate(version *atomic.Int64, cc string) *gate {
	var g *gate
	g = newGate(nil)
	g.respond = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", r.Context().Value(versionKey{}).(int64))
	}
	return g
}

// withVersion passes version, as it is when the request reaches it, to h.
func withVersion(version *atomic.Int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, version.Load())))
	})
}

// sharedMem is a memory store seen as a shared store with a Counter, whose
// Advance of one key can be held on the wire, and whose reads time out in
// the middleware's guard while slow is set (see guardedCall: a purge's
// calls, which are not guarded, go through), counted in timeouts.
type sharedMem struct {
	m        *memory.Store
	block    atomic.Pointer[string]
	blocked  chan struct{}
	release  chan struct{}
	slow     atomic.Bool
	timeouts atomic.Int64 // reads timed out by slow
}

func (s *sharedMem) Get(ctx context.Context, k string) ([]byte, error) {
	if guardedCall(ctx) && s.slow.Load() {
		s.timeouts.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.m.Get(ctx, k)
}
func (s *sharedMem) Delete(ctx context.Context, k ...string) error { return s.m.Delete(ctx, k...) }
func (s *sharedMem) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.m.Set(ctx, k, v, ttl)
}
func (s *sharedMem) Advance(ctx context.Context, n string, f int64, ttl time.Duration) (int64, error) {
	if b := s.block.Load(); b != nil && *b == n && s.block.CompareAndSwap(b, nil) {
		close(s.blocked)
		<-s.release // a slow write: the command is on the wire
	}
	return s.m.Advance(ctx, n, f, ttl)
}

// guardedCall reports whether a store call is bounded by the middleware's
// guard: its deadline is seconds away at most. The tests whose stores ask
// give purges a PurgeTimeout of a minute (purgeUnbounded), so that a
// purge's calls, which are not guarded, are told apart.
func guardedCall(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < 10*time.Second
}

// purgeUnbounded is the PurgeTimeout of the tests whose stores tell
// guarded calls from a purge's (guardedCall).
const purgeUnbounded = time.Minute

type versionKey struct{}

// postBumps answers a POST by moving version on, with a 204, and passes
// other requests to get.
func postBumps(version *atomic.Int64, get http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			version.Add(1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		get(w, r)
	})
}

// languagePages answers a GET with "<Accept-Language> v<version>", varying
// on Accept-Language and cacheable for X-Ttl seconds (60 without it); a
// POST moves the version on, which a GET after it must see.
type languagePages struct{ version atomic.Int64 }

func newLanguagePages() *languagePages {
	p := &languagePages{}
	p.version.Store(1)
	return p
}

func (p *languagePages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		p.version.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ttl := "60"
	if v := r.Header.Get("X-Ttl"); v != "" {
		ttl = v
	}
	w.Header().Set("Cache-Control", "max-age="+ttl)
	w.Header().Set("Vary", "Accept-Language")
	io.WriteString(w, r.Header.Get("Accept-Language")+" v"+itoa(p.version.Load()))
}

// leaseTable grants leases in process, like a store's Leaser, and counts
// the calls.
type leaseTable struct {
	mu     sync.Mutex
	leases map[string]string
	calls  atomic.Int64
}

func (l *leaseTable) Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	l.calls.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.leases[name]; ok {
		return false, nil
	}
	if l.leases == nil {
		l.leases = map[string]string{}
	}
	l.leases[name] = token
	return true, nil
}

func (l *leaseTable) Release(ctx context.Context, name, token string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leases[name] == token {
		delete(l.leases, name)
	}
	return nil
}

// held reports how many leases are held.
func (l *leaseTable) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.leases)
}

// leasingStore is a memory store with leases.
type leasingStore struct {
	*memory.Store
	leaseTable
}
