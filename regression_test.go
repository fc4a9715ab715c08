package httpcache_test

// Regression tests for defects found in review of the nested-layer,
// coalescing and stale-serving code. Each names what used to go wrong.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

func TestRegressionNestedSamePKDeadlock(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute, Query: httpcache.QueryOptions{Sort: true}}})
	route := e.cache.With(func(p *httpcache.Policy) {
		p.TTL, p.Query = time.Minute, httpcache.QueryOptions{Sort: true, Deny: []string{"utm_source"}}
	})
	h := e.cache.Handler(route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p?id=1", nil).WithContext(ctx))
	if ctx.Err() != nil {
		t.Fatal("request returned only when its context expired: deadlocked on its own flight")
	}
}

func TestRegressionTakeoverUsesOuterRequest(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var seen string
	inner := e.cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.Path
		io.WriteString(w, "path "+r.URL.Path)
	}))
	h := e.cache.Handler(http.StripPrefix("/api", inner))
	res := do(t, h, get("/api/items"))
	if seen != "/items" {
		t.Fatalf("handler saw %q, want /items (body %q, %q)", seen, res.body, res.cacheStatus())
	}
}

func TestRegressionSubRequestTakeover(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var h http.Handler
	depth := 0
	h = e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/fragment" {
			io.WriteString(w, "fragment")
			return
		}
		if depth++; depth > 20 { // without this guard: fatal stack overflow
			io.WriteString(w, "recursed")
			return
		}
		sub := httptest.NewRecorder()
		h.ServeHTTP(sub, httptest.NewRequest("GET", "/fragment", nil).WithContext(r.Context()))
		io.WriteString(w, "page+"+sub.Body.String())
	}))
	res := do(t, h, get("/page"))
	if depth != 1 || res.body != "page+fragment" {
		t.Fatalf("depth %d, body %q", depth, res.body)
	}
}

func TestRegressionRetryAfterForeign304(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var version atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tag := `"v` + itoa(version.Load()) + `"`
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", tag)
		w.Header().Set("Last-Modified", lmStr)
		if r.Header.Get("If-Modified-Since") != "" { // checks only IMS
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body "+tag)
	}))
	do(t, h, get("/x"))
	e.clock.Advance(15 * time.Second)
	version.Store(2)
	do(t, h, get("/x"))
	res := do(t, h, get("/x"))
	if !isHit(res) || res.header.Get("Etag") == "" || res.header.Get("Cache-Control") == "" {
		t.Fatalf("stored entry lost fields: %q %v", res.body, res.header)
	}
}

func validating(heads *atomic.Int64, cc string) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "HEAD" && heads != nil {
			heads.Add(1)
		}
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("Etag", `"a"`)
		if r.Header.Get("If-None-Match") == `"a"` {
			w.WriteHeader(304)
			return
		}
		io.WriteString(w, "body")
	}}
}

func TestRegressionHeadRevalidationDeletes(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	c := validating(nil, "max-age=10")
	h := e.cache.Handler(c)
	do(t, h, get("/h"))
	e.clock.Advance(15 * time.Second)
	res := do(t, h, get("/h").with("HEAD"))
	if res.status != 200 || res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" {
		t.Fatalf("HEAD: %d %q", res.status, res.cacheStatus())
	}
	// The HEAD's 304 renewed the GET entry rather than deleting it.
	if res = do(t, h, get("/h")); !isHit(res) || res.body != "body" || c.n() != 2 {
		t.Fatalf("GET after HEAD revalidation: %q %q (calls %d): stored entry gone", res.body, res.cacheStatus(), c.n())
	}
}

func TestRegressionHeadSWRRefresh(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var heads atomic.Int64
	c := validating(&heads, "max-age=10, stale-while-revalidate=60")
	h := e.cache.Handler(c)
	do(t, h, get("/s"))
	e.clock.Advance(15 * time.Second)
	do(t, h, get("/s").with("HEAD"))
	testwait.For(t, "refresh", func() bool { return c.n() == 2 })
	time.Sleep(20 * time.Millisecond)
	if res := do(t, h, get("/s")); heads.Load() != 0 || !isHit(res) {
		t.Fatalf("refresh ran as HEAD %d times; next GET %q, calls %d", heads.Load(), res.cacheStatus(), c.n())
	}
}

func TestRegressionInjected304(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	handler := validating(nil, "max-age=10")
	route := e.cache.With(func(p *httpcache.Policy) { p.Query.Deny = []string{"utm_source"} })
	do(t, e.cache.Handler(handler), get("/p")) // stored by the outer's keys (earlier deploy / other path)
	e.clock.Advance(15 * time.Second)
	h := e.cache.Handler(route(handler))
	if res := do(t, h, get("/p")); res.status != 200 || res.body != "body" {
		t.Fatalf("unconditional GET got %d %q %q", res.status, res.body, res.cacheStatus())
	}
}

func TestRegressionTimeoutHandlerBetweenLayers(t *testing.T) { // run with -race
	e := newEnv(t, httpcache.Options{})
	inner := e.cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, "slow")
	}))
	h := e.cache.Handler(http.TimeoutHandler(inner, 10*time.Millisecond, "timeout"))
	do(t, h, get("/t"))
	time.Sleep(100 * time.Millisecond)
}

type panicStore struct {
	*memory.Store
	mu     sync.Mutex
	panics bool
}

func (p *panicStore) Get(ctx context.Context, k string) ([]byte, error) {
	p.mu.Lock()
	bad := p.panics
	p.mu.Unlock()
	if bad {
		panic("store client bug")
	}
	return p.Store.Get(ctx, k)
}
func (p *panicStore) set(b bool) { p.mu.Lock(); p.panics = b; p.mu.Unlock() }

func TestRegressionRefreshLookupPanic(t *testing.T) {
	clk := newClock()
	ps := &panicStore{Store: memory.New(memory.Options{Clock: clk.Now})}
	type plain struct{ httpcache.Store }
	c := httpcache.New(plain{ps}, httpcache.Options{Clock: clk.Now, Logger: discardLogger()})
	h := c.Handler(respond(200, map[string]string{"Cache-Control": "max-age=10, stale-while-revalidate=60"}, "x"))
	do(t, h, get("/r"))
	c.Wait()
	clk.Advance(15 * time.Second)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/r", nil)) // stale + refresh
	ps.set(true)
	time.Sleep(50 * time.Millisecond) // the refresh's lookup panics (recovered, logged)
	ps.set(false)
	clk.Advance(2 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/r", nil).WithContext(ctx))
	if ctx.Err() != nil {
		t.Fatalf("key wedged: waited on an unlanded flight until the client gave up (%q)", rec.Body.String())
	}
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

// TestRegressionLeasePerURLNotPerVariant: the lease is per variant, like the
// flights, so a miss for one variant does not wait on another variant's
// fetch. (Lease.Wait is long: were fr held back by en's lease, it would
// outlast the liveness bound.)
func TestRegressionLeasePerURLNotPerVariant(t *testing.T) {
	clk := newClock()
	st := &leasingStore{Store: memory.New(memory.Options{Clock: clk.Now})}
	c := httpcache.New(st, httpcache.Options{Clock: clk.Now, Lease: httpcache.LeaseOptions{TTL: time.Minute}})
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Language") == "en" {
			close(started)
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "in "+r.Header.Get("Accept-Language"))
	}))
	lang := func(l string) *http.Request {
		r := httptest.NewRequest("GET", "/v", nil)
		r.Header.Set("Accept-Language", l)
		return r
	}
	h.ServeHTTP(httptest.NewRecorder(), lang("de")) // index known: flights per variant
	go h.ServeHTTP(httptest.NewRecorder(), lang("en"))
	<-started
	done := make(chan string)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, lang("fr"))
		done <- rec.Body.String()
	}()
	select {
	case body := <-done:
		if body != "in fr" {
			t.Fatalf("fr: %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fr miss waited on the en fetch's lease")
	}
}

func TestRegressionSWRIgnoresClientLimits(t *testing.T) {
	for _, cc := range []string{"min-fresh=5", "max-stale=1"} {
		e := newEnv(t, httpcache.Options{})
		e.cache = httpcache.New(e.store, httpcache.Options{Clock: e.clock.Now, RequestDirectives: true})
		h := e.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=10, stale-while-revalidate=60"}, "x"))
		do(t, h, get("/d"))
		e.clock.Advance(40 * time.Second)
		if res := do(t, h, get("/d", "Cache-Control", cc)); isHit(res) || res.header.Get("Age") == "40" {
			t.Errorf("%s: %q age %s", cc, res.cacheStatus(), res.header.Get("Age"))
		}
	}
}
