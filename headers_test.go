package httpcache_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// downStore is a networked store that is down.
type downStore struct{}

func (downStore) Get(context.Context, string) ([]byte, error) { return nil, io.ErrUnexpectedEOF }
func (downStore) Set(context.Context, string, []byte, time.Duration) error {
	return io.ErrUnexpectedEOF
}
func (downStore) Delete(context.Context, ...string) error { return io.ErrUnexpectedEOF }

// TestResponseHeaderSpelling: a storable response whose header net/http
// sends without complaint — a name set through the map in another case
// (w.Header()["ETag"]), a name that is not a token, a value with a newline
// — reaches the client whole, on the miss and on the hit, with the store
// up or down. (The stored copy once failed to decode, and the request
// panicked after its response had been written.)
func TestResponseHeaderSpelling(t *testing.T) {
	cases := map[string]struct {
		set   func(http.Header)
		check func(t *testing.T, h http.Header)
	}{
		"ETag set directly": {
			func(h http.Header) { h["ETag"] = []string{`"v1"`} },
			func(t *testing.T, h http.Header) {
				if h.Get("Etag") != `"v1"` {
					t.Errorf("ETag %q", h.Get("Etag"))
				}
			},
		},
		"X-XSS-Protection": {
			func(h http.Header) { h["X-XSS-Protection"] = []string{"0"} },
			func(t *testing.T, h http.Header) {
				if h.Get("X-Xss-Protection") != "0" {
					t.Errorf("X-XSS-Protection %q", h.Get("X-Xss-Protection"))
				}
			},
		},
		"value with newline": {
			func(h http.Header) { h.Set("X-Note", "a\nb") },
			func(t *testing.T, h http.Header) {
				if h.Get("X-Note") != "a b" {
					t.Errorf("X-Note %q, want %q as net/http sends it", h.Get("X-Note"), "a b")
				}
			},
		},
		"name with space": {
			func(h http.Header) { h["X Bad"] = []string{"v"} },
			func(t *testing.T, h http.Header) {},
		},
	}
	stores := map[string]func() httpcache.Store{
		"memory":     func() httpcache.Store { return memory.New(memory.Options{}) },
		"store down": func() httpcache.Store { return downStore{} },
	}
	for sname, newStore := range stores {
		for name, tc := range cases {
			t.Run(sname+"/"+name, func(t *testing.T) {
				app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=60")
					tc.set(w.Header())
					io.WriteString(w, "hello")
				})
				c := httpcache.New(newStore(), httpcache.Options{Logger: discardLogger()})
				srv := httptest.NewServer(c.Handler(app))
				defer srv.Close()
				for i := range 2 {
					resp, err := srv.Client().Get(srv.URL + "/a")
					if err != nil {
						t.Fatalf("request %d: %v", i, err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(b) != "hello" {
						t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
					}
					if want := sname == "memory" && i == 1; isHitStatus(resp.Header) != want {
						t.Fatalf("request %d: Cache-Status %q", i, resp.Header.Get("Cache-Status"))
					}
					tc.check(t, resp.Header)
				}
			})
		}
	}
}

func isHitStatus(h http.Header) bool { return h.Get("Cache-Status") == "httpcache; hit" }

// TestResponseHeaderSpellingDecides: the fields that decide whether a
// response is stored, and for whom, count whatever the case of their
// names, as they do for every client and cache downstream.
func TestResponseHeaderSpellingDecides(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["cache-control"] = []string{"max-age=60"}
		switch r.URL.Path {
		case "/private":
			w.Header()["cache-control"] = []string{"private, max-age=60"}
		case "/cookie":
			w.Header()["set-cookie"] = []string{"session=" + r.Header.Get("X-User")}
		case "/vary":
			w.Header()["vary"] = []string{"X-User"}
		case "/tagged":
			w.Header()["cache-tag"] = []string{"t1"}
		}
		io.WriteString(w, "for "+r.Header.Get("X-User"))
	}))
	for _, path := range []string{"/private", "/cookie", "/vary"} {
		do(t, h, get(path, "X-User", "alice"))
		res := do(t, h, get(path, "X-User", "bob"))
		if res.body != "for bob" || len(res.header["Set-Cookie"]) > 0 && res.header.Get("Set-Cookie") != "session=bob" {
			t.Fatalf("%s: bob got %q, Set-Cookie %q (%s)", path, res.body, res.header.Values("Set-Cookie"), res.cacheStatus())
		}
	}
	res := do(t, h, get("/tagged"))
	if len(res.header["Cache-Tag"]) > 0 || len(res.header["cache-tag"]) > 0 {
		t.Fatalf("the tag header reached the client: %v", res.header)
	}
	if res := do(t, h, get("/tagged")); !isHit(res) {
		t.Fatalf("/tagged not stored: %q", res.cacheStatus())
	}
	if err := e.cache.PurgeTags(context.Background(), "t1"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, h, get("/tagged")); isHit(res) {
		t.Fatalf("/tagged served after its tag was purged")
	}
}

// TestAuthorizationKeepsItsOwnLifetime: a response to a request with
// Authorization that is stored only because it says must-revalidate or
// s-maxage keeps its own lifetime — a route TTL or a heuristic one would
// hand it to anonymous users without the origin checking again.
func TestAuthorizationKeepsItsOwnLifetime(t *testing.T) {
	secret := func(cc string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", cc)
			auth := ""
			for _, v := range r.Header.Values("Authorization") { // any line
				if v != "" {
					auth = v
				}
			}
			if auth == "" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, "login required")
				return
			}
			io.WriteString(w, "secret for "+auth)
		})
	}
	cases := []struct {
		name, cc string
		opts     httpcache.Options
		page     bool
		auth     []string
	}{
		{"must-revalidate max-age=0 under Page", "max-age=0, must-revalidate", httpcache.Options{}, true, []string{"Bearer alice"}},
		{"s-maxage=0 under Page", "s-maxage=0", httpcache.Options{}, true, []string{"Bearer alice"}},
		{"must-revalidate with a heuristic TTL", "must-revalidate", httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute}}, false, []string{"Bearer alice"}},
		{"an empty first Authorization line", "max-age=60", httpcache.Options{}, false, []string{"", "Bearer alice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			h := e.cache.Handler(secret(tc.cc))
			if tc.page {
				h = e.cache.Page(10 * time.Minute)(secret(tc.cc))
			}
			r := httptest.NewRequest("GET", "http://example.com/account", nil)
			r.Header["Authorization"] = tc.auth
			h.ServeHTTP(httptest.NewRecorder(), r)
			if res := do(t, h, get("http://example.com/account")); res.status != http.StatusUnauthorized {
				t.Fatalf("anonymous got %d %q (%s)", res.status, res.body, res.cacheStatus())
			}
		})
	}
	// With a lifetime of its own, must-revalidate still lets it be stored
	// for that long (§3.5), under Page too.
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Page(10 * time.Minute)(secret("max-age=60, must-revalidate"))
	do(t, h, get("http://example.com/account", "Authorization", "Bearer alice"))
	if res := do(t, h, get("http://example.com/account")); !isHit(res) {
		t.Fatalf("not stored for its own max-age: %q", res.cacheStatus())
	}
	e.clock.Advance(61 * time.Second)
	if res := do(t, h, get("http://example.com/account")); res.status != http.StatusUnauthorized {
		t.Fatalf("served past its own lifetime: %d %q (%s)", res.status, res.body, res.cacheStatus())
	}
}

// TestBypassCookieNameSpacing: a session cookie written "sessionid =alice"
// is sessionid to net/http, and so to BypassCookies.
func TestBypassCookieNameSpacing(t *testing.T) {
	for _, ck := range []string{"sessionid =alice", "sessionid\t=alice", " a=b ;sessionid = alice"} {
		t.Run(ck, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{BypassCookies: []string{"sessionid"}})
			h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60") // the site relies on BypassCookies
				if c, err := r.Cookie("sessionid"); err == nil {
					io.WriteString(w, "account page of "+c.Value)
					return
				}
				io.WriteString(w, "anonymous home")
			}))
			if first := do(t, h, get("/", "Cookie", ck)); first.body == "anonymous home" {
				t.Fatalf("precondition: net/http did not read the cookie: %q", first.body)
			}
			if res := do(t, h, get("/")); res.body != "anonymous home" {
				t.Fatalf("anonymous visitor got %q (%s)", res.body, res.cacheStatus())
			}
		})
	}
}

// TestMalformedCacheControlNotStored: "private;" is private to most
// readers (nginx, Varnish and Django match the word); a Cache-Control that
// is not a well-formed list is never stored, with or without a route TTL.
func TestMalformedCacheControlNotStored(t *testing.T) {
	cases := []struct {
		cc   string
		page bool
	}{
		{"max-age=600, private;", false}, {"max-age=600, no-store;", false},
		{"private; max-age=0", true}, {"no-store; no-cache", true},
		{`max-age=600, private="X-Field`, false},
	}
	for _, tc := range cases {
		t.Run(tc.cc, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tc.cc)
				io.WriteString(w, "hello "+r.Header.Get("X-User"))
			})
			if tc.page {
				h = e.cache.Page(time.Minute)(h)
			} else {
				h = e.cache.Handler(h)
			}
			if res := do(t, h, get("/me", "X-User", "alice")); !strings.HasPrefix(res.cacheStatus(), "httpcache; fwd=uri-miss; detail=") {
				t.Fatalf("Cache-Status %q", res.cacheStatus())
			}
			if res := do(t, h, get("/me", "X-User", "bob")); res.body != "hello bob" {
				t.Fatalf("bob got %q (%s)", res.body, res.cacheStatus())
			}
		})
	}
}

// TestFarFutureExpires: "never expires" (a year-9999 Expires) with a
// validator or a stale window is stored, for MaxTTL; the sum of its
// lifetime and the window once overflowed to a negative TTL.
func TestFarFutureExpires(t *testing.T) {
	for name, header := range map[string]map[string]string{
		"with an ETag":                 {"Expires": "Fri, 31 Dec 9999 23:59:59 GMT", "Etag": `"v1"`},
		"with stale-while-revalidate":  {"Expires": "Fri, 31 Dec 9999 23:59:59 GMT", "Cache-Control": "stale-while-revalidate=60"},
		"max-age at its cap, with SWR": {"Cache-Control": "max-age=99999999999, stale-while-revalidate=99999999999"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{Logger: discardLogger()})
			h := e.cache.Handler(respond(200, header, "body"))
			first := do(t, h, get("http://example.com/far"))
			if second := do(t, h, get("http://example.com/far")); !isHit(second) {
				t.Fatalf("not stored: %q, then %q", first.cacheStatus(), second.cacheStatus())
			}
			if s := e.cache.Stats(); s.StoreErrors != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestGETWithContentBypasses: the key does not cover a GET's content, so a
// GET that has some is not looked up or stored ("fat GET" poisoning).
func TestGETWithContentBypasses(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "q="+string(b))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/search", strings.NewReader("evil")))
	if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=body" || rec.Body.String() != "q=evil" {
		t.Fatalf("GET with content: %q %q", cs, rec.Body.String())
	}
	chunked := httptest.NewRequest("GET", "/search", strings.NewReader("evil"))
	chunked.ContentLength = -1 // Transfer-Encoding: chunked
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, chunked)
	if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=body" {
		t.Fatalf("GET with content of unknown length: %q", cs)
	}
	if res := do(t, h, get("/search")); res.body != "q=" {
		t.Fatalf("GET without content got %q (%s)", res.body, res.cacheStatus())
	}
	if res := do(t, h, get("/search")); !isHit(res) {
		t.Fatalf("GET without content not stored: %q", res.cacheStatus())
	}
}

// TestAgeFirstMemberOrStale: an Age field with more than one member (one
// line "7200, 0", or two lines) counts by its first member, and an Age that
// is not a non-negative integer makes the response stale on arrival: the
// cache cannot know how old it is (RFC 9111 §5.1, §4.2.3). A response that
// arrives stale is not stored.
func TestAgeFirstMemberOrStale(t *testing.T) {
	tests := []struct {
		name   string
		age    []string // Age field lines; the response is max-age=3600
		stored bool
		hitAge string // the Age of the hit, when stored
	}{
		{"single", []string{"10"}, true, "10"},
		{"list, old first", []string{"7200, 0"}, false, ""},
		{"list without space, old first", []string{"7200,0"}, false, ""},
		{"two lines, old first", []string{"7200", "0"}, false, ""},
		{"list, young first", []string{"0, 7200"}, true, "0"},
		{"two lines, young first", []string{"0", "7200"}, true, "0"},
		{"duplicate young", []string{"5, 5"}, true, "5"},
		{"duplicate old", []string{"7200, 7200"}, false, ""},
		{"non-numeric", []string{"abc"}, false, ""},
		{"negative", []string{"-7200"}, false, ""},
		{"decimal", []string{"7200.0"}, false, ""},
		{"empty", []string{""}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			c := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=3600")
				w.Header()["Age"] = tc.age
				io.WriteString(w, "body")
			}}
			h := e.cache.Handler(c)
			first := do(t, h, get("/age"))
			res := do(t, h, get("/age"))
			if isHit(res) != tc.stored {
				t.Fatalf("Age %q: first %q, then %q; want stored=%v", tc.age, first.cacheStatus(), res.cacheStatus(), tc.stored)
			}
			if !tc.stored && first.cacheStatus() != "httpcache; fwd=uri-miss; detail=stale" {
				t.Fatalf("Age %q: Cache-Status %q, want detail=stale", tc.age, first.cacheStatus())
			}
			if tc.stored && res.header.Get("Age") != tc.hitAge {
				t.Fatalf("Age %q: the hit says Age %q, want %q", tc.age, res.header.Get("Age"), tc.hitAge)
			}
		})
	}
}

// TestStrictHTTPDates: dates are read as RFC 9110 §5.6.7 spells them,
// wherever they are read. An Expires that is not a valid HTTP-date means
// already expired (RFC 9111 §5.3): the response is not stored; a lower-case
// "gmt" is read (RFC 9111 §4.2 matches dates case-insensitively). An
// If-Modified-Since that is not a valid HTTP-date is ignored (RFC 9110
// §13.1.3): the full response is sent.
func TestStrictHTTPDates(t *testing.T) {
	expires := func(v string) *counter {
		return respond(200, map[string]string{"Expires": v, "Last-Modified": lmStr}, "body")
	}
	tests := []struct {
		name    string
		expires string
		stored  bool
	}{
		{"IMF-fixdate", "Thu, 18 Aug 2050 02:01:18 GMT", true},
		{"rfc850-date", "Thursday, 18-Aug-50 02:01:18 GMT", true},
		{"asctime-date", "Thu Aug 18 02:01:18 2050", true},
		{"lower-case gmt", "Thu, 18 Aug 2050 02:01:18 gmt", true},
		{"double spaces", "Thu, 18  Aug  2050 02:01:18 GMT", false},
		{"one-digit hour", "Thu, 18 Aug 2050 2:01:18 GMT", false},
		{"UTC", "Thu, 18 Aug 2050 02:01:18 UTC", false},
		{"date dashes", "Thu, 18-Aug-2050 02:01:18 GMT", false},
		{"31 June", "Sat, 31 Jun 2050 02:01:18 GMT", false},
	}
	for _, tc := range tests {
		t.Run("Expires "+tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			h := e.cache.Handler(expires(tc.expires))
			first := do(t, h, get("/e"))
			res := do(t, h, get("/e"))
			if isHit(res) != tc.stored {
				t.Fatalf("Expires %q: %q, then %q; want stored=%v", tc.expires, first.cacheStatus(), res.cacheStatus(), tc.stored)
			}
			if !tc.stored && first.cacheStatus() != "httpcache; fwd=uri-miss; detail=stale" {
				t.Fatalf("Expires %q: %q, want detail=stale", tc.expires, first.cacheStatus())
			}
		})
	}
	for _, tc := range []struct {
		name, ims string
		status    int
	}{
		{"IMF-fixdate", lmStr, 304},
		{"rfc850-date", lastMod.Format("Monday, 02-Jan-06 15:04:05 GMT"), 304},
		{"asctime-date", lastMod.Format(time.ANSIC), 304},
		{"double spaces", strings.Replace(lmStr, " ", "  ", 2), 200},
		{"one-digit hour", strings.Replace(lmStr, " 00:", " 0:", 1), 200},
	} {
		t.Run("If-Modified-Since "+tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			h := e.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60", "Last-Modified": lmStr}, "body"))
			do(t, h, get("/c"))
			if res := do(t, h, get("/c", "If-Modified-Since", tc.ims)); res.status != tc.status || !isHit(res) {
				t.Fatalf("If-Modified-Since %q: %d %q, want %d from the cache", tc.ims, res.status, res.cacheStatus(), tc.status)
			}
		})
	}
}

// locationRewriter is an outer middleware that rewrites the Location the
// inner handler set, in place in its value slice, as it writes the header.
type locationRewriter struct{ http.ResponseWriter }

func (w locationRewriter) WriteHeader(code int) {
	if loc := w.Header()["Location"]; len(loc) > 0 {
		loc[0] = "https://public.example" + loc[0]
	}
	w.ResponseWriter.WriteHeader(code)
}

// TestOuterMiddlewareEditingHeaderInPlaceLeavesStoredResponse: a
// middleware above the cache that edits a header value in place (its slice
// element, not the map) changes the response it passes on, never the stored
// one: the next hit is served the stored Location, rewritten once, not
// once per hit before it.
func TestOuterMiddlewareEditingHeaderInPlaceLeavesStoredResponse(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := respond(200, map[string]string{"Cache-Control": "max-age=60", "Location": "/a"}, "body")
	inner := e.cache.Handler(h)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(locationRewriter{w}, r)
	})
	want := "https://public.example/a"
	for i := range 3 {
		res := do(t, outer, get("http://example.com/x"))
		if got := res.header.Get("Location"); got != want {
			t.Fatalf("response %d (%s): Location %q, want %q", i, res.cacheStatus(), got, want)
		}
	}
	if h.n() != 1 {
		t.Fatalf("handler called %d times, want 1", h.n())
	}
}

// TestServedHeaderValuesDoNotPinStoredBodies: a layer above the cache that
// keeps a header value of a hit (a metrics label of its Content-Type, a
// log of ETags) keeps that value alive, not the stored response it came
// from: once the responses have left the store, their bodies go with them.
func TestServedHeaderValuesDoNotPinStoredBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap; skipped in -short mode")
	}
	const n, bodyLen = 32, 256 << 10
	e := newEnv(t, httpcache.Options{})
	body := strings.Repeat("b", bodyLen)
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain; variant="+r.URL.Path[1:])
		w.Write([]byte(body))
	}))
	kept := map[string]int{} // hits per Content-Type, keyed by the served values
	for i := range n {
		url := "http://example.com/" + strconv.Itoa(i)
		do(t, h, get(url))
		res := do(t, h, get(url))
		if !isHit(res) {
			t.Fatalf("%s: %s, want a hit", url, res.cacheStatus())
		}
		kept[res.header.Get("Content-Type")]++
	}
	e.store.Clear()
	pinned := heapHeldUntil(func() {
		if len(kept) != n {
			t.Fatalf("%d values kept, want %d", len(kept), n)
		}
		clear(kept)
	})
	runtime.KeepAlive(h)
	t.Logf("the kept values hold %d bytes", pinned)
	if pinned > n*bodyLen/4 {
		t.Fatalf("%d header values of a few bytes kept %d bytes alive (the responses' bodies are %d bytes in all)", n, pinned, n*bodyLen)
	}
}

// valueMarker is an outer middleware that appends "+" to every value of
// every response field, in place in its value slices, as it writes the
// header.
type valueMarker struct{ http.ResponseWriter }

func (w valueMarker) WriteHeader(code int) {
	for _, vv := range w.Header() {
		for i := range vv {
			vv[i] += "+"
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// TestOuterMiddlewareEditingHeaderInPlaceLeavesEveryServedEntry: a
// middleware above the cache that edits every header value in place changes
// only the response it passes on, whatever kind of response the cache made
// from its entry: a hit, a HEAD, a 206, a 304 to a conditional request, a
// stale response, a revalidated one. Each is served with its values marked
// once, and the stored entry is as the handler made it.
func TestOuterMiddlewareEditingHeaderInPlaceLeavesEveryServedEntry(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	inner := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=1000")
		w.Header().Set("Etag", `"v"`)
		w.Header().Set("Content-Location", "/loc")
		w.Header().Set("X-Mark", "m")
		if r.Header.Get("If-None-Match") == `"v"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "0123456789")
	}))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(valueMarker{w}, r)
	})
	do(t, outer, get("http://example.com/x"))
	check := func(what string, res result, field, want string) {
		t.Helper()
		if got := res.header.Get(field); got != want {
			t.Fatalf("%s (%d, %s): %s %q, want %q", what, res.status, res.cacheStatus(), field, got, want)
		}
	}
	for i := range 3 {
		check("hit", do(t, outer, get("http://example.com/x")), "X-Mark", "m+")
		check("HEAD", do(t, outer, get("http://example.com/x").with(http.MethodHead)), "X-Mark", "m+")
		check("206", do(t, outer, get("http://example.com/x", "Range", "bytes=0-3")), "X-Mark", "m+")
		check("304", do(t, outer, get("http://example.com/x", "If-None-Match", `"v"`)), "Content-Location", "/loc+")
		_ = i
	}
	e.clock.Advance(20 * time.Second)
	check("stale", do(t, outer, get("http://example.com/x")), "X-Mark", "m+")
	e.cache.Wait()
	check("after the refresh", do(t, outer, get("http://example.com/x")), "X-Mark", "m+")
	e.clock.Advance(2000 * time.Second)
	check("revalidated", do(t, outer, get("http://example.com/x")), "X-Mark", "m+")
	check("hit after revalidation", do(t, outer, get("http://example.com/x")), "X-Mark", "m+")
	check("304 after revalidation", do(t, outer, get("http://example.com/x", "If-None-Match", `"v"`)), "Content-Location", "/loc+")
}
