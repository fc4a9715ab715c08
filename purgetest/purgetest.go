package purgetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/store"
)

// suite carries Run's argument to the cases.
type suite struct {
	newStore func(t *testing.T) store.Store
}

// page is the application the Caches front. /untagged/… carries no tags;
// every other path carries "page:<path>" and "all" in the tag header and
// "ctx:<path>" through httpcache.Tag. A query with "vary" varies the
// response on Accept-Language. The body names the path and the version of
// the data it was rendered from.
type page struct {
	version  atomic.Int64
	calls    atomic.Int64
	cc       atomic.Value // Cache-Control; "max-age=600" if unset
	extraTag atomic.Value // one more header tag, if set
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	cc, _ := p.cc.Load().(string)
	if cc == "" {
		cc = "max-age=600"
	}
	w.Header().Set("Cache-Control", cc)
	if r.URL.Query().Has("vary") {
		w.Header().Set("Vary", "Accept-Language")
	}
	if !strings.HasPrefix(r.URL.Path, "/untagged/") {
		tags := "page:" + r.URL.Path + ", all"
		if extra, _ := p.extraTag.Load().(string); extra != "" {
			tags += ", " + extra
		}
		w.Header().Set("Cache-Tag", tags)
		httpcache.Tag(r, "ctx:"+r.URL.Path)
	}
	fmt.Fprintf(w, "%s v%d", r.URL.Path, p.version.Load())
}

// purgeRig is two Caches over one store in front of one page. The Caches'
// clock starts at the real time and moves only when a case advances it:
// entries then expire for the middleware while the store, which counts its
// ttls on its own clock, still holds them (re-stores need no sleeping).
type purgeRig struct {
	t      *testing.T
	clock  *fakeclock.Clock
	app    *page
	caches [2]*httpcache.Cache
	h      [2]http.Handler
}

func (s *suite) purgeRig(t *testing.T) *purgeRig {
	r := &purgeRig{t: t, clock: fakeclock.New(time.Now()), app: &page{}}
	r.caches = purgeCaches(t, s.newStore(t), r.clock)
	for i := range r.caches {
		r.h[i] = r.caches[i].Handler(r.app)
	}
	t.Cleanup(func() { r.caches[0].Wait(); r.caches[1].Wait() })
	return r
}

// purgeCaches returns two Caches on store, or skips t if the store cannot
// carry purges: a shared store needs a Counter.
func purgeCaches(t *testing.T, st store.Store, clock *fakeclock.Clock) [2]*httpcache.Cache {
	t.Helper()
	caps := store.Probe(st)
	if caps.Counter == nil && caps.Local == nil {
		t.Skip("store does not implement store.Counter, which purges on a shared store need")
	}
	// A generous guard: these cases check what is purged, and a write
	// timing out under a short guard timeout on a loaded machine fails open
	// (nothing stored), which is right but not what they test.
	opts := httpcache.Options{Clock: clock.Now, Logger: slog.New(slog.DiscardHandler),
		Guard: store.GuardOptions{Timeout: 5 * time.Second}}
	return [2]*httpcache.Cache{httpcache.New(st, opts), httpcache.New(st, opts)}
}

// served is one response as the client saw it.
type served struct {
	body, status, tagHeader string
	ran                     bool // the handler ran for it
}

func (s served) hit() bool { return s.status == "httpcache; hit" }

// do serves one request through Cache i and waits for what it stores.
func (r *purgeRig) do(i int, method, target string, hdr ...string) served {
	r.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k := 0; k+1 < len(hdr); k += 2 {
		req.Header.Set(hdr[k], hdr[k+1])
	}
	rec := httptest.NewRecorder()
	calls := r.app.calls.Load()
	r.h[i].ServeHTTP(rec, req)
	r.caches[i].Wait()
	if rec.Code != http.StatusOK {
		r.t.Fatalf("%s %s: status %d", method, target, rec.Code)
	}
	body, _ := io.ReadAll(rec.Result().Body)
	return served{
		body:      string(body),
		status:    rec.Header().Get("Cache-Status"),
		tagHeader: rec.Header().Get("Cache-Tag"),
		ran:       r.app.calls.Load() != calls,
	}
}

// fill stores target through Cache 0 and checks that Cache 1 hits it.
func (r *purgeRig) fill(target string, hdr ...string) {
	r.t.Helper()
	if got := r.do(0, "GET", target, hdr...); got.tagHeader != "" {
		r.t.Fatalf("GET %s: the tag header reached the client: %q", target, got.tagHeader)
	}
	if got := r.do(1, "GET", target, hdr...); !got.hit() {
		r.t.Fatalf("GET %s %q: stored by one Cache, not a hit for the other: %q", target, hdr, got.status)
	}
}

func (r *purgeRig) purge(p httpcache.Purge) {
	r.t.Helper()
	if err := r.caches[0].Purge(context.Background(), p); err != nil {
		r.t.Fatalf("Purge(%+v): %v", p, err)
	}
}

// expectPurged checks that Cache 1 does not serve target from the store:
// the handler runs and renders the current version.
func (r *purgeRig) expectPurged(method, target string, hdr ...string) {
	r.t.Helper()
	got := r.do(1, method, target, hdr...)
	want := fmt.Sprintf("%s v%d", pathOf(target), r.app.version.Load())
	if method == "HEAD" {
		want = got.body // a recorder keeps what the handler wrote
	}
	if got.hit() || !got.ran || got.body != want {
		r.t.Fatalf("%s %s %q after its purge: %q, %q, handler ran: %v", method, target, hdr, got.body, got.status, got.ran)
	}
}

// expectKept checks that Cache 1 still serves target from the store.
func (r *purgeRig) expectKept(target string, hdr ...string) {
	r.t.Helper()
	if got := r.do(1, "GET", target, hdr...); !got.hit() || got.ran {
		r.t.Fatalf("GET %s %q was purged with others: %q, %q", target, hdr, got.body, got.status)
	}
}

// pathOf is the path of a request target, absolute or not.
func pathOf(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	return u.Path
}

// Run runs the purge cases on stores made by newStore. newStore is called
// once per case, with that case's t, and must return a store whose keys do
// not collide with those of other calls (a fresh store, or one key prefix
// per call), as for storetest.Run.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	s := &suite{newStore: newStore}
	for _, c := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Tags", s.testPurgeTags},
		{"URL", s.testPurgeURL},
		{"All", s.testPurgeAll},
		{"Soft", s.testSoftPurge},
		{"ReplacedEntry", s.testPurgeReplacedEntry},
		{"DuringFetch", s.testPurgeDuringFetch},
	} {
		t.Run(c.name, c.run)
	}
}

// testPurgeTags: a tag given in the header and one given with Tag each
// purge the responses carrying them, and no others.
func (s *suite) testPurgeTags(t *testing.T) {
	r := s.purgeRig(t)
	for _, p := range []string{"/a", "/b", "/c", "/untagged/d"} {
		r.fill(p)
	}
	r.app.version.Add(1)
	r.purge(httpcache.Purge{Tags: []string{"page:/a"}})
	r.expectPurged("GET", "/a")
	r.expectKept("/b")
	r.purge(httpcache.Purge{Tags: []string{"ctx:/b"}})
	r.expectPurged("GET", "/b")
	r.expectKept("/c")
	r.purge(httpcache.Purge{Tags: []string{"no-such-tag"}})
	r.expectKept("/c")
	r.purge(httpcache.Purge{Tags: []string{"all"}})
	r.expectPurged("GET", "/a")
	r.expectPurged("GET", "/c")
	r.expectKept("/untagged/d")
}

// testPurgeURL: purging a URL drops every variant, for GET and HEAD, and
// nothing else.
func (s *suite) testPurgeURL(t *testing.T) {
	r := s.purgeRig(t)
	langs := []string{"en", "fr", "de"}
	for _, l := range langs {
		r.fill("http://example.com/v?vary", "Accept-Language", l)
	}
	r.fill("http://example.com/v?other")
	r.fill("http://example.com/w")
	r.app.version.Add(1)
	r.purge(httpcache.Purge{URLs: []string{"http://example.com/v?vary"}})
	r.expectPurged("HEAD", "http://example.com/v?vary", "Accept-Language", langs[0])
	for _, l := range langs[1:] {
		r.expectPurged("GET", "http://example.com/v?vary", "Accept-Language", l)
	}
	r.expectKept("http://example.com/v?other")
	r.expectKept("http://example.com/w")
}

// testPurgeAll: purging everything drops every response.
func (s *suite) testPurgeAll(t *testing.T) {
	r := s.purgeRig(t)
	targets := []string{"/a", "/untagged/b", "/v?vary"}
	for _, p := range targets {
		r.fill(p, "Accept-Language", "en")
	}
	r.app.version.Add(1)
	r.purge(httpcache.Purge{All: true})
	for _, p := range targets {
		r.expectPurged("GET", p, "Accept-Language", "en")
	}
}

// testSoftPurge: a soft purge marks a response stale; with
// stale-while-revalidate the other Cache serves it once, stale, while one
// refresh stores the current version.
func (s *suite) testSoftPurge(t *testing.T) {
	r := s.purgeRig(t)
	r.app.cc.Store("max-age=600, stale-while-revalidate=60")
	r.fill("/a")
	r.fill("/b")
	r.clock.Advance(time.Second)
	r.app.version.Add(1)
	r.purge(httpcache.Purge{Tags: []string{"page:/a"}, Soft: true})
	r.expectKept("/b")
	got := r.do(1, "GET", "/a")
	if got.body != "/a v0" || got.status != "httpcache; hit; detail=stale-while-revalidate" {
		t.Fatalf("after a soft purge: %q %q (want the stale copy while it refreshes)", got.body, got.status)
	}
	deadline := time.Now().Add(10 * time.Second) // a liveness bound, not a timing assertion
	for {
		got := r.do(0, "GET", "/a")
		if got.hit() && got.body == "/a v1" {
			break
		}
		if got.body != "/a v0" && got.body != "/a v1" || time.Now().After(deadline) {
			t.Fatalf("the refresh after a soft purge did not land: %q %q", got.body, got.status)
		}
		time.Sleep(time.Millisecond)
	}
}

// testPurgeReplacedEntry: an entry stored again with other tags answers
// to its new tags only: purging an old tag neither serves the old response
// nor drops the new one.
func (s *suite) testPurgeReplacedEntry(t *testing.T) {
	r := s.purgeRig(t)
	r.app.extraTag.Store("old")
	r.fill("/r")
	r.app.extraTag.Store("new")
	r.app.version.Add(1)
	r.clock.Advance(601 * time.Second) // stale for the middleware: stored anew
	if got := r.do(0, "GET", "/r"); !got.ran {
		t.Fatalf("the expired entry was served: %q", got.status)
	}
	r.purge(httpcache.Purge{Tags: []string{"old"}})
	if got := r.do(1, "GET", "/r"); !got.hit() || got.body != "/r v1" {
		t.Fatalf("purging the old tag dropped the entry stored with the new one: %q %q", got.body, got.status)
	}
	r.app.version.Add(1)
	r.purge(httpcache.Purge{Tags: []string{"new"}})
	r.expectPurged("GET", "/r")
}

// testPurgeDuringFetch: a response whose fetch began before a purge and is
// stored after it is never served.
func (s *suite) testPurgeDuringFetch(t *testing.T) {
	caches := purgeCaches(t, s.newStore(t), fakeclock.New(time.Now()))
	var version atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := version.Load() // the data the response is rendered from
		once.Do(func() { close(started); <-release })
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Cache-Tag", "t")
		fmt.Fprintf(w, "v%d", v)
	})
	h := [2]http.Handler{caches[0].Handler(app), caches[1].Handler(app)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h[0].ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil))
	}()
	<-started
	version.Store(1)
	if err := caches[1].PurgeTags(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	close(release) // renders v0, read before the purge, and stores it
	<-done
	caches[0].Wait()
	for i := range h {
		rec := httptest.NewRecorder()
		h[i].ServeHTTP(rec, httptest.NewRequest("GET", "/p", nil))
		if rec.Body.String() != "v1" {
			t.Fatalf("Cache %d served a response fetched before the purge after it: %q %q", i, rec.Body.String(), rec.Header().Get("Cache-Status"))
		}
	}
	caches[0].Wait() // their writes land before the store is closed
	caches[1].Wait()
}
