package httpcache_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// revalidated is the Cache-Status of a stale response the origin
// confirmed with a 304.
const revalidated = "httpcache; fwd=stale; fwd-status=304; stored"

// cdnOnly is a cache obeying CDN-Cache-Control (RFC 9213 §3).
var cdnOnly = httpcache.Options{TargetedFields: []string{"CDN-Cache-Control"}}

// targetedOrigin answers with a Date from the env's clock, an ETag, the
// given fields, and 304 to a matching If-None-Match (then with fields304).
func targetedOrigin(e *env, fields, fields304 map[string]string) (*counter, *string) {
	var inm string
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		inm = r.Header.Get("If-None-Match")
		w.Header().Set("Date", e.clock.Now().Format(http.TimeFormat))
		w.Header().Set("ETag", `"v1"`)
		if inm == `"v1"` {
			for k, v := range fields304 {
				w.Header().Set(k, v)
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		for k, v := range fields {
			w.Header().Set(k, v)
		}
		w.Write([]byte("body"))
	}}, &inm
}

// TestTargetedFieldDecides: the first valid targeted field on the cache's
// list decides storage and freshness in place of Cache-Control and
// Expires, with Cache-Control's directives (RFC 9213 §2.2); an invalid
// one is ignored, and Cache-Control decides (§2.1); with no list, a
// targeted field changes nothing (§2.2: fields not on the list MUST NOT
// change the cache's behaviour). Five minutes after the first request, a
// second is a hit, a revalidation or a fetch.
func TestTargetedFieldDecides(t *testing.T) {
	farExpires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name   string
		opts   httpcache.Options
		fields map[string]string
		want   string // the second request's Cache-Status
	}{
		{"max-age over Cache-Control's (§2.2)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "max-age=600", "Cache-Control": "max-age=60"}, "httpcache; hit"},
		{"max-age over Cache-Control no-store (§2.2)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "max-age=600", "Cache-Control": "no-store"}, "httpcache; hit"},
		{"max-age over Cache-Control private (§2.2)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "max-age=600", "Cache-Control": "private"}, "httpcache; hit"},
		{"s-maxage over max-age (RFC 9111 §5.2.2.10)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "max-age=60, s-maxage=600"}, "httpcache; hit"},
		{"private: not stored", cdnOnly,
			map[string]string{"CDN-Cache-Control": "private", "Cache-Control": "public, max-age=600"}, "httpcache; fwd=uri-miss; detail=private"},
		{"no-store: not stored", cdnOnly,
			map[string]string{"CDN-Cache-Control": "no-store", "Cache-Control": "max-age=600"}, "httpcache; fwd=uri-miss; detail=no-store"},
		{"no-cache: revalidated on every use", cdnOnly,
			map[string]string{"CDN-Cache-Control": "no-cache, max-age=600", "Cache-Control": "max-age=600"}, revalidated},
		{"Expires ignored (§2.2)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "max-age=60", "Expires": farExpires}, revalidated},
		{"Cache-Control without the field", cdnOnly,
			map[string]string{"Cache-Control": "max-age=600"}, "httpcache; hit"},
		{"invalid: Cache-Control decides (§2.1)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "max-age=600,", "Cache-Control": "max-age=60"}, revalidated},
		{"invalid: Cache-Control no-store decides (§2.1)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "Max-Age=600", "Cache-Control": "no-store"}, "httpcache; fwd=uri-miss; detail=no-store"},
		{"empty: Cache-Control decides (§2.1)", cdnOnly,
			map[string]string{"CDN-Cache-Control": "", "Cache-Control": "max-age=600"}, "httpcache; hit"},
		{"not on the list: no effect (zero Options)", httpcache.Options{},
			map[string]string{"CDN-Cache-Control": "max-age=600", "Cache-Control": "max-age=60"}, revalidated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			c, inm := targetedOrigin(e, tc.fields, tc.fields)
			h := e.cache.Handler(c)
			first := do(t, h, get("/t"))
			for k, v := range tc.fields {
				if got := first.header.Get(k); got != v {
					t.Errorf("the client got %s %q, want %q: targeted fields are passed on (§3)", k, got, v)
				}
			}
			e.clock.Advance(5 * time.Minute)
			res := do(t, h, get("/t"))
			if res.cacheStatus() != tc.want || res.body != "body" {
				t.Fatalf("five minutes on: %q %q, want %q", res.cacheStatus(), res.body, tc.want)
			}
			if conditional := *inm == `"v1"`; conditional != (tc.want == revalidated) {
				t.Fatalf("If-None-Match %q for %q", *inm, tc.want)
			}
		})
	}
}

// TestTargetedFieldOrder: with several targeted fields, the first on the
// cache's list that is present and valid wins, whatever their order in
// the response (RFC 9213 §2.2).
func TestTargetedFieldOrder(t *testing.T) {
	acmeFirst := []string{"Acme-Cache-Control", "CDN-Cache-Control"}
	tests := []struct {
		name   string
		list   []string
		fields map[string]string
		hit    bool // at five minutes
	}{
		{"first on the list", acmeFirst, map[string]string{"Acme-Cache-Control": "max-age=600", "CDN-Cache-Control": "max-age=60"}, true},
		{"the list's order, not the response's", []string{"CDN-Cache-Control", "Acme-Cache-Control"}, map[string]string{"Acme-Cache-Control": "max-age=600", "CDN-Cache-Control": "max-age=60"}, false},
		{"first invalid: the next", acmeFirst, map[string]string{"Acme-Cache-Control": "max-age=60 no-store", "CDN-Cache-Control": "max-age=600", "Cache-Control": "no-store"}, true},
		{"first absent: the next", acmeFirst, map[string]string{"CDN-Cache-Control": "max-age=600", "Cache-Control": "max-age=60"}, true},
		{"both invalid: Cache-Control", acmeFirst, map[string]string{"Acme-Cache-Control": "max-age=600;", "CDN-Cache-Control": `max-age="600"x`, "Cache-Control": "max-age=60"}, false},
		{"names in any case", []string{"acme-cache-control"}, map[string]string{"Acme-Cache-Control": "max-age=600", "Cache-Control": "max-age=60"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{TargetedFields: tc.list})
			c, _ := targetedOrigin(e, tc.fields, nil)
			h := e.cache.Handler(c)
			do(t, h, get("/o"))
			e.clock.Advance(5 * time.Minute)
			if res := do(t, h, get("/o")); isHit(res) != tc.hit {
				t.Fatalf("five minutes on: %q, want a hit: %v", res.cacheStatus(), tc.hit)
			}
		})
	}
}

// TestTargetedSMaxAgeForbidsStale: s-maxage in a targeted field means
// what it means in Cache-Control to a shared cache (RFC 9213 §2.2, RFC
// 9111 §5.2.2.10): the response is never served stale, whatever the
// route's stale-while-revalidate; with max-age alone it is.
func TestTargetedSMaxAgeForbidsStale(t *testing.T) {
	for _, tc := range []struct {
		cdn  string
		want string
	}{
		{"s-maxage=60", revalidated},
		{"max-age=60", "httpcache; hit; detail=stale-while-revalidate"},
	} {
		t.Run(tc.cdn, func(t *testing.T) {
			opts := cdnOnly
			opts.Policy.StaleWhileRevalidate = time.Hour
			e := newEnv(t, opts)
			c, _ := targetedOrigin(e, map[string]string{"CDN-Cache-Control": tc.cdn, "Cache-Control": "max-age=600"}, nil)
			h := e.cache.Handler(c)
			do(t, h, get("/s"))
			e.clock.Advance(90 * time.Second)
			if res := do(t, h, get("/s")); res.cacheStatus() != tc.want {
				t.Fatalf("90 s on: %q, want %q", res.cacheStatus(), tc.want)
			}
		})
	}
}

// TestTargetedFieldFreshenedBy304: a 304 that revalidates a stored
// response updates its fields (RFC 9111 §4.3.4), and its freshness is
// computed anew from the targeted field: the 304's own, or, when it sends
// none, the stored one.
func TestTargetedFieldFreshenedBy304(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields map[string]string
		hit    bool // five minutes after the revalidation
	}{
		{"the 304's targeted field", map[string]string{"CDN-Cache-Control": "max-age=600", "Cache-Control": "max-age=1"}, true},
		{"the stored targeted field", map[string]string{"Cache-Control": "max-age=600"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, cdnOnly)
			c, inm := targetedOrigin(e, map[string]string{"CDN-Cache-Control": "max-age=60", "Cache-Control": "max-age=600"}, tc.fields)
			h := e.cache.Handler(c)
			do(t, h, get("/f"))
			e.clock.Advance(2 * time.Minute)
			if res := do(t, h, get("/f")); res.cacheStatus() != revalidated || *inm != `"v1"` || res.body != "body" {
				t.Fatalf("two minutes on: %q %q, If-None-Match %q; want a revalidation", res.cacheStatus(), res.body, *inm)
			}
			e.clock.Advance(5 * time.Minute)
			if res := do(t, h, get("/f")); isHit(res) != tc.hit {
				t.Fatalf("five minutes after the 304: %q, want a hit: %v", res.cacheStatus(), tc.hit)
			}
		})
	}
}

// TestTargetedFieldsPanics: a name that is not a field name, or
// Cache-Control itself, is a programmer's error.
func TestTargetedFieldsPanics(t *testing.T) {
	for _, list := range [][]string{{"CDN Cache-Control"}, {""}, {"Cache-Control"}, {"CDN-Cache-Control", "cache-control"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("TargetedFields %q: no panic", list)
				}
			}()
			newEnv(t, httpcache.Options{TargetedFields: list})
		}()
	}
}
