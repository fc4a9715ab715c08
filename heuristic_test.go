package httpcache_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestHeuristicFreshness: with Policy.Heuristic, a response that states no
// freshness but has a Last-Modified ten hours before its Date is fresh for
// an hour at 10% (RFC 9111 §4.2.2), hits carry Age, and once stale it is
// revalidated with If-Modified-Since. Without the option, or for a status
// that is not heuristically cacheable (RFC 9110 §15.1), it is not stored.
func TestHeuristicFreshness(t *testing.T) {
	tenPercent := httpcache.Options{Policy: httpcache.Policy{Heuristic: httpcache.Heuristic{Fraction: 0.1}}}
	tests := []struct {
		name   string
		opts   httpcache.Options
		status int
		cc     string
		stored bool
	}{
		{"10%", tenPercent, 200, "", true},
		{"off by default", httpcache.Options{}, 200, "", false},
		{"a 404", tenPercent, 404, "", true},
		{"a 201 is not heuristically cacheable", tenPercent, 201, "", false},
		{"a 302 is not heuristically cacheable", tenPercent, 302, "", false},
		{"explicit freshness wins", tenPercent, 200, "max-age=60", false}, // stale at 59 min
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			now := e.clock.Now()
			var conditional string
			c := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
				conditional = r.Header.Get("If-Modified-Since")
				w.Header().Set("Date", e.clock.Now().Format(http.TimeFormat))
				w.Header().Set("Last-Modified", now.Add(-10*time.Hour).Format(http.TimeFormat))
				if tc.cc != "" {
					w.Header().Set("Cache-Control", tc.cc)
				}
				w.WriteHeader(tc.status)
			}}
			h := e.cache.Handler(c)
			do(t, h, get("/h"))
			e.clock.Advance(59 * time.Minute)
			res := do(t, h, get("/h"))
			if isHit(res) != tc.stored || res.status != tc.status {
				t.Fatalf("59 minutes on: %d %q, want a hit: %v", res.status, res.cacheStatus(), tc.stored)
			}
			if !tc.stored {
				return
			}
			if res.header.Get("Age") != "3540" {
				t.Fatalf("Age %q, want 3540", res.header.Get("Age"))
			}
			e.clock.Advance(2 * time.Minute)
			res = do(t, h, get("/h"))
			if c.n() != 2 || conditional == "" || res.cacheStatus() != "httpcache; fwd=stale; stored" {
				t.Fatalf("an hour and a minute on: %d calls, If-Modified-Since %q, %q; want a revalidation", c.n(), conditional, res.cacheStatus())
			}
		})
	}
}

// TestNegativeHeuristicMaxPanics pins that a negative Policy.Heuristic.Max
// is refused when the policy is compiled, as a negative TTL is.
func TestNegativeHeuristicMaxPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Heuristic.Max") {
			t.Fatalf("recovered %v, want a panic naming Policy.Heuristic.Max", r)
		}
	}()
	httpcache.New(memory.New(memory.Options{}), httpcache.Options{Policy: httpcache.Policy{Heuristic: httpcache.Heuristic{Fraction: 0.1, Max: -time.Hour}}})
}
