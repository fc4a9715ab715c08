package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestInvalidatedIndexNotRewritten: a GET that read a URL's Vary index
// before a POST invalidated the URL, and whose variant outlives that
// index, must not rewrite it: the variants stored before the POST would
// be reachable again.
func TestInvalidatedIndexNotRewritten(t *testing.T) {
	var version atomic.Int64
	var h http.Handler
	e := newEnv(t, httpcache.Options{})
	h = e.cache.Handler(postBumps(&version, func(w http.ResponseWriter, r *http.Request) {
		lang := r.Header.Get("Accept-Language")
		maxAge := 100
		if lang == "en" {
			maxAge = 1000 // outlives the index the fr response wrote
			if r.Header.Get("X-Post-Meanwhile") != "" {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "http://example.com/a", nil))
			}
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", maxAge))
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "%s v%d", lang, version.Load())
	}))
	do(t, h, get("http://example.com/a", "Accept-Language", "fr"))
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); !isHit(res) {
		t.Fatalf("fr not stored: %q", res.cacheStatus())
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "en", "X-Post-Meanwhile", "1")); res.body != "en v1" {
		t.Fatalf("en: %q", res.body)
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); res.body != "fr v1" {
		t.Fatalf("after the POST invalidated /a, fr served %q (%s)", res.body, res.cacheStatus())
	}
	// The URL is cached again afterwards.
	do(t, h, get("http://example.com/a", "Accept-Language", "en"))
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "en")); !isHit(res) || res.body != "en v1" {
		t.Fatalf("en after: %q (%s)", res.body, res.cacheStatus())
	}
}

// hookedStore calls onGet after each Get (with an ObjectStore, the
// middleware calls Get only to check an index before rewriting it).
type hookedStore struct {
	*memory.Store
	onGet func(key string)
}

func (s *hookedStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Store.Get(ctx, key)
	if s.onGet != nil {
		s.onGet(key)
	}
	return v, err
}

// TestInvalidationDuringIndexRewrite: an invalidation by this Cache that
// lands between the check of a Vary index and its rewrite is not undone.
func TestInvalidationDuringIndexRewrite(t *testing.T) {
	clk := newClock()
	s := &hookedStore{Store: memory.New(memory.Options{Clock: clk.Now})}
	c := httpcache.New(s, httpcache.Options{Clock: clk.Now})
	n := 0
	h := c.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		n++
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, r.Header.Get("Accept-Language")+" v"+itoa(int64(n)))
	}})
	pks, _ := c.Keys("http://example.com/a")
	do(t, h, get("http://example.com/a", "Accept-Language", "en")) // index until t0+120s
	clk.Advance(10 * time.Second)
	do(t, h, get("http://example.com/a", "Accept-Language", "fr")) // fr until t0+70s
	clk.Advance(55 * time.Second)
	var done sync.WaitGroup
	fired := false
	s.onGet = func(key string) {
		if key != pks[0] {
			return
		}
		s.onGet, fired = nil, true
		done.Add(1)
		go func() { // a POST landing between the check and the write
			defer done.Done()
			do(t, h, get("http://example.com/a").with(http.MethodPost))
		}()
		done.Wait()
	}
	do(t, h, get("http://example.com/a", "Accept-Language", "de")) // outlives the index: rewrite
	if !fired {
		t.Fatal("the index was not read with Get before its rewrite: no POST ran in between, the test shows nothing")
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); isHit(res) {
		t.Errorf("after the POST, fr served from cache: %q %q", res.body, res.cacheStatus())
	}
}

// gatedStore is a memory store whose Delete runs onDelete first and whose
// SetObject of gateKey waits (bounded) until that Delete has finished: a
// GET's lookup made after an invalidation began, whose index write lands
// after the invalidation's delete.
type gatedStore struct {
	*memory.Store
	mu       sync.Mutex
	onDelete func()
	gateKey  string
	reached  chan struct{}
	deleted  chan struct{}
}

func (s *gatedStore) Delete(ctx context.Context, keys ...string) error {
	s.mu.Lock()
	f := s.onDelete
	s.onDelete = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	err := s.Store.Delete(ctx, keys...)
	if f != nil {
		close(s.deleted)
	}
	return err
}

func (s *gatedStore) SetObject(ctx context.Context, key string, value []byte, obj any, ttl time.Duration) error {
	s.mu.Lock()
	gate := s.gateKey != "" && key == s.gateKey
	if gate {
		s.gateKey = ""
	}
	s.mu.Unlock()
	if gate {
		close(s.reached)
		select {
		case <-s.deleted:
		case <-time.After(2 * time.Second):
		}
	}
	return s.Store.SetObject(ctx, key, value, obj, ttl)
}

// TestInvalidationUnderWayDuringLookup: a lookup made while an invalidation
// by this Cache is under way (begun, not yet deleted) must not rewrite the
// index it read after the delete.
func TestInvalidationUnderWayDuringLookup(t *testing.T) {
	clk := newClock()
	s := &gatedStore{Store: memory.New(memory.Options{Clock: clk.Now}),
		reached: make(chan struct{}), deleted: make(chan struct{})}
	c := httpcache.New(s, httpcache.Options{Clock: clk.Now})
	h := c.Handler(newLanguagePages())
	pks, _ := c.Keys("http://example.com/a")
	do(t, h, get("http://example.com/a", "Accept-Language", "en")) // index until t0+120s
	clk.Advance(10 * time.Second)
	do(t, h, get("http://example.com/a", "Accept-Language", "fr")) // fr v1
	clk.Advance(55 * time.Second)
	done := make(chan struct{})
	s.onDelete = func() { // the POST's invalidation has begun, and is about to delete
		s.mu.Lock()
		s.gateKey = pks[0]
		s.mu.Unlock()
		go func() {
			defer close(done)
			do(t, h, get("http://example.com/a", "Accept-Language", "de")) // would rewrite the index
		}()
		select {
		case <-s.reached:
		case <-done: // it did not try to rewrite: fine too
		case <-time.After(2 * time.Second):
			t.Error("the GET neither wrote nor finished")
		}
	}
	do(t, h, get("http://example.com/a").with(http.MethodPost))
	s.mu.Lock()
	missed := s.onDelete != nil
	s.mu.Unlock()
	if missed {
		t.Fatal("the POST's invalidation did not call Delete: the test shows nothing")
	}
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("the GET did not finish")
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); isHit(res) {
		t.Errorf("after the POST, fr served from cache: %q (%s)", res.body, res.cacheStatus())
	}
}

// gatedRemote is gatedStore seen as a networked store (bytes only): its
// writes run in the background.
type gatedRemote struct{ g *gatedStore }

func (s gatedRemote) Get(ctx context.Context, key string) ([]byte, error) {
	return s.g.Store.Get(ctx, key)
}
func (s gatedRemote) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	return s.g.SetObject(ctx, key, v, nil, ttl)
}
func (s gatedRemote) Delete(ctx context.Context, keys ...string) error {
	return s.g.Delete(ctx, keys...)
}

// TestInvalidationUnderWayDuringLookupNetworked: the same with background
// writes, whose index write lands after the invalidation's delete.
func TestInvalidationUnderWayDuringLookupNetworked(t *testing.T) {
	clk := newClock()
	g := &gatedStore{Store: memory.New(memory.Options{Clock: clk.Now}),
		reached: make(chan struct{}), deleted: make(chan struct{})}
	c := httpcache.New(gatedRemote{g}, httpcache.Options{Clock: clk.Now,
		Guard: httpcache.GuardOptions{Timeout: 5 * time.Second, Clock: clk.Now}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := c.Handler(newLanguagePages())
	pks, _ := c.Keys("http://example.com/a")
	do(t, h, get("http://example.com/a", "Accept-Language", "en"))
	c.WaitContext(ctx)
	clk.Advance(10 * time.Second)
	do(t, h, get("http://example.com/a", "Accept-Language", "fr"))
	c.WaitContext(ctx)
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); !isHit(res) {
		t.Fatalf("setup: %q", res.cacheStatus())
	}
	clk.Advance(55 * time.Second)
	g.onDelete = func() {
		g.mu.Lock()
		g.gateKey = pks[0]
		g.mu.Unlock()
		do(t, h, get("http://example.com/a", "Accept-Language", "de")) // writes in the background
		select {
		case <-g.reached:
		case <-time.After(500 * time.Millisecond): // it did not try to rewrite: fine too
		}
	}
	do(t, h, get("http://example.com/a").with(http.MethodPost))
	c.WaitContext(ctx)
	g.mu.Lock()
	missed := g.onDelete != nil
	g.mu.Unlock()
	if missed {
		t.Fatal("the POST's invalidation did not call Delete: the test shows nothing")
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); isHit(res) {
		t.Errorf("after the POST, fr served from cache: %q (%s)", res.body, res.cacheStatus())
	}
}

// TestGETStoredAfterPOSTNotKept: a GET's handler has sent v1 and returns
// only after a POST to the same URL has been served and has invalidated
// it (logging, an audit write after the response). The GET's response,
// which may predate the POST, must not be stored after it.
func TestGETStoredAfterPOSTNotKept(t *testing.T) {
	for _, vary := range []bool{false, true} {
		t.Run("vary="+strconv.FormatBool(vary), func(t *testing.T) {
			c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
			var version atomic.Int64
			version.Store(1)
			wrote := make(chan struct{})
			posted := make(chan struct{})
			var slow atomic.Bool
			slow.Store(true)
			h := c.Handler(postBumps(&version, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				if vary {
					w.Header().Set("Vary", "Accept-Language")
				}
				io.WriteString(w, "v"+strconv.FormatInt(version.Load(), 10))
				if slow.CompareAndSwap(true, false) {
					close(wrote)
					<-posted // e.g. logging, an audit write, after the response
				}
			}))
			done := make(chan result)
			go func() { done <- do(t, h, get("http://example.com/a", "Accept-Language", "en")) }()
			<-wrote
			if res := do(t, h, get("http://example.com/a").with(http.MethodPost)); res.status != http.StatusNoContent {
				t.Fatalf("POST: %d", res.status)
			}
			close(posted)
			<-done
			if res := do(t, h, get("http://example.com/a", "Accept-Language", "en")); res.body != "v2" {
				t.Errorf("after the POST returned (version 2): %q (%s)", res.body, res.cacheStatus())
			}
		})
	}
}

// TestWaiterAfterPOSTNotServedLeadersResponse: a request made after a POST
// to the URL returned, which joins a fetch that began before the POST, is
// not served that fetch's response, which may predate the POST.
func TestWaiterAfterPOSTNotServedLeadersResponse(t *testing.T) {
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	var version atomic.Int64
	version.Store(1)
	release := make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	h := c.Handler(postBumps(&version, func(w http.ResponseWriter, r *http.Request) {
		v := version.Load()
		if first.CompareAndSwap(true, false) {
			<-release // the leader's fetch is slow
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "v"+strconv.FormatInt(v, 10))
	}))
	leader := make(chan result)
	go func() { leader <- do(t, h, get("http://example.com/a")) }()
	testwait.For(t, "the leader's fetch", func() bool { return !first.Load() })
	do(t, h, get("http://example.com/a").with(http.MethodPost))
	waiter := make(chan result)
	go func() { waiter <- do(t, h, get("http://example.com/a")) }()
	testwait.For(t, "the waiter", func() bool { return c.Stats().Waiting == 1 })
	close(release)
	if res := <-leader; res.body != "v1" {
		t.Fatalf("leader: %q", res.body)
	}
	if res := <-waiter; res.body != "v2" {
		t.Errorf("the request made after the POST got %q (%s), want v2", res.body, res.cacheStatus())
	}
}
