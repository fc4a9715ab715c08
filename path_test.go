package httpcache_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
)

// serveTarget serves a request whose request line carries target exactly as
// given, as a client sends it on the wire.
func serveTarget(t *testing.T, h http.Handler, target string) result {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n")))
	if err != nil {
		t.Fatalf("request target %q: %v", target, err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	return result{status: res.StatusCode, header: res.Header, body: rec.Body.String()}
}

// TestRequestPathSpellingsNeverShareAnEntry: two request targets whose
// paths differ only in escaping ("/x<svg>" and the browser's "/x%3Csvg%3E")
// are different requests to a handler that reads r.RequestURI (or
// r.URL.RawPath): one must never be served the other's response. A path
// spelled as no purge URL would name it is not cached at all; a browser's
// spelling is.
func TestRequestPathSpellingsNeverShareAnEntry(t *testing.T) {
	for _, pair := range [][2]string{
		{"/x<svg>", "/x%3Csvg%3E"},
		{"/caf\u00e9", "/caf%C3%A9"},
		{"/a\"b", "/a%22b"},
	} {
		t.Run(pair[1], func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=3600")
				w.Write([]byte(r.RequestURI))
			}})
			for i := 0; i < 2; i++ {
				for _, target := range pair {
					if res := serveTarget(t, h, target); res.body != target {
						t.Fatalf("round %d, %q: served %q (Cache-Status %q)", i, target, res.body, res.cacheStatus())
					}
				}
			}
			if res := serveTarget(t, h, pair[1]); !isHit(res) {
				t.Errorf("%q again: Cache-Status %q, want a hit", pair[1], res.cacheStatus())
			}
			if res := serveTarget(t, h, pair[0]); !strings.Contains(res.cacheStatus(), "fwd=bypass; detail=path") {
				t.Errorf("%q again: Cache-Status %q, want a bypass (detail=path)", pair[0], res.cacheStatus())
			}
		})
	}
}
