package httpcache_test

import (
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestNotModifiedStrongETagDecides: a 304 whose strong ETag is the stored
// one identifies it, even when its Last-Modified moved (an updated_at
// beside a content hash): one handler call per revalidation.
func TestNotModifiedStrongETagDecides(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	calls := 0
	h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"content-v1"`)
		w.Header().Set("Last-Modified", time.Date(2024, 1, calls, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat))
		if r.Header.Get("If-None-Match") == `"content-v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body")
	}})
	do(t, h, get("/a"))
	for i := range 3 {
		e.clock.Advance(15 * time.Second)
		before := calls
		res := do(t, h, get("/a"))
		if calls-before != 1 || res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" {
			t.Errorf("revalidation %d: %d handler calls, %q", i, calls-before, res.cacheStatus())
		}
	}
}

// TestForeign304KeepsStoredFields: an origin that checks only
// If-Modified-Since answers 304 although its ETag changed; the response the
// cache stores afterwards still has its ETag and Cache-Control, and hits.
func TestForeign304KeepsStoredFields(t *testing.T) {
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

// TestHeadRevalidationRenewsGETEntry: a HEAD that revalidates a stale GET
// entry with a 304 renews the entry rather than deleting it: the next GET
// is a hit without another call to the handler.
func TestHeadRevalidationRenewsGETEntry(t *testing.T) {
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

// TestInjectedConditionalNot304ToClient: the outer layer revalidates its
// stale entry by adding If-None-Match to the request; an inner layer with
// other keys passes that 304 up, and the client, which sent no condition,
// still gets the 200 with its body.
func TestInjectedConditionalNot304ToClient(t *testing.T) {
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

// TestValidatedResponsesKeptForRevalidation: a response with a validator
// and a short life (max-age=1) is kept long enough to be revalidated: ten
// minutes after it went stale, a request still reaches the handler with
// If-None-Match, and its 304 renews the stored response (RFC 9111 §4.3.1).
// Past the floor it is gone, and MaxTTL bounds it as it bounds anything.
func TestValidatedResponsesKeptForRevalidation(t *testing.T) {
	tests := []struct {
		name        string
		opts        httpcache.Options
		advance     time.Duration
		conditional bool
	}{
		{"within the floor", httpcache.Options{}, 9*time.Minute + 59*time.Second, true},
		{"past the floor", httpcache.Options{}, 10*time.Minute + 2*time.Second, false},
		{"MaxTTL shorter than the floor", httpcache.Options{MaxTTL: time.Minute}, 2 * time.Minute, false},
		{"Keep set", httpcache.Options{Policy: httpcache.Policy{Keep: time.Hour}}, 59 * time.Minute, true},
		{"Keep negative", httpcache.Options{Policy: httpcache.Policy{Keep: -1}}, 3 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			var conditional atomic.Bool
			c := validating(nil, "max-age=1")
			h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conditional.Store(r.Header.Get("If-None-Match") != "")
				c.ServeHTTP(w, r)
			}))
			do(t, h, get("/k"))
			e.clock.Advance(tc.advance)
			res := do(t, h, get("/k"))
			if conditional.Load() != tc.conditional || res.body != "body" {
				t.Fatalf("after %v: conditional=%v (%q) %q, want conditional=%v", tc.advance, conditional.Load(), res.cacheStatus(), res.body, tc.conditional)
			}
			if tc.conditional && res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" {
				t.Fatalf("revalidation: Cache-Status %q", res.cacheStatus())
			}
		})
	}
}

// TestNoCacheRevalidatedOnEveryUse: a no-cache response with a validator is
// stored even when it states no lifetime (its status is heuristically
// cacheable, RFC 9111 §3), and every use asks the handler with the stored
// validator (§5.2.2.4); a 304 serves the stored response. A response that
// could not otherwise be stored (a 302 with no lifetime), or one to a
// request with a cookie, is not.
func TestNoCacheRevalidatedOnEveryUse(t *testing.T) {
	tests := []struct {
		name   string
		cc     string
		status int
		cookie bool
		stored bool
	}{
		{"no-cache alone", "no-cache", 200, false, true},
		{"no-cache, max-age=0", "no-cache, max-age=0", 200, false, true},
		{"no-cache, max-age=60", "no-cache, max-age=60", 200, false, true},
		{"no-cache on a 404", "no-cache", 404, false, true},
		{"no-cache on a 302 without a lifetime", "no-cache", 302, false, false},
		{"no-cache alone, request with a cookie", "no-cache", 200, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			var inm []string
			h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inm = append(inm, r.Header.Get("If-None-Match"))
				w.Header().Set("Cache-Control", tc.cc)
				w.Header().Set("Etag", `"a"`)
				if r.Header.Get("If-None-Match") == `"a"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, "body")
			}))
			req := get("/nc")
			if tc.cookie {
				req = get("/nc", "Cookie", "session=1")
			}
			do(t, h, req)
			for i := range 2 {
				e.clock.Advance(time.Second)
				res := do(t, h, req)
				if res.status != tc.status || res.body != "body" {
					t.Fatalf("use %d: %d %q", i, res.status, res.body)
				}
				if revalidated := res.cacheStatus() == "httpcache; fwd=stale; fwd-status=304; stored"; revalidated != tc.stored {
					t.Fatalf("use %d: Cache-Status %q; want a revalidation: %v", i, res.cacheStatus(), tc.stored)
				}
			}
			want := []string{"", "", ""}
			if tc.stored {
				want = []string{"", `"a"`, `"a"`}
			}
			if !slices.Equal(inm, want) {
				t.Fatalf("the handler saw If-None-Match %q, want %q", inm, want)
			}
		})
	}
}
