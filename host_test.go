package httpcache_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
)

// canonicalHost is the usual canonical-host middleware: any Host other
// than example.com is redirected there, permanently and cacheably.
func canonicalHost() *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		if r.Host != "example.com" {
			http.Redirect(w, r, "http://example.com"+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		w.Write([]byte("page"))
	}}
}

// serveHost serves GET http://example.com/a with the given Host line.
func serveHost(h http.Handler, host string, tls bool) result {
	r := httptest.NewRequest("GET", "http://example.com/a", nil)
	r.Host = host
	if tls {
		r.TLS = httpsState()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	return result{status: res.StatusCode, header: res.Header, body: rec.Body.String()}
}

// TestHostWithDefaultOrEmptyPortNeverSharesBareHostKey: a Host that spells
// out the scheme's default port ("example.com:80" over http,
// "example.com:443" over https) or an empty one ("example.com:") is a
// different Host to the handler, which may answer it differently (a
// canonical-host redirect): it must never be served the bare host's entry,
// nor its response the bare host's clients. Such spellings bypass the cache
// (browsers never send them). A non-default port is cached under its own
// key.
func TestHostWithDefaultOrEmptyPortNeverSharesBareHostKey(t *testing.T) {
	for _, tc := range []struct {
		host string
		tls  bool
	}{
		{"example.com:80", false},
		{"example.com:", false},
		{"example.com:443", true},
		{"example.com:", true},
	} {
		t.Run(tc.host, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			h := e.cache.Handler(canonicalHost())
			if res := serveHost(h, tc.host, tc.tls); res.status != http.StatusMovedPermanently {
				t.Fatalf("Host %q: %d %q, want a 301", tc.host, res.status, res.cacheStatus())
			}
			for i := 0; i < 2; i++ {
				if res := serveHost(h, "example.com", tc.tls); res.status != http.StatusOK || res.body != "page" {
					t.Fatalf("Host example.com after %q: %d %q (Cache-Status %q), want 200 page",
						tc.host, res.status, res.body, res.cacheStatus())
				}
			}
			if res := serveHost(h, tc.host, tc.tls); res.status != http.StatusMovedPermanently {
				t.Fatalf("Host %q after example.com was stored: %d %q, want its own 301", tc.host, res.status, res.cacheStatus())
			} else if !strings.Contains(res.cacheStatus(), "fwd=bypass; detail=host") {
				t.Fatalf("Host %q: Cache-Status %q, want a bypass (detail=host)", tc.host, res.cacheStatus())
			}
		})
	}
}

// TestHostWithOtherPortCachedUnderItsOwnKey: a non-default port, as browsers
// send for 127.0.0.1:8080, is ordinary: cached, and apart from the bare
// host and from other ports.
func TestHostWithOtherPortCachedUnderItsOwnKey(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(echoHost())
	for _, host := range []string{"example.com:8080", "example.com", "example.com:443", "example.com:8080", "example.com", "example.com:443"} {
		if res := serveHost(h, host, false); res.body != host {
			t.Fatalf("Host %q: body %q (Cache-Status %q)", host, res.body, res.cacheStatus())
		}
	}
	if res := serveHost(h, "example.com:8080", false); !isHit(res) {
		t.Fatalf("Host example.com:8080 again: %q, want a hit", res.cacheStatus())
	}
}

// echoHost answers with the Host it saw.
func echoHost() *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write([]byte(r.Host))
	}}
}
