package httpcache_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// TestStoredEncodingNeverServedToClientThatDoesNotAcceptIt: requests that
// normalise to one Accept-Encoding variant may still differ in a coding the
// Cache was not told of (Options.Codings). A stored response in a coding the
// request does not accept (RFC 9110 §12.5.3) is never served to it, fresh
// or stale: the request is a vary-miss and goes to the handler.
func TestStoredEncodingNeverServedToClientThatDoesNotAcceptIt(t *testing.T) {
	tests := []scenario{
		{
			name:    "a coding outside the default Codings",
			handler: encoder("max-age=60", "compress", "gzip"),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "compress, gzip"), calls: 1, body: str("compress"), check: headerIs("Content-Encoding", "compress")},
				{req: get("/e", "Accept-Encoding", "gzip"), calls: 2, body: str("gzip"), check: statusHas("fwd=vary-miss; stored")},
				{req: get("/e", "Accept-Encoding", "gzip"), calls: 2, hit: true, body: str("gzip")},
				// gzip is acceptable to the first client too.
				{req: get("/e", "Accept-Encoding", "compress, gzip"), calls: 2, hit: true, body: str("gzip")},
			},
		},
		{
			name:    "a coding left out of Options.Codings",
			opts:    httpcache.Options{Codings: []string{"gzip"}},
			handler: encoder("max-age=60", "br", "gzip"),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "br, gzip"), calls: 1, body: str("br")},
				{req: get("/e", "Accept-Encoding", "gzip"), calls: 2, body: str("gzip")},
				{req: get("/e", "Accept-Encoding", "gzip, br;q=0"), calls: 2, hit: true, body: str("gzip")},
			},
		},
		{
			// A Normalizers func replaces the Accept-Encoding rule: its
			// key says nothing about the candidate codings, so requests
			// sharing it may differ in what they accept.
			name: "a Normalizers func for Accept-Encoding",
			opts: httpcache.Options{Normalizers: map[string]func([]string) string{
				"Accept-Encoding": func(v []string) string {
					if strings.Contains(strings.ToLower(strings.Join(v, ",")), "gzip") {
						return "gzip"
					}
					return "identity"
				},
			}},
			handler: encoder("max-age=60", "br", "gzip"),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "br, gzip"), calls: 1, body: str("br")},
				{req: get("/e", "Accept-Encoding", "gzip"), calls: 2, body: str("gzip"), check: statusHas("fwd=vary-miss")},
			},
		},
		{
			name:    "x-gzip is gzip",
			handler: encoder("max-age=60", "x-gzip"),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "x-gzip"), calls: 1, body: str("x-gzip")},
				{req: get("/e", "Accept-Encoding", "GZIP"), calls: 1, hit: true, body: str("x-gzip")},
			},
		},
		{
			name:    "stale, within stale-while-revalidate",
			handler: encoder("max-age=1, stale-while-revalidate=600", "compress", "gzip"),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "compress, gzip"), calls: 1, body: str("compress")},
				{req: get("/e", "Accept-Encoding", "gzip"), advance: 5 * time.Second, calls: 2, body: str("gzip"), check: statusHas("fwd=vary-miss")},
			},
		},
		{
			name:    "stale, as the client allows with max-stale",
			opts:    httpcache.Options{RequestDirectives: true},
			handler: encoder("max-age=10", "compress", "gzip"),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "compress, gzip"), calls: 1, body: str("compress")},
				{req: get("/e", "Accept-Encoding", "compress, gzip", "Cache-Control", "max-stale=600"), advance: 15 * time.Second, calls: 1, body: str("compress"), check: statusHas("detail=max-stale")},
				{req: get("/e", "Accept-Encoding", "gzip", "Cache-Control", "max-stale=600"), calls: 2, body: str("gzip")},
			},
		},
		{
			name: "stale, in place of an error",
			handler: func() *counter {
				enc := encoder("max-age=1, stale-if-error=600", "compress", "gzip")
				c := &counter{}
				c.fn = func(w http.ResponseWriter, r *http.Request) {
					if c.n() > 1 {
						http.Error(w, "down", http.StatusServiceUnavailable)
						return
					}
					enc.fn(w, r)
				}
				return c
			}(),
			steps: []step{
				{req: get("/e", "Accept-Encoding", "compress, gzip"), calls: 1, body: str("compress")},
				{req: get("/e", "Accept-Encoding", "gzip"), advance: 5 * time.Second, calls: 2, status: http.StatusServiceUnavailable},
				{req: get("/e", "Accept-Encoding", "compress, gzip"), calls: 3, body: str("compress"), check: statusHas("detail=stale-if-error")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// TestCollapsedWaiterNeverServedAnEncodingItDoesNotAccept: a request waiting
// on another's fetch of the same variant is not handed its response in a
// coding it does not accept; it fetches for itself.
func TestCollapsedWaiterNeverServedAnEncodingItDoesNotAccept(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	g := newGate(encoder("max-age=60", "compress", "gzip").ServeHTTP)
	h := e.cache.Handler(g)
	serve := func(ae string) chan *httptest.ResponseRecorder {
		ch := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			r := httptest.NewRequest("GET", "/e", nil)
			r.Header.Set("Accept-Encoding", ae)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			ch <- rec
		}()
		return ch
	}
	leader := serve("compress, gzip")
	testwait.For(t, "the leader to call the handler", func() bool { return g.calls.Load() == 1 })
	waiter := serve("gzip")
	testwait.For(t, "the gzip-only request to wait on the leader", func() bool { return e.cache.Stats().Waiting == 1 })
	close(g.release)
	if rec := <-leader; rec.Header().Get("Content-Encoding") != "compress" {
		t.Fatalf("leader: Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
	rec := <-waiter
	if got := rec.Header().Get("Content-Encoding"); got != "gzip" || rec.Body.String() != "gzip" {
		t.Fatalf("gzip-only client served Content-Encoding %q, body %q (%s)", got, rec.Body.String(), rec.Header().Get("Cache-Status"))
	}
	if g.calls.Load() != 2 {
		t.Fatalf("handler called %d times, want 2", g.calls.Load())
	}
}
