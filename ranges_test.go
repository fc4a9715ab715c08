package httpcache_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// rangeEnv is a cache with RangeRequests in front of a handler that serves
// "0123456789" with an ETag and Last-Modified, answering a Range itself
// with a 206 as http.ServeContent would, and counting its calls.
func rangeEnv(t *testing.T) (*env, http.Handler, *counter, *[]string) {
	t.Helper()
	e := newEnv(t, httpcache.Options{RangeRequests: true})
	var ranges []string
	page := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range"))
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2026 15:04:05 GMT")
		w.Header().Set("Date", "Tue, 03 Jan 2026 10:00:00 GMT")
		if r.Header.Get("Range") == "bytes=0-1" {
			w.Header().Set("Content-Range", "bytes 0-1/10")
			w.WriteHeader(http.StatusPartialContent)
			w.Write([]byte("01"))
			return
		}
		w.Write([]byte("0123456789"))
	}}
	return e, e.cache.Handler(page), page, &ranges
}

// TestRangeAnsweredFromStoredResponse pins RFC 9110 §14 on a hit: a single
// range of a stored 200 is a 206 with Content-Range and Content-Length, an
// unsatisfiable one a 416, several ranges the whole response — all without
// a handler call.
func TestRangeAnsweredFromStoredResponse(t *testing.T) {
	_, h, page, _ := rangeEnv(t)
	do(t, h, get("http://example.com/f"))
	for _, tc := range []struct {
		rng, body, contentRange string
		status                  int
	}{
		{"bytes=2-5", "2345", "bytes 2-5/10", http.StatusPartialContent},
		{"bytes=-3", "789", "bytes 7-9/10", http.StatusPartialContent},
		{"bytes=8-", "89", "bytes 8-9/10", http.StatusPartialContent},
		{"bytes=10-", "", "bytes */10", http.StatusRequestedRangeNotSatisfiable},
		{"bytes=0-1, 4-5", "0123456789", "", http.StatusOK},
		{"bytes=5-2", "0123456789", "", http.StatusOK}, // invalid: the whole
	} {
		res := do(t, h, get("http://example.com/f", "Range", tc.rng))
		if res.status != tc.status || res.body != tc.body || res.header.Get("Content-Range") != tc.contentRange {
			t.Errorf("Range %s: %d %q Content-Range %q; want %d %q %q", tc.rng, res.status, res.body, res.header.Get("Content-Range"), tc.status, tc.body, tc.contentRange)
		}
		if tc.status == http.StatusPartialContent && res.header.Get("Content-Length") != itoa(int64(len(tc.body))) {
			t.Errorf("Range %s: Content-Length %q", tc.rng, res.header.Get("Content-Length"))
		}
		if res.cacheStatus() != "httpcache; hit" {
			t.Errorf("Range %s: Cache-Status %q, want a hit", tc.rng, res.cacheStatus())
		}
	}
	if page.n() != 1 {
		t.Errorf("handler called %d times, want 1", page.n())
	}
	// The whole response is still served whole.
	if res := do(t, h, get("http://example.com/f")); res.status != 200 || res.body != "0123456789" || res.header.Get("Content-Length") != "10" {
		t.Errorf("full GET after ranges: %d %q Content-Length %q", res.status, res.body, res.header.Get("Content-Length"))
	}
}

// TestIfRangeDecidesBetweenPartAndWhole pins RFC 9110 §13.1.5: a range is
// sent only when If-Range matches the stored response (strong ETag, or the
// exact date of a strong Last-Modified); else the whole response. A
// matching If-None-Match still wins with a 304 (§13.2.2).
func TestIfRangeDecidesBetweenPartAndWhole(t *testing.T) {
	_, h, _, _ := rangeEnv(t)
	do(t, h, get("http://example.com/f"))
	for _, tc := range []struct {
		ifRange string
		status  int
	}{
		{`"v1"`, http.StatusPartialContent},
		{`"v2"`, http.StatusOK},
		{`W/"v1"`, http.StatusOK},
		{"Mon, 02 Jan 2026 15:04:05 GMT", http.StatusPartialContent},
		{"Mon, 02 Jan 2026 15:04:06 GMT", http.StatusOK},
	} {
		res := do(t, h, get("http://example.com/f", "Range", "bytes=0-3", "If-Range", tc.ifRange))
		if res.status != tc.status {
			t.Errorf("If-Range %s: %d %q, want %d", tc.ifRange, res.status, res.body, tc.status)
		}
	}
	if res := do(t, h, get("http://example.com/f", "Range", "bytes=0-3", "If-None-Match", `"v1"`)); res.status != http.StatusNotModified {
		t.Errorf("Range with a matching If-None-Match: %d, want 304", res.status)
	}
}

// TestRangeMissGoesToHandlerAndIsNotStored pins a Range request that finds
// nothing stored: the handler answers it with its own 206, which is not
// stored (detail=range); the next full GET is then stored, and ranges hit.
func TestRangeMissGoesToHandlerAndIsNotStored(t *testing.T) {
	_, h, page, ranges := rangeEnv(t)
	res := do(t, h, get("http://example.com/f", "Range", "bytes=0-1"))
	if res.status != http.StatusPartialContent || res.body != "01" || res.cacheStatus() != "httpcache; fwd=uri-miss; detail=range" {
		t.Fatalf("range miss: %d %q %q", res.status, res.body, res.cacheStatus())
	}
	if len(*ranges) != 1 || (*ranges)[0] != "bytes=0-1" {
		t.Fatalf("the handler saw Range %q, want the client's", *ranges)
	}
	if res := do(t, h, get("http://example.com/f")); res.cacheStatus() != "httpcache; fwd=uri-miss; stored" {
		t.Fatalf("full GET after the range miss: %q, want a stored miss (the 206 was not stored)", res.cacheStatus())
	}
	if res := do(t, h, get("http://example.com/f", "Range", "bytes=0-1")); res.status != http.StatusPartialContent || !isHit(res) {
		t.Fatalf("range after the full GET: %d %q", res.status, res.cacheStatus())
	}
	if page.n() != 2 {
		t.Errorf("handler called %d times, want 2", page.n())
	}
}

// TestRangeBypassesWithoutRangeRequests pins the default: Range and
// If-Range requests never touch the cache.
func TestRangeBypassesWithoutRangeRequests(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60"}, "0123456789"))
	do(t, h, get("http://example.com/f"))
	if res := do(t, h, get("http://example.com/f", "Range", "bytes=0-1")); res.cacheStatus() != "httpcache; fwd=bypass; detail=range" {
		t.Errorf("Range without RangeRequests: %q", res.cacheStatus())
	}
	if res := do(t, h, get("http://example.com/f", "If-Range", `"x"`)); res.cacheStatus() != "httpcache; fwd=bypass; detail=precondition" {
		t.Errorf("If-Range without RangeRequests: %q", res.cacheStatus())
	}
}

// TestRangeStaleRefreshFetchesWholeResponse pins the background refresh a
// range request starts when it is served stale (stale-while-revalidate): it
// refreshes the GET response as a whole, without the client's Range. Sent
// with the Range, the handler answers a part — never stored, so the refresh
// is lost — or, the content having shrunk, a 416 that http.ServeContent
// leaves its Expires on: stored, it would be every client's answer.
func TestRangeStaleRefreshFetchesWholeResponse(t *testing.T) {
	e := newEnv(t, httpcache.Options{RangeRequests: true, Policy: httpcache.Policy{StaleWhileRevalidate: time.Minute}})
	var version atomic.Int64
	version.Store(1)
	var ranged atomic.Int64
	page := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		w.Header().Set("Expires", e.clock.Now().Add(10*time.Second).UTC().Format(http.TimeFormat))
		body := "0123456789"
		if version.Load() == 2 {
			body = "abc"
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
	}}
	h := e.cache.Handler(page)
	do(t, h, get("http://example.com/f"))
	e.clock.Advance(15 * time.Second)
	version.Store(2)
	if res := do(t, h, get("http://example.com/f", "Range", "bytes=5-9")); res.status != http.StatusPartialContent || res.body != "56789" {
		t.Fatalf("range served stale: %d %q %q", res.status, res.body, res.cacheStatus())
	}
	testwait.For(t, "refresh", func() bool { return page.n() == 2 })
	e.cache.Wait()
	res := do(t, h, get("http://example.com/f"))
	if res.status != http.StatusOK || res.body != "abc" || !isHit(res) {
		t.Errorf("full GET after the refresh: %d %q %q, want the refreshed 200 \"abc\" as a hit", res.status, res.body, res.cacheStatus())
	}
	if ranged.Load() != 0 {
		t.Errorf("the refresh asked the handler with the client's Range (%d times)", ranged.Load())
	}
}

// TestIfRangeDateParsedStrictly pins that If-Range reads its date as every
// other date is read (RFC 9110 §5.6.7): a date with doubled spaces is not
// an HTTP-date, so the precondition fails and the whole response is sent.
func TestIfRangeDateParsedStrictly(t *testing.T) {
	_, h, _, _ := rangeEnv(t)
	do(t, h, get("http://example.com/f"))
	if res := do(t, h, get("http://example.com/f", "Range", "bytes=0-3", "If-Range", "Mon, 02  Jan 2026 15:04:05 GMT")); res.status != http.StatusOK {
		t.Errorf("If-Range with a lax date: %d, want the whole response", res.status)
	}
	if res := do(t, h, get("http://example.com/f", "Range", "bytes=0-3", "If-Range", "Mon, 02 Jan 2026 15:04:05 GMT")); res.status != http.StatusPartialContent {
		t.Errorf("If-Range with the exact date: %d, want 206", res.status)
	}
}
