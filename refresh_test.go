package httpcache_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestHeadStaleWhileRevalidateRefreshesWithGET: a HEAD served stale under
// stale-while-revalidate starts a background refresh that asks the handler
// with GET (a HEAD would leave no body to store), after which a GET hits.
func TestHeadStaleWhileRevalidateRefreshesWithGET(t *testing.T) {
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

// panicStore is a memory store whose Get of one key panics once, after
// letting a given number of Gets of that key through (see panicAfter), as
// a buggy store client might.
type panicStore struct {
	*memory.Store
	mu       sync.Mutex
	key      string // "": no Get panics
	skip     int
	panicked atomic.Int64
}

func (p *panicStore) Get(ctx context.Context, k string) ([]byte, error) {
	p.mu.Lock()
	bad := p.key != "" && k == p.key && p.skip == 0
	if bad {
		p.key = ""
	} else if p.key != "" && k == p.key {
		p.skip--
	}
	p.mu.Unlock()
	if bad {
		p.panicked.Add(1)
		panic("store client bug")
	}
	return p.Store.Get(ctx, k)
}

// panicAfter makes the Get of key after the next skip ones panic.
func (p *panicStore) panicAfter(key string, skip int) {
	p.mu.Lock()
	p.key, p.skip = key, skip
	p.mu.Unlock()
}

// TestRefreshLookupPanicLandsFlight: a store whose Get panics during a
// background refresh's lookup (recovered and logged) leaves no flight open:
// a later miss of the URL is fetched, not joined to a flight that never
// lands.
func TestRefreshLookupPanicLandsFlight(t *testing.T) {
	clk := newClock()
	ps := &panicStore{Store: memory.New(memory.Options{Clock: clk.Now})}
	type plain struct{ httpcache.Store }
	c := httpcache.New(plain{ps}, httpcache.Options{Clock: clk.Now, Logger: discardLogger()})
	h := c.Handler(respond(200, map[string]string{"Cache-Control": "max-age=10, stale-while-revalidate=60"}, "x"))
	do(t, h, get("/r"))
	c.Wait()
	clk.Advance(15 * time.Second)
	pks, _ := c.Keys("http://example.com/r")
	// The stale request's lookup reads the entry once; the refresh's
	// lookup, the next read of it, panics.
	ps.panicAfter(pks[0], 1)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/r", nil)) // stale + refresh
	c.Wait()
	if n := ps.panicked.Load(); n != 1 {
		t.Fatalf("%d Gets panicked, want the refresh's lookup's one: the test shows nothing", n)
	}
	clk.Advance(2 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/r", nil).WithContext(ctx))
	if ctx.Err() != nil {
		t.Fatalf("key wedged: waited on an unlanded flight until the client gave up (%q)", rec.Body.String())
	}
}

// TestStaleWhileRevalidateYieldsToClientLimits: with RequestDirectives on,
// a client's min-fresh or max-stale that refuses a stale response is
// honoured: stale-while-revalidate does not serve it anyway.
func TestStaleWhileRevalidateYieldsToClientLimits(t *testing.T) {
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
