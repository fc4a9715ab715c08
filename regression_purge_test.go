package httpcache_test

// Regression tests for defects found in review of the purge code.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// sharedMem is a memory store seen as a shared store with a Counter, whose
// Advance of one key can be held on the wire, and whose reads time out in
// the middleware's guard while slow is set (see guardedCall: a purge's
// calls, which are not guarded, go through).
type sharedMem struct {
	m       *memory.Store
	block   atomic.Pointer[string]
	blocked chan struct{}
	release chan struct{}
	slow    atomic.Bool
}

func (s *sharedMem) Get(ctx context.Context, k string) ([]byte, error) {
	if guardedCall(ctx) && s.slow.Load() {
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

func hardMarkerKey(tag string) string {
	sum := sha256.Sum256([]byte(tag))
	return "httpcache:v1:purge:h:" + hex.EncodeToString(sum[:16])
}

// TestRegressionMarkerNeverLowered: purge A's marker write is slow; purge B
// of the same tag finishes first; A's write landing afterwards must not
// lower the marker below B's.
func TestRegressionMarkerNeverLowered(t *testing.T) {
	st := &sharedMem{m: memory.New(memory.Options{}), blocked: make(chan struct{}), release: make(chan struct{})}
	c := httpcache.New(st, httpcache.Options{})
	var version atomic.Int64
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	getx := func() (string, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		c.Wait()
		return rec.Body.String(), rec.Header().Get("Cache-Status")
	}
	getx() // the clock exists
	k := hardMarkerKey("t")
	st.block.Store(&k)
	aDone := make(chan error)
	go func() { aDone <- c.PurgeTags(context.Background(), "t") }() // purge A, slow marker write
	<-st.blocked
	if err := c.PurgeURL(context.Background(), "http://example.com/x"); err != nil { // another purge moves the clock
		t.Fatal(err)
	}
	getx() // fetched now: v0
	version.Store(1)
	if err := c.PurgeTags(context.Background(), "t"); err != nil { // purge B returns nil
		t.Fatal(err)
	}
	close(st.release) // A's write lands now
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if b, s := getx(); b == "v0" {
		t.Fatalf("a response fetched before purge B was served after it returned (%s)", s)
	}
}

// TestRegression304WithTooManyTags: a 304 whose tags break the limits must
// not re-store the entry with its old tags.
func TestRegression304WithTooManyTags(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var n atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", `"x"`)
		if n.Add(1) == 1 {
			w.Header().Set("Cache-Tag", "old")
			fmt.Fprint(w, "body")
			return
		}
		var tags []string
		for i := range 70 {
			tags = append(tags, fmt.Sprintf("t%d", i))
		}
		w.Header().Set("Cache-Tag", strings.Join(append(tags, "new"), " "))
		w.WriteHeader(http.StatusNotModified)
	}))
	do(t, h, get("/p"))
	e.clock.Advance(11 * time.Second)
	if res := do(t, h, get("/p")); res.body != "body" {
		t.Fatalf("revalidated: %q %q", res.body, res.cacheStatus())
	}
	if err := e.cache.PurgeTags(context.Background(), "new"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/p")); isHit(res) {
		t.Fatal("stored without the tags the 304 gave: it survived their purge")
	}
}

// TestRegressionStaleIfErrorAfterPurge: a purge that finishes while the
// handler fails keeps the stale response from standing in for the error.
func TestRegressionStaleIfErrorAfterPurge(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var failing atomic.Bool
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprint(w, "old")
	})
	close(g.release)
	h := e.cache.Handler(g)
	do(t, h, get("/s"))
	e.clock.Advance(20 * time.Second)
	failing.Store(true)
	g2 := newGate(g.respond)
	h2 := e.cache.Handler(g2)
	done := make(chan result)
	go func() { done <- do(t, h2, get("/s")) }()
	testwait.For(t, "the fetch", func() bool { return g2.calls.Load() == 1 })
	if err := e.cache.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	close(g2.release)
	if res := <-done; res.body == "old" || res.status != http.StatusBadGateway {
		t.Fatalf("a purged stale response stood in for the error: %d %q", res.status, res.body)
	}
}

// TestRegressionWaiterAfterPurgeWithSlowStore: while the store's reads time
// out, a request made after a purge returned joins a fetch that began
// before it; it must not be answered with that fetch's response.
func TestRegressionWaiterAfterPurgeWithSlowStore(t *testing.T) {
	st := &sharedMem{m: memory.New(memory.Options{})}
	c := httpcache.New(st, httpcache.Options{Logger: discardLogger(), PurgeTimeout: purgeUnbounded})
	var version atomic.Int64
	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", r.Context().Value(versionKey{}).(int64))
	})
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The data is read when the handler starts, before the gate.
		g.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, version.Load())))
	}))
	st.slow.Store(true)
	leader := make(chan result)
	go func() { leader <- do(t, h, get("/p")) }()
	testwait.For(t, "the leader's fetch", func() bool { return g.calls.Load() == 1 })
	version.Store(1)
	if err := c.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	waiter := make(chan result)
	go func() { waiter <- do(t, h, get("/p")) }()
	testwait.For(t, "the waiter", func() bool { return c.Stats().Waiting == 1 })
	close(g.release)
	if res := <-leader; res.body != "v0" {
		t.Fatalf("leader: %q", res.body)
	}
	if res := <-waiter; res.body != "v1" {
		t.Fatalf("a request made after the purge returned was answered with a response fetched before it: %q %q", res.body, res.cacheStatus())
	}
}

type versionKey struct{}

// TestRegressionTagHeaderNeverReachesClient: the tag header is removed
// from every response that goes through the cache, stored or not.
func TestRegressionTagHeaderNeverReachesClient(t *testing.T) {
	e := newEnv(t, httpcache.Options{Bypass: func(r *http.Request) bool { return r.URL.Query().Has("bypass") }})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Cache-Tag", "tenant:42")
		fmt.Fprint(w, "x")
	}))
	for _, req := range []request{
		get("/a"),
		get("/a").with("HEAD"),
		get("/b", "Range", "bytes=0-0"),
		get("/b", "If-Match", `"x"`),
		get("/b?bypass"),
		get("/b").with(http.MethodPost),
		get("/b").with(http.MethodDelete),
		get("/b").with(http.MethodOptions),
	} {
		if res := do(t, h, req); res.header.Get("Cache-Tag") != "" {
			t.Errorf("%s %s %v: the tag header reached the client: %q", req.method, req.url, req.header, res.header.Get("Cache-Tag"))
		}
	}
}

// TestRegressionBypassKeepsHijack: an upgrade request bypasses the cache
// through a writer that strips the tag header; the handler can still take
// the connection over, by type assertion or ResponseController.
func TestRegressionBypassKeepsHijack(t *testing.T) {
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

// TestRegressionCorruptPurgeClock: a purge clock holding garbage is
// dropped and re-created, by a lookup or by a purge, instead of failing
// every lookup (and opening the circuit breaker) until repaired by hand.
func TestRegressionCorruptPurgeClock(t *testing.T) {
	const clockKey = "httpcache:v1:purge:seq"
	for _, healer := range []string{"lookup", "purge"} {
		t.Run(healer, func(t *testing.T) {
			st := &sharedMem{m: memory.New(memory.Options{})}
			c := httpcache.New(st, httpcache.Options{Logger: discardLogger()})
			var version atomic.Int64
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("Cache-Tag", "t")
				fmt.Fprintf(w, "v%d", version.Load())
			}))
			do(t, h, get("/p"))
			c.Wait()
			if err := st.m.Set(context.Background(), clockKey, []byte("garbage"), time.Hour); err != nil {
				t.Fatal(err)
			}
			if healer == "lookup" {
				for i := range 10 {
					if res := do(t, h, get("/p")); res.body != "v0" || (i > 0 && !isHit(res)) {
						t.Fatalf("request %d with a corrupt clock: %q %q", i, res.body, res.cacheStatus())
					}
					c.Wait()
				}
			}
			version.Store(1)
			if err := c.PurgeTags(context.Background(), "t"); err != nil {
				t.Fatalf("purge with a corrupt clock: %v", err)
			}
			if res := do(t, h, get("/p")); res.body != "v1" {
				t.Fatalf("after the purge: %q %q", res.body, res.cacheStatus())
			}
			c.Wait()
			if res := do(t, h, get("/p")); !isHit(res) {
				t.Fatalf("not cached again: %q", res.cacheStatus())
			}
			if v, _ := st.m.Get(context.Background(), clockKey); string(v) == "garbage" {
				t.Fatal("the corrupt clock is still there")
			}
			if n := c.Stats().StoreErrors; n > 1 {
				t.Fatalf("%d store errors: the corrupt clock kept failing lookups", n)
			}
		})
	}
}

// TestRegressionStackedCachesShareTags: with two Caches stacked, the outer
// one stores what the inner one serves, with the same tags — whether the
// inner one fetched it (tags from the header and from Tag) or served it
// from its store — so a tag purge of the outer Cache reaches it.
func TestRegressionStackedCachesShareTags(t *testing.T) {
	outer := newEnv(t, httpcache.Options{})
	inner := newEnv(t, httpcache.Options{})
	var calls atomic.Int64
	h := outer.cache.Handler(inner.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "header-tag")
		httpcache.Tag(r, "code-tag")
		fmt.Fprint(w, "x")
	})))
	if res := do(t, h, get("/n")); res.header.Get("Cache-Tag") != "" {
		t.Fatalf("the tag header reached the client: %q", res.header.Get("Cache-Tag"))
	}
	for _, tag := range []string{"header-tag", "code-tag", "header-tag"} {
		if res := do(t, h, get("/n")); !isHit(res) {
			t.Fatalf("not stored by the outer Cache: %q", res.header.Values("Cache-Status"))
		}
		if err := outer.cache.PurgeTags(context.Background(), tag); err != nil {
			t.Fatal(err)
		}
		// The outer Cache misses; the inner one serves its stored copy,
		// which the outer one stores again, with its tags.
		n := calls.Load()
		if res := do(t, h, get("/n")); isHit(res) || calls.Load() != n {
			t.Fatalf("after purging %s from the outer Cache: %q, %d handler calls", tag, res.header.Values("Cache-Status"), calls.Load()-n)
		}
	}
	if err := inner.cache.PurgeTags(context.Background(), "code-tag"); err != nil {
		t.Fatal(err)
	}
	if err := outer.cache.PurgeTags(context.Background(), "code-tag"); err != nil {
		t.Fatal(err)
	}
	n := calls.Load()
	do(t, h, get("/n"))
	if calls.Load() != n+1 {
		t.Fatal("purged from both Caches, yet the handler did not run")
	}
}
