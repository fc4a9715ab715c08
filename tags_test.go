package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestTagHeaderNotIn103: a 103 Early Hints carries the header as
// it stands; the tag header is taken out of it (and still tags the
// response) on the miss path and on a bypass.
func TestTagHeaderNotIn103(t *testing.T) {
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

// TestInnerBypassKeepsOuterTags: with two Caches stacked, a
// request the inner one bypasses is still stored by the outer one, which
// must see the tag header.
func TestInnerBypassKeepsOuterTags(t *testing.T) {
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

// TestInnerBypassOtherTagHeader: stacked Caches with different
// tag headers; the inner one's bypass hands its tags to the outer one and
// removes its header, which the outer one would neither read nor remove.
func TestInnerBypassOtherTagHeader(t *testing.T) {
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

// TestNotModifiedWithTooManyTagsNotRestored: a 304 whose tags break the limits must
// not re-store the entry with its old tags.
func TestNotModifiedWithTooManyTagsNotRestored(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var n atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", `"x"`)
		if n.Add(1) == 1 {
			w.Header().Set("Cache-Tag", "old")
			fmt.Fprint(w, "body")
			return
		}
		var tags []string
		for i := range 70 {
			tags = append(tags, fmt.Sprintf("t%d", i))
		}
		w.Header().Set("Cache-Tag", strings.Join(append(tags, "new"), " "))
		w.WriteHeader(http.StatusNotModified)
	}))
	do(t, h, get("/p"))
	e.clock.Advance(11 * time.Second)
	if res := do(t, h, get("/p")); res.body != "body" {
		t.Fatalf("revalidated: %q %q", res.body, res.cacheStatus())
	}
	if err := e.cache.PurgeTags(context.Background(), "new"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/p")); isHit(res) {
		t.Fatal("stored without the tags the 304 gave: it survived their purge")
	}
}

// TestTagHeaderNeverReachesClient: the tag header is removed
// from every response that goes through the cache, stored or not.
func TestTagHeaderNeverReachesClient(t *testing.T) {
	e := newEnv(t, httpcache.Options{Bypass: func(r *http.Request) bool { return r.URL.Query().Has("bypass") }})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Cache-Tag", "tenant:42")
		fmt.Fprint(w, "x")
	}))
	for _, req := range []request{
		get("/a"),
		get("/a").with("HEAD"),
		get("/b", "Range", "bytes=0-0"),
		get("/b", "If-Match", `"x"`),
		get("/b?bypass"),
		get("/b").with(http.MethodPost),
		get("/b").with(http.MethodDelete),
		get("/b").with(http.MethodOptions),
	} {
		if res := do(t, h, req); res.header.Get("Cache-Tag") != "" {
			t.Errorf("%s %s %v: the tag header reached the client: %q", req.method, req.url, req.header, res.header.Get("Cache-Tag"))
		}
	}
}

// TestStackedCachesShareTags: with two Caches stacked, the outer
// one stores what the inner one serves, with the same tags — whether the
// inner one fetched it (tags from the header and from Tag) or served it
// from its store — so a tag purge of the outer Cache reaches it.
func TestStackedCachesShareTags(t *testing.T) {
	outer := newEnv(t, httpcache.Options{})
	inner := newEnv(t, httpcache.Options{})
	var calls atomic.Int64
	h := outer.cache.Handler(inner.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "header-tag")
		httpcache.Tag(r, "code-tag")
		fmt.Fprint(w, "x")
	})))
	if res := do(t, h, get("/n")); res.header.Get("Cache-Tag") != "" {
		t.Fatalf("the tag header reached the client: %q", res.header.Get("Cache-Tag"))
	}
	for _, tag := range []string{"header-tag", "code-tag", "header-tag"} {
		if res := do(t, h, get("/n")); !isHit(res) {
			t.Fatalf("not stored by the outer Cache: %q", res.header.Values("Cache-Status"))
		}
		if err := outer.cache.PurgeTags(context.Background(), tag); err != nil {
			t.Fatal(err)
		}
		// The outer Cache misses; the inner one serves its stored copy,
		// which the outer one stores again, with its tags.
		n := calls.Load()
		if res := do(t, h, get("/n")); isHit(res) || calls.Load() != n {
			t.Fatalf("after purging %s from the outer Cache: %q, %d handler calls", tag, res.header.Values("Cache-Status"), calls.Load()-n)
		}
	}
	if err := inner.cache.PurgeTags(context.Background(), "code-tag"); err != nil {
		t.Fatal(err)
	}
	if err := outer.cache.PurgeTags(context.Background(), "code-tag"); err != nil {
		t.Fatal(err)
	}
	n := calls.Load()
	do(t, h, get("/n"))
	if calls.Load() != n+1 {
		t.Fatal("purged from both Caches, yet the handler did not run")
	}
}
