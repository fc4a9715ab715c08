package httpcache_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// counts are the Stats fields that say what became of each request.
type counts struct {
	Hits, Misses, Uncacheable, Bypasses, OtherMethods uint64
	Stale, Coalesced, Revalidated                     uint64
}

func countsOf(s httpcache.Stats) counts {
	return counts{s.Hits, s.Misses, s.Uncacheable, s.Bypasses, s.OtherMethods, s.Stale, s.Coalesced, s.Revalidated}
}

func (a counts) minus(b counts) counts {
	return counts{a.Hits - b.Hits, a.Misses - b.Misses, a.Uncacheable - b.Uncacheable, a.Bypasses - b.Bypasses,
		a.OtherMethods - b.OtherMethods, a.Stale - b.Stale, a.Coalesced - b.Coalesced, a.Revalidated - b.Revalidated}
}

// TestStatsCountEachRequestOnce: each GET or HEAD the cache looks up counts
// once, as a hit, a miss (nothing usable stored, and a storable answer) or
// uncacheable (the handler's answer may not be stored); requests never
// looked up count apart, so Hits/(Hits+Misses) is the hit ratio of what can
// be cached. Stale, Coalesced and Revalidated break hits and misses down.
func TestStatsCountEachRequestOnce(t *testing.T) {
	page := respond(200, maxAge("60"), "page")
	validated := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "page")
	}}
	tests := []struct {
		name    string
		handler http.Handler
		wrap    func(c *httpcache.Cache, h http.Handler) http.Handler
		prime   []request // before counting
		advance time.Duration
		run     func(t *testing.T, e *env, h http.Handler)
		want    counts
	}{
		{name: "hit", handler: page, prime: []request{get("/p")},
			run: doing(get("/p")), want: counts{Hits: 1}},
		{name: "miss stored", handler: page,
			run: doing(get("/p")), want: counts{Misses: 1}},
		{name: "HEAD miss of a storable response", handler: page,
			run: doing(get("/p").with("HEAD")), want: counts{Misses: 1}},
		{name: "HEAD hit", handler: page, prime: []request{get("/p")},
			run: doing(get("/p").with("HEAD")), want: counts{Hits: 1}},
		{name: "private response", handler: respond(200, map[string]string{"Cache-Control": "private, max-age=60"}, "mine"),
			run: doing(get("/p")), want: counts{Uncacheable: 1}},
		{name: "HEAD of a private response", handler: respond(200, map[string]string{"Cache-Control": "private, max-age=60"}, "mine"),
			run: doing(get("/p").with("HEAD")), want: counts{Uncacheable: 1}},
		{name: "no freshness", handler: respond(200, nil, "plain"),
			run: doing(get("/p")), want: counts{Uncacheable: 1}},
		{name: "bypass (Range)", handler: page,
			run: doing(get("/p", "Range", "bytes=0-1")), want: counts{Bypasses: 1}},
		{name: "POST", handler: page,
			run: doing(get("/p").with("POST")), want: counts{OtherMethods: 1}},
		// validated: kept past its freshness.
		{name: "stale hit (max-stale)", handler: validated, prime: []request{get("/p")}, advance: 90 * time.Second,
			run: doing(get("/p", "Cache-Control", "max-stale=60")), want: counts{Hits: 1, Stale: 1}},
		{name: "revalidated", handler: validated,
			prime: []request{get("/p")}, advance: 90 * time.Second,
			run: doing(get("/p")), want: counts{Misses: 1, Revalidated: 1}},
		{name: "nested layers count once", handler: page,
			wrap: func(c *httpcache.Cache, h http.Handler) http.Handler { return c.Handler(c.Page(time.Minute)(h)) },
			run:  doing(get("/p"), get("/p"), get("/p").with("POST"), get("/p", "Range", "bytes=0-1")),
			want: counts{Misses: 1, Hits: 1, OtherMethods: 1, Bypasses: 1}},
		{name: "collapsed waiters", run: func(t *testing.T, e *env, _ http.Handler) {
			g := newGate(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "page")
			})
			h := e.cache.Handler(g)
			done := make(chan struct{})
			go func() {
				parallel(h, 3, func(int) *http.Request { return httptest.NewRequest("GET", "/burst", nil) })
				close(done)
			}()
			testwait.For(t, "the leader and two waiters", func() bool {
				return g.calls.Load() == 1 && e.cache.Stats().Waiting == 2
			})
			close(g.release)
			<-done
		}, want: counts{Misses: 3, Coalesced: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{RequestDirectives: true}) // for max-stale
			wrap := tc.wrap
			if wrap == nil {
				wrap = func(c *httpcache.Cache, h http.Handler) http.Handler { return c.Handler(h) }
			}
			var h http.Handler
			if tc.handler != nil {
				h = wrap(e.cache, tc.handler)
			}
			for _, req := range tc.prime {
				do(t, h, req)
			}
			e.clock.Advance(tc.advance)
			before := countsOf(e.cache.Stats())
			tc.run(t, e, h)
			if got := countsOf(e.cache.Stats()).minus(before); got != tc.want {
				t.Fatalf("counted %+v; want %+v", got, tc.want)
			}
		})
	}
}

// doing returns a run that serves reqs through h one after the other.
func doing(reqs ...request) func(t *testing.T, e *env, h http.Handler) {
	return func(t *testing.T, _ *env, h http.Handler) {
		for _, req := range reqs {
			do(t, h, req)
		}
	}
}
