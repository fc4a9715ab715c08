package httpcache_test

import (
	"context"
	"errors"
	"fmt"
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

// catalog serves /articles/{id} tagged with "article:{id}" (through the tag
// header) and "articles" (through Tag), and /home untagged; the body names
// the version of the data it was rendered from.
type catalog struct {
	version atomic.Int64
	calls   atomic.Int64
	cc      string
}

func (c *catalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls.Add(1)
	cc := c.cc
	if cc == "" {
		cc = "max-age=600"
	}
	w.Header().Set("Cache-Control", cc)
	if id, ok := strings.CutPrefix(r.URL.Path, "/articles/"); ok {
		w.Header().Set("Cache-Tag", "article:"+id+" section:news")
		httpcache.Tag(r, "articles")
	}
	fmt.Fprintf(w, "%s v%d", r.URL.Path, c.version.Load())
}

// TestPurgeTags: a tag purge makes every entry carrying the tag a miss
// and leaves the others; the tag header never reaches the client.
func TestPurgeTags(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	cat := &catalog{}
	h := e.cache.Handler(cat)
	for _, p := range []string{"/articles/1", "/articles/2", "/home"} {
		res := do(t, h, get(p))
		if res.header.Get("Cache-Tag") != "" {
			t.Fatalf("the tag header reached the client: %q", res.header.Get("Cache-Tag"))
		}
		if !isHit(do(t, h, get(p))) {
			t.Fatalf("%s not cached", p)
		}
		if res := do(t, h, get(p)); res.header.Get("Cache-Tag") != "" {
			t.Fatal("the tag header was stored")
		}
	}
	cat.version.Store(1)
	if err := e.cache.PurgeTags(context.Background(), "article:1"); err != nil {
		t.Fatal(err)
	}
	expect := map[string]string{"/articles/1": "/articles/1 v1", "/articles/2": "/articles/2 v0", "/home": "/home v0"}
	for p, want := range expect {
		if res := do(t, h, get(p)); res.body != want {
			t.Fatalf("after purging article:1, %s = %q, want %q", p, res.body, want)
		}
	}
	// A tag given with Tag, and one shared by several responses.
	if err := e.cache.PurgeTags(context.Background(), "articles"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/articles/1", "/articles/2"} {
		if res := do(t, h, get(p)); res.body != p+" v1" {
			t.Fatalf("after purging articles, %s = %q", p, res.body)
		}
	}
	if res := do(t, h, get("/home")); !isHit(res) {
		t.Fatalf("an untagged page was purged: %q", res.cacheStatus())
	}
}

// TestPurgeURL: a URL purge reaches every variant of the URL, under each
// route's keys.
func TestPurgeURL(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	cat := &catalog{}
	route := e.cache.With(func(p *httpcache.Policy) { p.Query.Deny = []string{"utm_source"} })
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		cat.ServeHTTP(w, r)
	}))
	hr := route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		cat.ServeHTTP(w, r)
	}))
	for _, l := range []string{"en", "fr"} {
		do(t, h, get("http://example.com/home?x=1", "Accept-Language", l))
		do(t, hr, get("http://example.com/home?x=1&utm_source=a", "Accept-Language", l))
	}
	do(t, h, get("http://example.com/other"))
	cat.version.Store(1)
	if err := e.cache.PurgeURL(context.Background(), "http://example.com/home?x=1"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"en", "fr"} {
		if res := do(t, h, get("http://example.com/home?x=1", "Accept-Language", l).with("HEAD")); isHit(res) {
			t.Fatalf("HEAD %s variant survived the purge", l)
		}
		if res := do(t, hr, get("http://example.com/home?x=1&utm_source=b", "Accept-Language", l)); res.body != "/home v1" {
			t.Fatalf("route-keyed %s variant survived the purge: %q", l, res.body)
		}
	}
	if res := do(t, h, get("http://example.com/other")); !isHit(res) {
		t.Fatal("another URL was purged")
	}
	if err := e.cache.PurgeURL(context.Background(), "/relative"); err == nil {
		t.Fatal("a relative URL was accepted")
	}
	// A URL without a path is its root.
	do(t, h, get("http://example.com/"))
	if err := e.cache.PurgeURL(context.Background(), "http://example.com"); err != nil {
		t.Fatal(err)
	}
	if isHit(do(t, h, get("http://example.com/"))) {
		t.Fatal("purging http://example.com left http://example.com/")
	}
}

// TestPurgeAll: a purge of everything makes every entry a miss.
func TestPurgeAll(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	cat := &catalog{}
	h := e.cache.Handler(cat)
	for _, p := range []string{"/a", "/b", "/articles/3"} {
		do(t, h, get(p))
	}
	cat.version.Store(1)
	if err := e.cache.Purge(context.Background(), httpcache.Purge{All: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a", "/b", "/articles/3"} {
		if res := do(t, h, get(p)); res.body != p+" v1" {
			t.Fatalf("%s survived purging everything: %q", p, res.body)
		}
	}
}

// TestPurgeRefusesKeysOfAnotherPrefix: a primary key of a Cache with
// another KeyPrefix on the same store, given to Purge, is refused as a
// mistake; the other Cache's entry stays served from cache.
func TestPurgeRefusesKeysOfAnotherPrefix(t *testing.T) {
	e := newEnv(t, httpcache.Options{KeyPrefix: "appA:"})
	other := httpcache.New(e.store, httpcache.Options{KeyPrefix: "appB:", Clock: e.clock.Now})
	cat := &catalog{}
	h := other.Handler(cat)
	do(t, h, get("/a"))
	keys, err := other.Keys("http://example.com/a")
	if err != nil {
		t.Fatal(err)
	}
	err = e.cache.Purge(context.Background(), httpcache.Purge{Keys: keys})
	if res := do(t, h, get("/a")); !isHit(res) || cat.calls.Load() != 1 {
		t.Errorf("appB's entry purged through appA: %q", res.cacheStatus())
	}
	if err == nil {
		t.Error("Purge of appB's key through appA returned nil")
	}
}

// TestSoftPurge: a soft purge makes the response stale, so that
// stale-while-revalidate serves it once while refreshing it.
func TestSoftPurge(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	cat := &catalog{cc: "max-age=600, stale-while-revalidate=60"}
	h := e.cache.Handler(cat)
	do(t, h, get("/articles/9"))
	e.clock.Advance(10 * time.Second)
	cat.version.Store(1)
	if err := e.cache.Purge(context.Background(), httpcache.Purge{Tags: []string{"article:9"}, Soft: true}); err != nil {
		t.Fatal(err)
	}
	res := do(t, h, get("/articles/9"))
	if res.body != "/articles/9 v0" || res.cacheStatus() != "httpcache; hit; detail=stale-while-revalidate" {
		t.Fatalf("after a soft purge: %q %q (want the stale copy while it refreshes)", res.body, res.cacheStatus())
	}
	testwait.For(t, "the refresh", func() bool { return e.cache.Stats().Stores == 2 })
	if res := do(t, h, get("/articles/9")); res.body != "/articles/9 v1" || !isHit(res) {
		t.Fatalf("after the refresh: %q %q", res.body, res.cacheStatus())
	}
}

// TestReplacedEntryKeepsItsOwnTags: an entry stored again with other tags
// answers to its new tags only.
func TestReplacedEntryKeepsItsOwnTags(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var tag atomic.Value
	tag.Store("old")
	var calls atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Cache-Tag", tag.Load().(string))
		fmt.Fprintf(w, "tagged %s", tag.Load())
	}))
	do(t, h, get("/r"))
	tag.Store("new")
	e.clock.Advance(61 * time.Second) // expired: the next request stores it anew
	do(t, h, get("/r"))
	if err := e.cache.PurgeTags(context.Background(), "old"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/r")); !isHit(res) || res.body != "tagged new" {
		t.Fatalf("purging the old tag dropped the entry stored with the new one: %q %q", res.body, res.cacheStatus())
	}
	if err := e.cache.PurgeTags(context.Background(), "new"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/r")); isHit(res) {
		t.Fatal("purging the new tag left the entry")
	}
}

// TestPurgeHandler: the PURGE endpoint refuses a request without the
// bearer token (401), purges the URL or the tags its tag header names
// (200), and refuses an invalid or empty tag list (400).
func TestPurgeHandler(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	cat := &catalog{}
	h := e.cache.Handler(cat)
	ph := e.cache.PurgeHandler("s3cret")
	purge := func(target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("PURGE", target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		ph.ServeHTTP(rec, r)
		return rec
	}
	cached := func(p string) bool { return isHit(do(t, h, get(p))) }
	for _, p := range []string{"/articles/1", "/articles/2", "/home"} {
		do(t, h, get(p))
	}
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Bearer s3cret "} {
		rec := purge("/home", "Authorization", auth)
		if rec.Code != 401 || !cached("/home") {
			t.Fatalf("Authorization %q: %d, and /home cached = %v", auth, rec.Code, cached("/home"))
		}
	}
	if rec := purge("/home", "Authorization", "Bearer s3cret"); rec.Code != 200 || cached("/home") {
		t.Fatalf("purge of a URL: %d %q", rec.Code, rec.Body.String())
	}
	if rec := purge("/", "Authorization", "Bearer s3cret", "Cache-Tag", "article:1, article:2"); rec.Code != 200 || cached("/articles/1") || cached("/articles/2") {
		t.Fatalf("purge of tags: %d %q", rec.Code, rec.Body.String())
	}
	if rec := purge("/", "Authorization", "Bearer s3cret", "Cache-Tag", "a\x7fb"); rec.Code != 400 {
		t.Fatalf("invalid tag: %d", rec.Code)
	}
	if rec := purge("/", "Authorization", "Bearer s3cret", "Cache-Tag", " , "); rec.Code != 400 {
		t.Fatalf("a tag header naming no tags: %d (it must not purge the URL instead)", rec.Code)
	}
	// The auth scheme is case-insensitive; a relative target purges the
	// URL under both schemes.
	do(t, h, request{method: "GET", url: "https://example.com/home", tls: true})
	do(t, h, get("http://example.com/home"))
	if rec := purge("/home", "Authorization", "bearer s3cret"); rec.Code != 200 {
		t.Fatalf("lower-case scheme: %d", rec.Code)
	}
	if isHit(do(t, h, request{method: "GET", url: "https://example.com/home", tls: true})) || cached("/home") {
		t.Fatal("a PURGE over http left the https (or http) entry")
	}
	rec := httptest.NewRecorder()
	ph.ServeHTTP(rec, httptest.NewRequest("GET", "/home", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET to the purge handler: %d", rec.Code)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("an empty token was accepted")
			}
		}()
		e.cache.PurgeHandler("")
	}()
}

// TestPurgeHandlerBehindStripPrefix: mounted at a path of its own behind
// http.StripPrefix, the rest of the path names the URL to purge.
func TestPurgeHandlerBehindStripPrefix(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(&catalog{})
	mux := http.NewServeMux()
	mux.Handle("/_purge/", http.StripPrefix("/_purge", e.cache.PurgeHandler("s3cret")))
	mux.Handle("/", h)
	do(t, mux, get("/articles/1?x=1"))
	do(t, mux, get("/home"))
	r := httptest.NewRequest("PURGE", "/_purge/articles/1?x=1", nil)
	r.Header.Set("Authorization", "Bearer s3cret")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("PURGE: %d %q", rec.Code, rec.Body.String())
	}
	if isHit(do(t, mux, get("/articles/1?x=1"))) {
		t.Fatalf("the URL after the prefix was not purged: %q", rec.Body.String())
	}
	if !isHit(do(t, mux, get("/home"))) {
		t.Fatal("another URL was purged")
	}
}

// TestPurgeRefusesTooManyTags: a purge naming more tags, or more URLs and
// keys, than Options.MaxPurgeTags (256 by default) is refused whole — an
// error wrapping ErrPurgeTooLarge from Purge, 400 from PurgeHandler — and
// purges nothing; one at the limit purges as ever.
func TestPurgeRefusesTooManyTags(t *testing.T) {
	many := func(n int, format string) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprintf(format, i)
		}
		return s
	}
	tests := []struct {
		name  string
		limit int
		purge httpcache.Purge
	}{
		{"tags", 0, httpcache.Purge{Tags: append(many(256, "t%d"), "article:1")}},
		{"soft tags", 0, httpcache.Purge{Tags: append(many(256, "t%d"), "article:1"), Soft: true}},
		{"urls", 0, httpcache.Purge{URLs: append(many(256, "http://example.com/x%d"), "http://example.com/articles/1")}},
		{"urls and keys", 0, httpcache.Purge{URLs: many(200, "http://example.com/x%d"), Keys: append(many(56, "httpcache:v1:{%d}"), "")}},
		{"tags beyond a lower limit", 2, httpcache.Purge{Tags: []string{"article:1", "a", "b"}}},
		{"urls beyond a lower limit", 2, httpcache.Purge{URLs: []string{"http://example.com/articles/1", "http://example.com/a", "http://example.com/b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{MaxPurgeTags: tt.limit})
			h := e.cache.Handler(&catalog{})
			do(t, h, get("/articles/1"))
			err := e.cache.Purge(context.Background(), tt.purge)
			if !errors.Is(err, httpcache.ErrPurgeTooLarge) {
				t.Fatalf("Purge = %v; want an error wrapping ErrPurgeTooLarge", err)
			}
			if !isHit(do(t, h, get("/articles/1"))) {
				t.Fatal("a purge refused as too large purged /articles/1")
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		e := newEnv(t, httpcache.Options{})
		h := e.cache.Handler(&catalog{})
		do(t, h, get("/articles/1"))
		if err := e.cache.PurgeTags(context.Background(), append(many(255, "t%d"), "article:1")...); err != nil {
			t.Fatal(err)
		}
		if isHit(do(t, h, get("/articles/1"))) {
			t.Fatal("a purge of 256 tags did not purge /articles/1")
		}
	})
	t.Run("PurgeHandler", func(t *testing.T) {
		e := newEnv(t, httpcache.Options{})
		h := e.cache.Handler(&catalog{})
		ph := e.cache.PurgeHandler("s3cret")
		do(t, h, get("/articles/1"))
		for _, n := range []int{257, 100_000} {
			r := httptest.NewRequest("PURGE", "/", nil)
			r.Header.Set("Authorization", "Bearer s3cret")
			r.Header.Set("Cache-Tag", "article:1 "+strings.Join(many(n-1, "t%d"), " "))
			rec := httptest.NewRecorder()
			ph.ServeHTTP(rec, r)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "at most 256") {
				t.Fatalf("PURGE of %d tags: %d %q; want 400 saying at most 256", n, rec.Code, rec.Body.String())
			}
			if !isHit(do(t, h, get("/articles/1"))) {
				t.Fatalf("PURGE of %d tags, refused, purged /articles/1", n)
			}
		}
	})
}

// unrecordable is a memory store seen as a shared store with a Counter
// that fails while down is set: entries are read and written as ever, but
// no purge can be recorded.
type unrecordable struct {
	m    *memory.Store
	down atomic.Bool
}

func (s *unrecordable) Get(ctx context.Context, k string) ([]byte, error) { return s.m.Get(ctx, k) }
func (s *unrecordable) Delete(ctx context.Context, k ...string) error     { return s.m.Delete(ctx, k...) }
func (s *unrecordable) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.m.Set(ctx, k, v, ttl)
}
func (s *unrecordable) Advance(ctx context.Context, n string, f int64, ttl time.Duration) (int64, error) {
	if s.down.Load() {
		return 0, errDown
	}
	return s.m.Advance(ctx, n, f, ttl)
}

// TestFailedPurgeIsRememberedInProcess: a purge the store cannot record
// returns an error wrapping ErrPurgeFailed; until a retry records it, the
// Cache it failed in serves none of what it purges from the store (a soft
// purge: serves it as stale), while what it does not purge is still a hit.
// Another Cache on the store does not know of the failure; once the store
// takes purges again, the purge is retried in the background and recorded,
// and the other Cache sees it too.
func TestFailedPurgeIsRememberedInProcess(t *testing.T) {
	tests := []struct {
		name  string
		purge httpcache.Purge
		want  string // Cache-Status of /articles/1 while the purge is pending
	}{
		{"tag", httpcache.Purge{Tags: []string{"article:1"}}, "httpcache; fwd=uri-miss; stored"},
		{"url", httpcache.Purge{URLs: []string{"http://example.com/articles/1"}}, "httpcache; fwd=uri-miss; stored"},
		{"soft tag", httpcache.Purge{Tags: []string{"article:1"}, Soft: true}, "httpcache; hit; detail=stale-while-revalidate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			store := &unrecordable{m: memory.New(memory.Options{Clock: clk.Now})}
			opts := httpcache.Options{Clock: clk.Now, Logger: discardLogger()}
			c, other := httpcache.New(store, opts), httpcache.New(store, opts)
			cat := &catalog{cc: "max-age=600, stale-while-revalidate=600"}
			h, ho := c.Handler(cat), other.Handler(cat)
			for _, p := range []string{"/articles/1", "/articles/2"} {
				do(t, h, get(p))
				c.Wait()
				if !isHit(do(t, ho, get(p))) {
					t.Fatalf("%s not shared", p)
				}
			}

			store.down.Store(true)
			cat.version.Store(1)
			if err := c.Purge(context.Background(), tt.purge); !errors.Is(err, httpcache.ErrPurgeFailed) {
				t.Fatalf("Purge with the store failing = %v; want an error wrapping ErrPurgeFailed", err)
			}
			if res := do(t, ho, get("/articles/1")); res.cacheStatus() != "httpcache; hit" || res.body != "/articles/1 v0" {
				t.Fatalf("the other Cache: %q %q; the purge cannot have been recorded", res.body, res.cacheStatus())
			}
			if res := do(t, h, get("/articles/1")); res.cacheStatus() != tt.want {
				t.Fatalf("with the purge not recorded, /articles/1: %q %q; want %q", res.body, res.cacheStatus(), tt.want)
			}
			c.Wait()
			if res := do(t, h, get("/articles/2")); !isHit(res) {
				t.Fatalf("an entry the purge does not reach was not served: %q", res.cacheStatus())
			}

			// What the other Cache finds under /articles/1 now (v0, or
			// what this one fetched meanwhile) was fetched before the
			// retry: once the purge is recorded, it is not served fresh
			// (with time passing, for a soft purge to show).
			clk.Advance(2 * time.Second)
			store.down.Store(false)
			testwait.For(t, "the purge to be retried and recorded", func() bool {
				res := do(t, ho, get("/articles/1"))
				other.Wait()
				return res.cacheStatus() != "httpcache; hit"
			})
			if res := do(t, ho, get("/articles/2")); !isHit(res) {
				t.Fatalf("the retried purge reached /articles/2: %q", res.cacheStatus())
			}
			testwait.For(t, "this Cache to serve /articles/1 fresh from the store again", func() bool {
				res := do(t, h, get("/articles/1"))
				c.Wait()
				return res.cacheStatus() == "httpcache; hit" && res.body == "/articles/1 v1"
			})
		})
	}
}
