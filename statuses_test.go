package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestAnyFinalStatusWithExplicitFreshness: RFC 9111 §3 lets a cache store
// a response of any final status it understands when the response gives
// explicit freshness: 5xx, 303, 400, 403, and statuses it knows nothing of
// (299, 499, 599) — a status is understood as its class unless the
// response says must-understand (§5.2.2.3; then no-store gives way for a
// status the cache does implement). 206 (ranges are not stored) and 304
// (an answer to a condition, not a representation) are never stored.
func TestAnyFinalStatusWithExplicitFreshness(t *testing.T) {
	tests := []struct {
		status int
		cc     string
		stored bool
	}{
		{200, "max-age=60", true},
		{303, "max-age=60", true},
		{400, "max-age=60", true},
		{403, "max-age=60", true},
		{500, "max-age=60", true},
		{502, "s-maxage=60", true},
		{503, "max-age=60", true},
		{299, "max-age=60", true},
		{499, "max-age=60", true},
		{599, "max-age=60", true},
		{500, "", false},                    // no freshness of its own
		{599, "public", false},              // public, but no TTL or heuristic to give it a lifetime
		{206, "max-age=60", false},          // ranges are not stored
		{304, "max-age=60", false},          // not a representation
		{500, "max-age=60, private", false}, // the rest of §3 still holds
		{200, "must-understand, no-store, max-age=60", true},
		{503, "must-understand, no-store, max-age=60", true},
		{299, "must-understand, no-store, max-age=60", false},
		{599, "must-understand, max-age=60", false},
		{200, "no-store, max-age=60", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.cc), func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			c := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
				if tc.cc != "" {
					w.Header().Set("Cache-Control", tc.cc)
				}
				w.WriteHeader(tc.status)
				if tc.status != 304 {
					io.WriteString(w, "status body")
				}
			}}
			h := e.cache.Handler(c)
			first := do(t, h, get("/s"))
			res := do(t, h, get("/s"))
			if isHit(res) != tc.stored || c.n() != map[bool]int64{true: 1, false: 2}[tc.stored] {
				t.Fatalf("%q, then %q (%d handler calls); want stored: %v", first.cacheStatus(), res.cacheStatus(), c.n(), tc.stored)
			}
			if res.status != tc.status {
				t.Fatalf("status %d, want %d", res.status, tc.status)
			}
			if tc.stored && res.body != "status body" {
				t.Fatalf("body %q", res.body)
			}
		})
	}
}

// TestErrorStatusesKeepTheirOwnLifetime: a lifetime of the cache's choosing
// — a route's TTL (Page, OverrideMaxAge), Policy.TTL, a heuristic one —
// never applies to a status outside those it always did: a 500 that says
// max-age=5 is kept 5 s under Page(time.Hour), and one that says nothing
// (or only public) is not stored.
func TestErrorStatusesKeepTheirOwnLifetime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cc     string
		stored bool
	}{
		{"max-age=5", "max-age=5", true},
		{"no freshness", "", false},
		// public makes a response storable without a lifetime of its
		// own (RFC 9111 §3), but gives a 500 none of the cache's: a
		// framework that marks every response public would else have
		// its error pages served for an hour.
		{"public", "public", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: time.Hour, Heuristic: httpcache.Heuristic{Fraction: 0.1}}})
			c := respond(500, map[string]string{"Cache-Control": tc.cc, "Last-Modified": lmStr}, "error")
			for _, h := range []http.Handler{e.cache.Page(time.Hour)(c), e.cache.Handler(c)} {
				e.store.Clear()
				before := c.n()
				do(t, h, get("/err"))
				res := do(t, h, get("/err"))
				if isHit(res) != tc.stored {
					t.Fatalf("%q; want stored: %v", res.cacheStatus(), tc.stored)
				}
				e.clock.Advance(6 * time.Second)
				if res := do(t, h, get("/err")); isHit(res) {
					t.Fatalf("a 500 that said %q is still served 6 s on: %q", tc.cc, res.cacheStatus())
				}
				if want := map[bool]int64{true: 2, false: 3}[tc.stored]; c.n()-before != want {
					t.Fatalf("%d handler calls, want %d", c.n()-before, want)
				}
			}
		})
	}
}

// TestStoredErrorNeverStandsInForAnError: stale-if-error serves a stale
// response instead of an error (RFC 5861 §4); a stored 500 is itself an
// error, so it never does — neither by its own stale-if-error nor by the
// route's grace: the new error goes through. A stored 200 still stands in
// for a 500 that says max-age, which is then not stored.
func TestStoredErrorNeverStandsInForAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts httpcache.Options
		cc   string
	}{
		{"directive", httpcache.Options{}, "max-age=10, stale-if-error=600"},
		{"route grace", httpcache.Options{Policy: httpcache.Policy{StaleIfError: 10 * time.Minute}}, "max-age=10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = discardLogger()
			e := newEnv(t, tc.opts)
			var status atomic.Int64
			var version atomic.Int64
			h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tc.cc)
				w.WriteHeader(int(status.Load()))
				fmt.Fprintf(w, "%d v%d", status.Load(), version.Load())
			}))

			// A stored 500 goes stale; the handler now answers 503.
			status.Store(500)
			do(t, h, get("/a"))
			if res := do(t, h, get("/a")); !isHit(res) || res.body != "500 v0" {
				t.Fatalf("the 500 was not stored: %q %q", res.body, res.cacheStatus())
			}
			e.clock.Advance(30 * time.Second)
			status.Store(503)
			version.Store(1)
			if res := do(t, h, get("/a")); res.status != 503 || res.body != "503 v1" {
				t.Fatalf("the stored 500 stood in for a 503: %d %q %q", res.status, res.body, res.cacheStatus())
			}

			// A stored 200 goes stale; the handler answers 500 with
			// max-age: the 200 stands in, and the 500 is not stored.
			status.Store(200)
			do(t, h, get("/b"))
			e.clock.Advance(30 * time.Second)
			status.Store(500)
			version.Store(2)
			if res := do(t, h, get("/b")); res.status != 200 || res.body != "200 v1" {
				t.Fatalf("the stale 200 did not stand in for the 500: %d %q %q", res.status, res.body, res.cacheStatus())
			}
			status.Store(200)
			version.Store(3)
			if res := do(t, h, get("/b")); res.body != "200 v3" {
				t.Fatalf("after the error: %q %q; want a fresh fetch", res.body, res.cacheStatus())
			}
		})
	}
}
