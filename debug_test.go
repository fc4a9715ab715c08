package httpcache_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

const debugToken = "s3cret-debug-token"

// debugDo sends a request to the debug page h, at http://example.com/debug/cache
// plus query, with form (POST when not nil) and header.
func debugDo(t *testing.T, h http.Handler, query string, form url.Values, header map[string]string) *http.Response {
	t.Helper()
	target := "http://example.com/debug/cache" + query
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(http.MethodGet, target, nil)
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

// readBody reads a response body.
func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return string(b)
}

// debugJSON is the debug page's JSON, as far as the tests read it.
type debugJSON struct {
	Error    string           `json:"error"`
	Stats    httpcache.Stats  `json:"stats"`
	HitRatio *float64         `json:"hit_ratio"`
	Routes   []map[string]any `json:"routes"`
	Lookup   *struct {
		Keys []struct {
			URL      string   `json:"url"`
			Found    bool     `json:"found"`
			Vary     []string `json:"vary"`
			Listed   bool     `json:"all_variants_listed"`
			Note     string   `json:"note"`
			Variants []struct {
				Selected bool `json:"selected"`
				Vary     []struct {
					Name    string `json:"name"`
					Present bool   `json:"present"`
					Value   string `json:"value"`
				} `json:"vary"`
				Status        int      `json:"status"`
				Age           float64  `json:"age_seconds"`
				FreshnessLeft float64  `json:"freshness_left_seconds"`
				Size          int      `json:"size"`
				Tags          []string `json:"tags"`
				Purged        bool     `json:"purged"`
				Outcome       string   `json:"outcome"`
				CacheStatus   string   `json:"cache_status"`
			} `json:"variants"`
		} `json:"keys"`
	} `json:"lookup"`
	Purge *struct {
		Result string `json:"result"`
		Error  string `json:"error"`
	} `json:"purge"`
}

func decodeDebug(t *testing.T, res *http.Response) debugJSON {
	t.Helper()
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q; want application/json", ct)
	}
	var d debugJSON
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

var bearerJSON = map[string]string{"Authorization": "Bearer " + debugToken, "Accept": "application/json"}

// languagePage answers in the request's Accept-Language, varying on it.
func languagePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Cache-Tag", "page")
		w.Write([]byte("page in " + r.Header.Get("Accept-Language")))
	})
}

// TestDebugPageNeedsToken: without the token, or with another, the page is
// the token form alone, with 401; JSON gets a 401 error; a wrong token
// posted to the form is refused; no token at all is a programming error.
func TestDebugPageNeedsToken(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	h := env.cache.DebugHandler(debugToken)
	for _, tc := range []struct {
		name   string
		header map[string]string
		form   url.Values
	}{
		{"no token", nil, nil},
		{"wrong bearer", map[string]string{"Authorization": "Bearer nope"}, nil},
		{"token as a cookie value", map[string]string{"Cookie": "httpcache_debug=" + debugToken}, nil},
		{"wrong token posted", nil, url.Values{"token": {"nope"}}},
		{"purge without a token", nil, url.Values{"action": {"purge"}, "target": {"/x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := debugDo(t, h, "", tc.form, tc.header)
			body := readBody(t, res)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d; want 401", res.StatusCode)
			}
			if !strings.Contains(body, `name="token"`) || strings.Contains(body, "Hit ratio") || strings.Contains(body, `id="purge"`) {
				t.Errorf("body is not the token form alone:\n%s", body)
			}
			if len(res.Cookies()) != 0 {
				t.Errorf("cookies set: %v", res.Cookies())
			}
		})
	}
	res := debugDo(t, h, "", nil, map[string]string{"Accept": "application/json"})
	if d := decodeDebug(t, res); res.StatusCode != http.StatusUnauthorized || d.Error == "" || d.Stats != (httpcache.Stats{}) {
		t.Errorf("JSON without a token: %d %+v; want 401 with an error only", res.StatusCode, d)
	}
	defer func() {
		if recover() == nil {
			t.Error("DebugHandler(\"\") did not panic")
		}
	}()
	env.cache.DebugHandler("")
}

// TestDebugPageCookieLogin: posting the token sets a session cookie
// (HttpOnly, SameSite=Strict, scoped to the page's path, holding no token)
// and redirects to the page, which the cookie then opens.
func TestDebugPageCookieLogin(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	h := env.cache.DebugHandler(debugToken)
	res := debugDo(t, h, "", url.Values{"token": {debugToken}}, nil)
	readBody(t, res)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/debug/cache" {
		t.Fatalf("login: %d to %q; want 303 to /debug/cache", res.StatusCode, res.Header.Get("Location"))
	}
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies; want 1", len(cookies))
	}
	ck := cookies[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/debug/cache" ||
		ck.Value == "" || strings.Contains(ck.Value, debugToken) {
		t.Errorf("cookie %s: want HttpOnly, SameSite=Strict, Path=/debug/cache, a value derived from the token", ck)
	}
	res = debugDo(t, h, "", nil, map[string]string{"Cookie": ck.Name + "=" + ck.Value})
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Hit ratio") || !strings.Contains(body, `id="purge"`) {
		t.Fatalf("with the cookie: %d\n%s", res.StatusCode, body)
	}
	if strings.Contains(body, debugToken) {
		t.Error("the page shows the token")
	}
}

// TestDebugPageFormsStayOnItsOrigin: a page mounted where any path reaches
// it (an admin listener's whole handler) and requested at "//evil.example/"
// must not post its token form, nor redirect after the login, to that
// protocol-relative URL: the operator's token would go to another host.
func TestDebugPageFormsStayOnItsOrigin(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	h := env.cache.DebugHandler(debugToken)
	for _, target := range []string{"//evil.example/", "///evil.example/x", `/\evil.example/`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		body := rec.Body.String()
		if strings.Contains(body, `action="//`) || strings.Contains(body, `action="/\`) || strings.Contains(body, `action="/%5c`) {
			t.Errorf("GET %s: a form posts off the origin:\n%s", target, body)
		}
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(url.Values{"token": {debugToken}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if loc := rec.Result().Header.Get("Location"); strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) || strings.Contains(loc, "evil.example/") && !strings.HasPrefix(loc, "/") {
			t.Errorf("login at %s redirects to %q, off the origin", target, loc)
		}
		for _, ck := range rec.Result().Cookies() {
			if strings.HasPrefix(ck.Path, "//") {
				t.Errorf("login at %s: cookie path %q", target, ck.Path)
			}
		}
	}
}

// TestDebugLookupListsEveryVariant: a lookup of a Vary'd URL in JSON shows
// both stored variants with the request-header values each was stored
// for, and marks the one the given request headers select.
func TestDebugLookupListsEveryVariant(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	debug := env.cache.DebugHandler(debugToken)
	app := env.cache.Handler(languagePage())
	for _, lang := range []string{"en", "fr"} {
		if res := do(t, app, get("http://example.com/page", "Accept-Language", lang)); !strings.Contains(res.cacheStatus(), "stored") {
			t.Fatalf("%s: %s; want stored", lang, res.cacheStatus())
		}
	}
	env.cache.Wait()
	env.clock.Advance(10 * time.Second)
	q := "?" + url.Values{"url": {"/page"}, "headers": {"Accept-Language: fr"}}.Encode()
	d := decodeDebug(t, debugDo(t, debug, q, nil, bearerJSON))
	if d.Lookup == nil || len(d.Lookup.Keys) != 2 {
		t.Fatalf("lookup: %+v; want the http and https URLs", d.Lookup)
	}
	k := d.Lookup.Keys[0]
	if k.URL != "http://example.com/page" || !k.Found || !k.Listed || len(k.Vary) != 1 || k.Vary[0] != "Accept-Language" {
		t.Fatalf("key %+v; want http://example.com/page found, varying on Accept-Language, listed", k)
	}
	if len(k.Variants) != 2 {
		t.Fatalf("%d variants: %+v; want 2", len(k.Variants), k.Variants)
	}
	seen := map[string]bool{}
	for _, v := range k.Variants {
		if len(v.Vary) != 1 || v.Vary[0].Name != "Accept-Language" || !v.Vary[0].Present {
			t.Fatalf("variant %+v; want its Accept-Language", v)
		}
		lang := v.Vary[0].Value
		seen[lang] = true
		if v.Selected != (lang == "fr") {
			t.Errorf("variant %s selected = %v", lang, v.Selected)
		}
		if v.Status != 200 || v.Age != 10 || v.FreshnessLeft != 50 || v.Size != len("page in "+lang) ||
			len(v.Tags) != 1 || v.Tags[0] != "page" || v.Outcome != "hit" || v.CacheStatus != "httpcache; hit" {
			t.Errorf("variant %s: %+v", lang, v)
		}
	}
	if !seen["en"] || !seen["fr"] {
		t.Errorf("variants for %v; want en and fr", seen)
	}
	if k := d.Lookup.Keys[1]; k.Found || len(k.Variants) != 0 {
		t.Errorf("https URL: %+v; want nothing stored", k)
	}
}

// TestDebugPurgeMakesNextRequestMiss: a purge posted to the page (JSON,
// with the bearer token) drops the URL: the next request is a miss.
func TestDebugPurgeMakesNextRequestMiss(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	debug := env.cache.DebugHandler(debugToken)
	app := env.cache.Handler(languagePage())
	do(t, app, get("http://example.com/page", "Accept-Language", "en"))
	env.cache.Wait()
	if res := do(t, app, get("http://example.com/page", "Accept-Language", "en")); !isHit(res) {
		t.Fatalf("before the purge: %s; want a hit", res.cacheStatus())
	}
	d := decodeDebug(t, debugDo(t, debug, "", url.Values{"action": {"purge"}, "kind": {"url"}, "target": {"/page"}}, bearerJSON))
	if d.Purge == nil || d.Purge.Error != "" || !strings.Contains(d.Purge.Result, "purged URL http://example.com/page") {
		t.Fatalf("purge: %+v", d.Purge)
	}
	if res := do(t, app, get("http://example.com/page", "Accept-Language", "en")); isHit(res) || !strings.Contains(res.cacheStatus(), "fwd=") {
		t.Fatalf("after the purge: %s; want a miss", res.cacheStatus())
	}
	// By tag, from the page's own form with its cookie and CSRF token.
	env.cache.Wait()
	cookie, csrf := debugLogin(t, debug)
	res := debugDo(t, debug, "", url.Values{"action": {"purge"}, "kind": {"tag"}, "target": {"page"}, "csrf": {csrf}},
		map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"})
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `purged tags [&#34;page&#34;]`) {
		t.Fatalf("purge by tag from the page: %d\n%s", res.StatusCode, body)
	}
	if res := do(t, app, get("http://example.com/page", "Accept-Language", "en")); isHit(res) {
		t.Fatalf("after the tag purge: %s; want a miss", res.cacheStatus())
	}
}

// debugLogin logs in through the token form and returns the cookie header
// value and the page's CSRF token.
func debugLogin(t *testing.T, h http.Handler) (cookie, csrf string) {
	t.Helper()
	res := debugDo(t, h, "", url.Values{"token": {debugToken}}, nil)
	readBody(t, res)
	ck := res.Cookies()[0]
	cookie = ck.Name + "=" + ck.Value
	body := readBody(t, debugDo(t, h, "", nil, map[string]string{"Cookie": cookie}))
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	if !ok {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	csrf, _, _ = strings.Cut(rest, `"`)
	return cookie, csrf
}

// TestDebugPurgeRefusesCrossSite: a purge posted from another site through
// the operator's browser (which sends the cookie) is refused, whether the
// browser says so (Sec-Fetch-Site, Origin) or the form lacks the page's
// CSRF token; a GET cannot purge.
func TestDebugPurgeRefusesCrossSite(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	debug := env.cache.DebugHandler(debugToken)
	app := env.cache.Handler(languagePage())
	do(t, app, get("http://example.com/page"))
	env.cache.Wait()
	cookie, csrf := debugLogin(t, debug)
	purge := url.Values{"action": {"purge"}, "target": {"/page"}, "csrf": {csrf}}
	noCSRF := url.Values{"action": {"purge"}, "target": {"/page"}}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"cross-site fetch", purge, map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}},
		{"same-site fetch", purge, map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "same-site"}},
		{"foreign origin", purge, map[string]string{"Cookie": cookie, "Origin": "http://evil.example"}},
		{"no CSRF token", noCSRF, map[string]string{"Cookie": cookie}},
		{"wrong CSRF token", url.Values{"action": {"purge"}, "target": {"/page"}, "csrf": {"0000"}}, map[string]string{"Cookie": cookie}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := debugDo(t, debug, "", tc.form, tc.header)
			body := readBody(t, res)
			if res.StatusCode != http.StatusForbidden || strings.Contains(body, "purged URL") {
				t.Errorf("status %d; want 403\n%s", res.StatusCode, body)
			}
		})
	}
	res := debugDo(t, debug, "?action=purge&target=/page&csrf="+csrf, nil, map[string]string{"Cookie": cookie})
	readBody(t, res)
	if st := env.cache.Stats(); st.Purges != 0 {
		t.Fatalf("Purges = %d after refused purges; want 0", st.Purges)
	}
	if res := do(t, app, get("http://example.com/page")); !isHit(res) {
		t.Fatalf("after refused purges: %s; want a hit", res.cacheStatus())
	}
}

// TestDebugLookupOfPurgedEntrySaysPurged: an entry a purge reached, still
// in the store, shows as purged (not as a hit), and a lookup says what a
// store without a tag index cannot list.
func TestDebugLookupOfPurgedEntrySaysPurged(t *testing.T) {
	// A shared store with a Counter and no TagIndex: a purge by tag cannot
	// find the keys to delete, so the purged entry stays stored, refused
	// by the purge's marker.
	st := &sharedMem{m: memory.New(memory.Options{})}
	c := httpcache.New(st, httpcache.Options{PurgeTimeout: purgeUnbounded})
	debug := c.DebugHandler(debugToken)
	app := c.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60", "Cache-Tag": "t1", "ETag": `"v1"`}, "body"))
	vapp := c.Handler(languagePage())
	do(t, app, get("http://example.com/tagged"))
	do(t, vapp, get("http://example.com/page", "Accept-Language", "en"))
	c.Wait()
	lookup := func(path, headers string) debugJSON {
		q := "?" + url.Values{"url": {"http://example.com" + path}, "headers": {headers}}.Encode()
		return decodeDebug(t, debugDo(t, debug, q, nil, bearerJSON))
	}
	d := lookup("/tagged", "")
	if vs := d.Lookup.Keys[0].Variants; len(vs) != 1 || vs[0].Outcome != "hit" || vs[0].Purged {
		t.Fatalf("before the purge: %+v; want one hit", d.Lookup.Keys[0])
	}
	if err := c.PurgeTags(t.Context(), "t1"); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	d = lookup("/tagged", "")
	k := d.Lookup.Keys[0]
	if !k.Found || len(k.Variants) != 1 {
		t.Fatalf("after the purge: %+v; want the entry still stored", k)
	}
	if v := k.Variants[0]; !v.Purged || v.Outcome != "purged" || strings.HasSuffix(v.CacheStatus, "hit") {
		t.Errorf("purged entry shows as %+v; want purged", v)
	}
	if res := do(t, app, get("http://example.com/tagged")); isHit(res) {
		t.Errorf("a GET after the purge: %s; want a miss", res.cacheStatus())
	}
	// No tag index: the variant the headers select, and a note.
	d = lookup("/page", "Accept-Language: en")
	k = d.Lookup.Keys[0]
	if k.Listed || !strings.Contains(k.Note, "cannot be listed") || len(k.Variants) != 1 || !k.Variants[0].Selected ||
		k.Variants[0].Vary[0].Value != "en" {
		t.Errorf("Vary'd URL on a store without a tag index: %+v", k)
	}
}

// TestDebugRouteCounts: once a DebugHandler exists, requests are counted
// by the router's pattern and outcome, and the hit ratio follows Stats.
func TestDebugRouteCounts(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	debug := env.cache.DebugHandler(debugToken)
	mux := http.NewServeMux()
	mux.Handle("GET /page", env.cache.Handler(languagePage()))
	for range 3 {
		do(t, mux, get("http://example.com/page"))
		env.cache.Wait()
	}
	d := decodeDebug(t, debugDo(t, debug, "", nil, bearerJSON))
	if len(d.Routes) != 1 || d.Routes[0]["route"] != "GET /page" || d.Routes[0]["hit"] != 2.0 || d.Routes[0]["miss"] != 1.0 {
		t.Errorf("routes %v; want GET /page with 2 hits and 1 miss", d.Routes)
	}
	if d.HitRatio == nil || *d.HitRatio < 0.66 || *d.HitRatio > 0.67 || d.Stats.Hits != 2 {
		t.Errorf("hit ratio %v, stats %+v; want 2/3", d.HitRatio, d.Stats)
	}
}

// TestDebugPageShowsRoutesAndVariantsAsHTML pins the page a browser gets:
// every outcome of a route in its table (a bypass and another method
// too), and a lookup's variants with their age, in HTML.
func TestDebugPageShowsRoutesAndVariantsAsHTML(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	debug := env.cache.DebugHandler(debugToken)
	mux := http.NewServeMux()
	mux.Handle("/page", env.cache.Handler(languagePage()))
	do(t, mux, get("http://example.com/page").with("POST")) // before: it invalidates
	do(t, mux, get("http://example.com/page", "Accept-Language", "fr"))
	env.clock.Advance(1500 * time.Millisecond)
	do(t, mux, get("http://example.com/page", "Accept-Language", "fr"))
	do(t, mux, get("http://example.com/page", "Range", "bytes=0-1"))
	d := decodeDebug(t, debugDo(t, debug, "", nil, bearerJSON))
	if len(d.Routes) != 1 || d.Routes[0]["hit"] != 1.0 || d.Routes[0]["miss"] != 1.0 || d.Routes[0]["bypass"] != 1.0 || d.Routes[0]["method"] != 1.0 {
		t.Errorf("routes %v; want /page with a hit, a miss, a bypass and a method", d.Routes)
	}
	body := readBody(t, debugDo(t, debug, "?url=/page&headers="+url.QueryEscape("Accept-Language: fr"), nil,
		map[string]string{"Authorization": "Bearer " + debugToken}))
	for _, want := range []string{"/page", "Accept-Language", "fr", "1.5s", "bypass"} {
		if !strings.Contains(body, want) {
			t.Errorf("the HTML page lacks %q:\n%s", want, body)
		}
	}
}

// TestHitWithDebugHandlerAllocatesAtMostOnce: counting by route, on once a
// DebugHandler exists, keeps a hit as cheap as with an event hook.
func TestHitWithDebugHandlerAllocatesAtMostOnce(t *testing.T) {
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	c.DebugHandler(debugToken)
	if allocs := allocsPerHit(t, c, false); allocs > 1 {
		t.Errorf("a hit counted by route allocates %v times, want at most 1", allocs)
	}
}

// TestDebugLookupSaysHowAStaleEntryWouldServe pins the lookup's verdict on
// an entry past its freshness: served stale inside stale-while-revalidate,
// revalidated (it has a validator) past it, served stale again after a
// soft purge — as a request would find it.
func TestDebugLookupSaysHowAStaleEntryWouldServe(t *testing.T) {
	env := newEnv(t, httpcache.Options{})
	debug := env.cache.DebugHandler(debugToken)
	app := env.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60, stale-while-revalidate=30", "ETag": `"v1"`, "Cache-Tag": "t"}, "body"))
	do(t, app, get("http://example.com/s"))
	outcome := func() string {
		t.Helper()
		d := decodeDebug(t, debugDo(t, debug, "?url="+url.QueryEscape("http://example.com/s"), nil, bearerJSON))
		if d.Lookup == nil || len(d.Lookup.Keys) != 1 || len(d.Lookup.Keys[0].Variants) != 1 {
			t.Fatalf("lookup %+v; want one stored variant", d.Lookup)
		}
		return d.Lookup.Keys[0].Variants[0].Outcome
	}
	if got := outcome(); got != "hit" {
		t.Errorf("fresh: %q, want hit", got)
	}
	env.clock.Advance(70 * time.Second)
	if got := outcome(); got != "stale" {
		t.Errorf("inside stale-while-revalidate: %q, want stale", got)
	}
	env.clock.Advance(30 * time.Second)
	if got := outcome(); got != "revalidate" {
		t.Errorf("past stale-while-revalidate, with an ETag: %q, want revalidate", got)
	}
	if err := env.cache.Purge(t.Context(), httpcache.Purge{Tags: []string{"t"}, Soft: true}); err != nil {
		t.Fatal(err)
	}
	if got := outcome(); got != "revalidate" {
		t.Errorf("soft-purged: %q, want revalidate (stale, with a validator)", got)
	}
}
