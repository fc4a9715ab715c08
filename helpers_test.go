package httpcache_test

import (
	"github.com/seedcache/httpcache/internal/fakeclock"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// env is one cache over a memory store with an injected clock.
type env struct {
	t     *testing.T
	clock *fakeclock.Clock
	store *memory.Store
	cache *httpcache.Cache
}

func newEnv(t *testing.T, opts httpcache.Options) *env {
	t.Helper()
	clk := newClock()
	store := memory.New(memory.Options{Clock: clk.Now})
	opts.Clock = clk.Now
	return &env{t: t, clock: clk, store: store, cache: httpcache.New(store, opts)}
}

// counter is a handler that counts its calls and answers with fn.
type counter struct {
	calls atomic.Int64
	fn    func(w http.ResponseWriter, r *http.Request)
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls.Add(1)
	c.fn(w, r)
}

func (c *counter) n() int64 { return c.calls.Load() }

// handlerFunc builds a counter that writes the given headers and body.
func respond(status int, header map[string]string, body string) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}}
}

// request is one test request.
type request struct {
	method string
	url    string
	header map[string]string
	tls    bool
}

func get(url string, kv ...string) request {
	r := request{method: http.MethodGet, url: url, header: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.header[kv[i]] = kv[i+1]
	}
	return r
}

func (r request) with(method string) request { r.method = method; return r }

// result is a recorded response.
type result struct {
	status int
	header http.Header
	body   string
}

// cacheStatus is the last (our) member of the Cache-Status list.
func (res result) cacheStatus() string {
	v := res.header.Values("Cache-Status")
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// do serves req through h and returns the response.
func do(t *testing.T, h http.Handler, req request) result {
	t.Helper()
	r := httptest.NewRequest(req.method, req.url, nil)
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	if req.tls {
		r.TLS = httpsState()
		r.URL.Scheme = "https"
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func isHit(res result) bool { return strings.HasSuffix(res.cacheStatus(), "; hit") }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// discardLogger keeps expected store failures out of the test output.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
