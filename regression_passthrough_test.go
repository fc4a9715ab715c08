package httpcache_test

// Regression tests for responses the cache passes through (bypasses, other
// methods, 1xx), found in review.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestRegressionTagHeaderNotIn103: a 103 Early Hints carries the header as
// it stands; the tag header is taken out of it (and still tags the
// response) on the miss path and on a bypass.
func TestRegressionTagHeaderNotIn103(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var version atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Tag", "early")
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	fetch := func(rng string) (body string, leaked []string) {
		req, _ := http.NewRequest("GET", srv.URL+"/p", nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				leaked = append(leaked, h.Values("Cache-Tag")...)
				return nil
			},
		}))
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		leaked = append(leaked, res.Header.Values("Cache-Tag")...)
		return string(b), leaked
	}
	for _, rng := range []string{"", "bytes=0-0"} {
		if _, leaked := fetch(rng); len(leaked) > 0 {
			t.Errorf("Range %q: the tag header reached the client: %q", rng, leaked)
		}
	}
	version.Store(1)
	if err := e.cache.PurgeTags(context.Background(), "early"); err != nil {
		t.Fatal(err)
	}
	if body, _ := fetch(""); body != "v1" {
		t.Fatalf("a tag set before the 103 did not tag the stored response: %q after its purge", body)
	}
}

// TestRegressionInnerBypassKeepsOuterTags: with two Caches stacked, a
// request the inner one bypasses is still stored by the outer one, which
// must see the tag header.
func TestRegressionInnerBypassKeepsOuterTags(t *testing.T) {
	outer := newEnv(t, httpcache.Options{})
	inner := newEnv(t, httpcache.Options{Bypass: func(*http.Request) bool { return true }})
	var version atomic.Int64
	h := outer.cache.Handler(inner.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	})))
	if res := do(t, h, get("/p")); res.header.Get("Cache-Tag") != "" {
		t.Fatalf("the tag header reached the client: %q", res.header.Get("Cache-Tag"))
	}
	if res := do(t, h, get("/p")); !isHit(res) {
		t.Fatal("the outer Cache did not store the response")
	}
	version.Store(1)
	if err := outer.cache.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/p")); res.body != "v1" {
		t.Fatalf("the outer Cache's tag purge did not reach it: %q %q", res.body, res.cacheStatus())
	}
}

// readFromRecorder counts calls of ReadFrom, the path to sendfile.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFroms int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	return io.Copy(struct{ io.Writer }{r.ResponseRecorder}, src)
}

// TestRegressionPassThroughKeepsReadFrom: a bypassed response (here a Range
// request for a file, the typical one) and a POST's still reach the
// server's ReadFrom, so files go out with sendfile.
func TestRegressionPassThroughKeepsReadFrom(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 1<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		w.Header().Set("Cache-Tag", "file")
		if r.Method == http.MethodPost {
			io.Copy(w, f)
			return
		}
		http.ServeContent(w, r, "big", time.Time{}, f)
	}))
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/big", nil),
		httptest.NewRequest("POST", "/big", nil),
	} {
		if r.Method == "GET" {
			r.Header.Set("Range", "bytes=0-524287")
		}
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(rec, r)
		if rec.readFroms == 0 || rec.Body.Len() < 1<<19 {
			t.Fatalf("%s: %d bytes, ReadFrom called %d times (want the server's ReadFrom)", r.Method, rec.Body.Len(), rec.readFroms)
		}
		if rec.Header().Get("Cache-Tag") != "" {
			t.Fatalf("%s: the tag header reached the client", r.Method)
		}
	}
}

// TestRegressionInnerBypassOtherTagHeader: stacked Caches with different
// tag headers; the inner one's bypass hands its tags to the outer one and
// removes its header, which the outer one would neither read nor remove.
func TestRegressionInnerBypassOtherTagHeader(t *testing.T) {
	outer := newEnv(t, httpcache.Options{})
	inner := newEnv(t, httpcache.Options{TagHeader: "Surrogate-Key", Bypass: func(*http.Request) bool { return true }})
	var version atomic.Int64
	h := outer.cache.Handler(inner.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "t")
		fmt.Fprintf(w, "v%d", version.Load())
	})))
	if v := do(t, h, get("/p")).header.Get("Surrogate-Key"); v != "" {
		t.Fatalf("the inner Cache's tag header reached the client: %q", v)
	}
	res := do(t, h, get("/p"))
	if !isHit(res) || res.header.Get("Surrogate-Key") != "" {
		t.Fatalf("stored by the outer Cache: %v, with the header %q", isHit(res), res.header.Get("Surrogate-Key"))
	}
	version.Store(1)
	if err := outer.cache.PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/p")); res.body != "v1" {
		t.Fatalf("the outer Cache did not learn the inner Cache's tags: %q %q", res.body, res.cacheStatus())
	}
}

// TestRegressionNothingSentYet: a flush the writer below cannot do, or a
// copy of nothing, sends no header: the tag header set afterwards is still
// removed, and the status that does go out (an error) is the one that
// decides the invalidation of a POST.
func TestRegressionNothingSentYet(t *testing.T) {
	for _, how := range []string{"failed flush", "empty copy"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			var h http.Handler = e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					w.Header().Set("Cache-Control", "max-age=600")
					io.WriteString(w, "stored")
					return
				}
				if how == "failed flush" {
					http.NewResponseController(w).Flush() // http.TimeoutHandler's writer cannot
				} else {
					io.Copy(w, struct{ io.Reader }{strings.NewReader("")}) // net/http sends nothing
				}
				w.Header().Set("Cache-Tag", "secret")
				w.WriteHeader(http.StatusInternalServerError)
			}))
			if how == "failed flush" {
				h = http.TimeoutHandler(h, time.Minute, "timeout")
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			send := func(method string) *http.Response {
				req, _ := http.NewRequest(method, srv.URL+"/r", nil)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			send("GET")
			if resp := send("POST"); resp.StatusCode != 500 || resp.Header.Get("Cache-Tag") != "" {
				t.Fatalf("POST: %d, tag header %q", resp.StatusCode, resp.Header.Get("Cache-Tag"))
			}
			if st := send("GET").Header.Get("Cache-Status"); st != "httpcache; hit" {
				t.Fatalf("a POST answered 500 invalidated the stored response: %q", st)
			}
		})
	}
}
