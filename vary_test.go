package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// greet answers in the request's language and varies on it, spelling the
// Vary header the way the spell function says on each call.
func greet(spell func(call int64) string) *counter {
	c := &counter{}
	c.fn = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", spell(c.n()))
		fmt.Fprintf(w, "hello in %q", r.Header.Get("Accept-Language"))
	}
	return c
}

// TestVary: a table of Vary scenarios: variants kept apart by the request
// fields Vary names, normalised (a missing field apart from an empty one),
// Vary names in any case and order, Cookie with an allow-list, content
// codings, and stale variants served as the stale rules allow.
func TestVary(t *testing.T) {
	fixed := func(v string) func(int64) string { return func(int64) string { return v } }
	tests := []scenario{
		{
			name:    "each language its own variant",
			handler: greet(fixed("Accept-Language")),
			steps: []step{
				{req: get("/g", "Accept-Language", "en-GB,en;q=0.8"), calls: 1, check: statusHas("fwd=uri-miss; stored")},
				{req: get("/g", "Accept-Language", "fr"), calls: 2, body: str(`hello in "fr"`), check: statusHas("fwd=vary-miss; stored")},
				{req: get("/g", "Accept-Language", "EN-gb , en; q=0.80"), calls: 2, hit: true, body: str(`hello in "en-GB,en;q=0.8"`)},
				{req: get("/g", "Accept-Language", "FR"), calls: 2, hit: true, body: str(`hello in "fr"`)},
				// The same preferred language, without the fallback.
				{req: get("/g", "Accept-Language", "en-GB"), calls: 3, body: str(`hello in "en-GB"`)},
			},
		},
		{
			name:    "missing header differs from empty header",
			handler: greet(fixed("Accept-Language")),
			steps: []step{
				{req: get("/g"), calls: 1, body: str(`hello in ""`)},
				{req: get("/g", "Accept-Language", ""), calls: 2},
				{req: get("/g"), calls: 2, hit: true},
				{req: get("/g", "Accept-Language", ""), calls: 2, hit: true},
			},
		},
		{
			name: "Vary names in any case and order give the same key",
			handler: greet(func(call int64) string {
				if call%2 == 1 {
					return "Accept-Language, X-Device"
				}
				return "x-device ,ACCEPT-LANGUAGE"
			}),
			steps: []step{
				{req: get("/g", "Accept-Language", "de"), calls: 1},
				{req: get("/g", "Accept-Language", "it"), calls: 2},
				// Had the second spelling started a new index, the
				// first variant would be unreachable now.
				{req: get("/g", "Accept-Language", "de"), calls: 2, hit: true, body: str(`hello in "de"`)},
				{req: get("/g", "Accept-Language", "it"), calls: 2, hit: true, body: str(`hello in "it"`)},
			},
		},
		{
			name:    "Vary: Cookie with an allow-list ignores other cookies",
			opts:    httpcache.Options{Policy: httpcache.Policy{VaryCookies: []string{"lang"}}},
			handler: respond(200, map[string]string{"Cache-Control": "max-age=60", "Vary": "Cookie"}, "x"),
			steps: []step{
				{req: get("/k", "Cookie", "lang=en; _ga=1"), calls: 1},
				{req: get("/k", "Cookie", "_ga=2; lang=en"), calls: 1, hit: true},
				{req: get("/k", "Cookie", "lang=de; _ga=1"), calls: 2},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// TestVaryListChanges checks that when a URL's Vary list changes, no request
// is ever served a variant chosen under the old list.
func TestVaryListChanges(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var varyOn atomic.Value
	varyOn.Store("Accept-Language")
	var calls atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		v := varyOn.Load().(string)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", v)
		fmt.Fprintf(w, "%s=%s", v, r.Header.Get(v))
	}))
	req := func(lang, user string) request {
		return get("/page", "Accept-Language", lang, "X-User", user)
	}
	if res := do(t, h, req("en", "alice")); res.body != "Accept-Language=en" {
		t.Fatalf("got %q", res.body)
	}
	// The application now varies on X-User instead.
	varyOn.Store("X-User")
	e.clock.Advance(10 * 1e9)
	if res := do(t, h, req("en", "bob")); res.body != "Accept-Language=en" || !isHit(res) {
		t.Fatalf("before the URL is refetched the stored variant stands: %q %q", res.body, res.cacheStatus())
	}
	// A request whose variant is not stored fetches the new Vary list;
	// from then on the old variants are unreachable.
	if res := do(t, h, req("de", "carol")); res.body != "X-User=carol" {
		t.Fatalf("got %q", res.body)
	}
	for _, user := range []string{"alice", "bob"} {
		res := do(t, h, req("en", user))
		if res.body != "X-User="+user {
			t.Fatalf("user %s served %q (%s): a variant of the old Vary list", user, res.body, res.cacheStatus())
		}
	}
	if res := do(t, h, req("fr", "bob")); res.body != "X-User=bob" || !isHit(res) {
		t.Fatalf("new variant not served: %q %q", res.body, res.cacheStatus())
	}
}

// encoder answers in the first coding of prefer that the request lists
// (compress before gzip, as an origin with a taste for old codings might),
// or identity, and varies on Accept-Encoding. The body names the coding.
func encoder(cacheControl string, prefer ...string) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cacheControl)
		w.Header().Set("Vary", "Accept-Encoding")
		ae := strings.ToLower(strings.Join(r.Header.Values("Accept-Encoding"), ","))
		for _, c := range prefer {
			if strings.Contains(ae, c) {
				w.Header().Set("Content-Encoding", c)
				w.Header().Set("ETag", `"`+c+`"`) // kept when stale, to revalidate
				io.WriteString(w, c)
				return
			}
		}
		io.WriteString(w, "identity")
	}}
}

// negotiate is an origin that serves served (its first is the default) and
// picks a language as RFC 4647 lookup does: ranges in order of q (the
// first among equals), q=0 never, each range truncated subtag by subtag
// until it names a served language. It varies on Accept-Language and
// answers with the language chosen.
func negotiate(served ...string) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, lookupLanguage(r.Header.Get("Accept-Language"), served))
	}}
}

// firstRange is an origin that answers with the first language range of
// Accept-Language as received, whatever its q: naive, but common.
func firstRange() *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
		first, _, _ = strings.Cut(first, ";")
		io.WriteString(w, strings.ToLower(strings.TrimSpace(first)))
	}}
}

func lookupLanguage(accept string, served []string) string {
	type weighted struct {
		tag string
		q   float64
	}
	var prefs []weighted
	for _, el := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(el), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q, _ = strconv.ParseFloat(v, 64)
		}
		if tag = strings.ToLower(strings.TrimSpace(tag)); tag != "" && q > 0 {
			prefs = append(prefs, weighted{tag, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	for _, p := range prefs {
		for tag := p.tag; tag != ""; {
			if slices.Contains(served, tag) {
				return tag
			}
			i := strings.LastIndexByte(tag, '-')
			if i < 0 {
				break
			}
			tag = tag[:i]
		}
	}
	return served[0]
}

// TestAcceptLanguageNeverMergesNegotiatedVariants checks that two
// Accept-Language values an origin negotiating over the whole list answers
// differently never share a variant, however their most preferred
// languages compare; and that spellings of one list do share one.
func TestAcceptLanguageNeverMergesNegotiatedVariants(t *testing.T) {
	tests := []scenario{
		{
			// As example/server's /hello did: it greeted in Spanish,
			// and the French reader was then served "Hola".
			name:    "an origin reading the first range",
			handler: firstRange(),
			steps: []step{
				{req: get("/hello", "Accept-Language", "es;q=0.1, fr;q=0.9"), calls: 1, body: str("es")},
				{req: get("/hello", "Accept-Language", "fr"), calls: 2, body: str("fr")},
				{req: get("/hello", "Accept-Language", "fr;q=0.9, es;q=0.1"), calls: 3, body: str("fr")},
				{req: get("/hello", "Accept-Language", "es;q=0.1, fr;q=0.9"), calls: 3, hit: true, body: str("es")},
			},
		},
		{
			name:    "a low-q fallback is not the preferred language",
			handler: negotiate("en", "es", "fr"),
			steps: []step{
				{req: get("/hello", "Accept-Language", "es;q=0.1, fr;q=0.9"), calls: 1, body: str("fr")},
				{req: get("/hello", "Accept-Language", "fr"), calls: 2, body: str("fr")},
				{req: get("/hello", "Accept-Language", "de;q=0.9, es;q=0.1"), calls: 3, body: str("es")},
				{req: get("/hello", "Accept-Language", "de"), calls: 4, body: str("en")},
			},
		},
		{
			name:    "same preferred language, other fallbacks",
			handler: negotiate("de", "fr"),
			steps: []step{
				{req: get("/hello", "Accept-Language", "en-US,de;q=0.1"), calls: 1, body: str("de")},
				{req: get("/hello", "Accept-Language", "en-US,fr;q=0.8"), calls: 2, body: str("fr")},
				{req: get("/hello", "Accept-Language", "en-US"), calls: 3, body: str("de")},
				{req: get("/hello", "Accept-Language", "en-US,de;q=0.1"), calls: 3, hit: true, body: str("de")},
				{req: get("/hello", "Accept-Language", "en-US,fr;q=0.8"), calls: 3, hit: true, body: str("fr")},
			},
		},
		{
			name:    "q=0 is not a low preference",
			handler: negotiate("en", "fr"),
			steps: []step{
				{req: get("/hello", "Accept-Language", "de, fr;q=0.001"), calls: 1, body: str("fr")},
				{req: get("/hello", "Accept-Language", "de, fr;q=0"), calls: 2, body: str("en")},
			},
		},
		{
			name:    "spellings of one list share a variant",
			handler: negotiate("de", "fr"),
			steps: []step{
				{req: get("/hello", "Accept-Language", "en-US,fr;q=0.8"), calls: 1, body: str("fr")},
				{req: get("/hello", "Accept-Language", "EN-us , FR;q=0.80"), calls: 1, hit: true, body: str("fr")},
				{req: get("/hello", "Accept-Language", "en-US;q=1.000,\tfr; q=0.8"), calls: 1, hit: true, body: str("fr")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// TestOptionsLanguagesMergesWhatTheOriginCannotTellApart checks that with
// Options.Languages, requests that differ only where no origin choosing
// among those languages can see share a variant, and others do not.
func TestOptionsLanguagesMergesWhatTheOriginCannotTellApart(t *testing.T) {
	opts := httpcache.Options{Languages: []string{"en", "fr"}}
	sc := scenario{
		name:    "Languages en, fr",
		opts:    opts,
		handler: negotiate("en", "fr"),
		steps: []step{
			{req: get("/hello", "Accept-Language", "en-US,en;q=0.9,ja;q=0.8"), calls: 1, body: str("en")},
			// Another region of a served language, another language
			// not served: merged.
			{req: get("/hello", "Accept-Language", "en-GB,en;q=0.9,de;q=0.8"), calls: 1, hit: true, body: str("en")},
			{req: get("/hello", "Accept-Language", "en-AU, EN;q=0.90, ko;q=0.8"), calls: 1, hit: true, body: str("en")},
			// Unserved languages alone: merged with each other only.
			{req: get("/hello", "Accept-Language", "de"), calls: 2, body: str("en")},
			{req: get("/hello", "Accept-Language", "ja"), calls: 2, hit: true, body: str("en")},
			// A served language further down is kept, with its q.
			{req: get("/hello", "Accept-Language", "de,fr;q=0.5"), calls: 3, body: str("fr")},
			{req: get("/hello", "Accept-Language", "ja,fr;q=0.5"), calls: 3, hit: true, body: str("fr")},
			{req: get("/hello", "Accept-Language", "de,fr;q=0"), calls: 4, body: str("en")},
			{req: get("/hello", "Accept-Language", "de,fr;q=0.4"), calls: 5, body: str("fr")},
			{req: get("/hello", "Accept-Language", "fr-CA"), calls: 6, body: str("fr")},
			{req: get("/hello", "Accept-Language", "fr-FR"), calls: 6, hit: true, body: str("fr")},
		},
	}
	sc.run(t)

	// Without the option, every list is its own variant.
	sc.opts, sc.steps = httpcache.Options{}, []step{
		{req: get("/hello", "Accept-Language", "en-US,en;q=0.9,ja;q=0.8"), calls: 1, body: str("en")},
		{req: get("/hello", "Accept-Language", "en-GB,en;q=0.9,de;q=0.8"), calls: 2, body: str("en")},
		{req: get("/hello", "Accept-Language", "ja"), calls: 3, body: str("en")},
	}
	sc.handler = negotiate("en", "fr")
	sc.run(t)
}

// TestOptionsNormalizersKeyVariants checks that a normaliser from
// Options.Normalizers decides which requests share a variant, for the
// header it names, in place of the built-in rule.
func TestOptionsNormalizersKeyVariants(t *testing.T) {
	served := []string{"en", "fr"}
	var normalised atomic.Int64
	opts := httpcache.Options{Normalizers: map[string]func([]string) string{
		// The handler's own choice: requests it answers alike share
		// one variant.
		"accept-language": func(values []string) string {
			normalised.Add(1)
			return lookupLanguage(values[0], served)
		},
		"X-Device": func(values []string) string {
			if strings.Contains(values[0], "Mobile") {
				return "mobile"
			}
			return "desktop"
		},
	}}
	scenario{
		name:    "Accept-Language by the origin's choice",
		opts:    opts,
		handler: negotiate(served...),
		steps: []step{
			{req: get("/hello", "Accept-Language", "en-US,de;q=0.1"), calls: 1, body: str("en")},
			{req: get("/hello", "Accept-Language", "de,fr;q=0.8"), calls: 2, body: str("fr")},
			{req: get("/hello", "Accept-Language", "fr-CA"), calls: 2, hit: true, body: str("fr")},
			{req: get("/hello", "Accept-Language", "ja"), calls: 2, hit: true, body: str("en")},
			{req: get("/hello"), calls: 3, body: str("en")}, // a missing header is not passed
		},
	}.run(t)
	if normalised.Load() == 0 {
		t.Fatal("the Accept-Language normaliser was never called")
	}

	scenario{
		name: "a header without a built-in rule",
		opts: opts,
		handler: &counter{fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "X-Device")
			io.WriteString(w, "for "+r.Header.Get("X-Device"))
		}},
		steps: []step{
			{req: get("/d", "X-Device", "Phone Mobile"), calls: 1, body: str("for Phone Mobile")},
			{req: get("/d", "X-Device", "Tablet Mobile"), calls: 1, hit: true, body: str("for Phone Mobile")},
			{req: get("/d", "X-Device", "Desktop"), calls: 2, body: str("for Desktop")},
		},
	}.run(t)
}

// halfWritten is a store shared by two Caches, with leases, written to in
// the background, whose second write is held until release is closed: a
// fetch's writes half made when the other instance looks.
type halfWritten struct {
	m *memory.Store
	leaseTable
	sets             atomic.Int64
	reached, release chan struct{}
}

func (s *halfWritten) Get(ctx context.Context, k string) ([]byte, error) { return s.m.Get(ctx, k) }
func (s *halfWritten) Delete(ctx context.Context, k ...string) error     { return s.m.Delete(ctx, k...) }
func (s *halfWritten) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if s.sets.Add(1) == 2 {
		close(s.reached)
		<-s.release
	}
	return s.m.Set(ctx, k, v, ttl)
}

// TestVaryIndexWrittenAfterVariant: a Vary index is written after its
// variant, never before, so that no instance finds the index of a variant
// not yet written. One that looks in between finds the URL not stored, waits
// on the fetch's lease (taken for the URL: the fetch began without an
// index), and is served the variant once written — rather than find the
// index alone, take the lease of the variant, and call the handler again.
func TestVaryIndexWrittenAfterVariant(t *testing.T) {
	s := &halfWritten{m: memory.New(memory.Options{}), reached: make(chan struct{}), release: make(chan struct{})}
	opts := httpcache.Options{Logger: discardLogger(),
		Lease: httpcache.LeaseOptions{TTL: time.Minute, Poll: time.Millisecond},
		Guard: httpcache.GuardOptions{Timeout: time.Minute}} // nothing here is a store failure
	c1, c2 := httpcache.New(s, opts), httpcache.New(s, opts)
	var calls atomic.Int64
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "hello "+r.Header.Get("Accept-Language"))
	})
	h1, h2 := c1.Handler(app), c2.Handler(app)
	req := get("http://example.com/a", "Accept-Language", "fr")
	if res := do(t, h1, req); res.cacheStatus() != "httpcache; fwd=uri-miss; stored" {
		t.Fatalf("instance 1: %q", res.cacheStatus())
	}
	<-s.reached
	asked := s.calls.Load()
	done := make(chan result)
	go func() {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", req.url, nil)
		r.Header.Set("Accept-Language", "fr")
		h2.ServeHTTP(rec, r)
		done <- result{header: rec.Header(), body: rec.Body.String()}
	}()
	testwait.For(t, "instance 2 to ask for a lease", func() bool { return s.calls.Load() > asked })
	close(s.release)
	res := <-done
	c1.Wait()
	c2.Wait()
	if res.body != "hello fr" || calls.Load() != 1 {
		t.Errorf("instance 2: %q %q; the handler ran %d times, want 1", res.body, res.cacheStatus(), calls.Load())
	}
}
