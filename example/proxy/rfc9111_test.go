package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// getWith sends a GET for url with the header fields in kv (name, value
// pairs) and returns the response with its body read.
func getWith(t *testing.T, url string, kv ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestProxyIfModifiedSinceAgainstDate: the origin's response has a Date but
// no Last-Modified; an If-Modified-Since at or after that Date is answered
// 304 by the proxy from its fresh entry, one before it gets the full
// response, also from the cache (RFC 9111 §4.3.2, RFC 9110 §13.1.3).
func TestProxyIfModifiedSinceAgainstDate(t *testing.T) {
	o := &origin{}
	srv := httptest.NewServer(o)
	defer srv.Close()
	base := startProxy(t, "-origin", srv.URL)

	first, _ := fetch(t, "GET", base+"/cacheable")
	date, err := http.ParseTime(first.Header.Get("Date"))
	if err != nil || first.Header.Get("Last-Modified") != "" {
		t.Fatalf("the origin's response: Date %q, Last-Modified %q", first.Header.Get("Date"), first.Header.Get("Last-Modified"))
	}
	for _, tc := range []struct {
		name   string
		ims    time.Time
		status int
	}{
		{"at Date", date, http.StatusNotModified},
		{"after Date", date.Add(time.Hour), http.StatusNotModified},
		{"before Date", date.Add(-50 * time.Minute), http.StatusOK},
	} {
		resp, body := getWith(t, base+"/cacheable", "If-Modified-Since", tc.ims.Format(http.TimeFormat))
		if resp.StatusCode != tc.status || resp.Header.Get("Cache-Status") != "httpcache; hit" {
			t.Errorf("If-Modified-Since %s: %d %q, want %d from the cache", tc.name, resp.StatusCode, resp.Header.Get("Cache-Status"), tc.status)
		}
		if tc.status == http.StatusOK && body != "GET /cacheable" {
			t.Errorf("If-Modified-Since %s: body %q", tc.name, body)
		}
	}
	if n := o.hits.Load(); n != 1 {
		t.Fatalf("%d origin requests, want 1", n)
	}
}

// validatingOrigin answers with an ETag and the Cache-Control cc, 304 to a
// matching If-None-Match, and records the conditional header of each
// request.
type validatingOrigin struct {
	cc string
	mu sync.Mutex
	// seen holds each request's If-None-Match ("" for none).
	seen []string
}

func (o *validatingOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.seen = append(o.seen, r.Header.Get("If-None-Match"))
	o.mu.Unlock()
	w.Header().Set("Cache-Control", o.cc)
	w.Header().Set("ETag", `"v1"`)
	if r.Header.Get("If-None-Match") == `"v1"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	io.WriteString(w, "representation")
}

func (o *validatingOrigin) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

// TestProxyRevalidatesNoCache: a no-cache response with a validator is
// stored, and every later use asks the origin with a conditional request
// (RFC 9111 §5.2.2.4, §4.3.1); the origin's 304 lets the proxy answer the
// client, which sent no condition, with the stored 200 in full.
func TestProxyRevalidatesNoCache(t *testing.T) {
	for _, cc := range []string{"no-cache", "no-cache, max-age=3600"} {
		t.Run(cc, func(t *testing.T) {
			o := &validatingOrigin{cc: cc}
			srv := httptest.NewServer(o)
			defer srv.Close()
			base := startProxy(t, "-origin", srv.URL)

			resp, body := getWith(t, base+"/nc")
			if body != "representation" || resp.Header.Get("Cache-Status") != "httpcache; fwd=uri-miss; stored" {
				t.Fatalf("first: %q %q", body, resp.Header.Get("Cache-Status"))
			}
			for i := range 2 {
				resp, body := getWith(t, base+"/nc")
				if resp.StatusCode != 200 || body != "representation" {
					t.Fatalf("use %d: %d %q, want the stored 200", i, resp.StatusCode, body)
				}
				if cs := resp.Header.Get("Cache-Status"); cs != "httpcache; fwd=stale; fwd-status=304; stored" {
					t.Fatalf("use %d: Cache-Status %q, want a revalidation", i, cs)
				}
			}
			if seen := o.requests(); len(seen) != 3 || seen[0] != "" || seen[1] != `"v1"` || seen[2] != `"v1"` {
				t.Fatalf("the origin saw If-None-Match %q; want none, then the stored ETag on every use", seen)
			}
		})
	}
}

// TestProxyHeuristicFreshness: by default the proxy gives a response that
// states no lifetime but has a Last-Modified 10% of the time since then
// (RFC 9111 §4.2.2), for heuristically cacheable statuses only;
// -heuristic 0 turns that off.
func TestProxyHeuristicFreshness(t *testing.T) {
	lastModified := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lastModified)
		if r.URL.Path == "/created" {
			w.WriteHeader(http.StatusCreated)
		}
		io.WriteString(w, "page")
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args   []string
		path   string
		stored bool
	}{
		{nil, "/page", true},
		{nil, "/created", false}, // 201 is not heuristically cacheable
		{[]string{"-heuristic", "0"}, "/page", false},
	} {
		base := startProxy(t, append([]string{"-origin", srv.URL}, tc.args...)...)
		getWith(t, base+tc.path)
		resp, body := getWith(t, base+tc.path)
		if hit := resp.Header.Get("Cache-Status") == "httpcache; hit"; hit != tc.stored || body != "page" {
			t.Errorf("%q %s: %q %q, want stored: %v", tc.args, tc.path, body, resp.Header.Get("Cache-Status"), tc.stored)
		}
		if tc.stored && resp.Header.Get("Age") == "" {
			t.Errorf("%q %s: a hit without Age", tc.args, tc.path)
		}
	}
}

// TestProxyUsageShowsNewFlags: -h lists the flags of the RFC 9111
// features the proxy turns on.
func TestProxyUsageShowsNewFlags(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-h"}, &out, nil); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range []string{"-heuristic", "-heuristic-max", "-targeted"} {
		if !strings.Contains(out.String(), "  "+name+" ") {
			t.Errorf("-h does not show %s:\n%s", name, out.String())
		}
	}
}

// TestProxyStoresAnyStatusWithExplicitFreshness: the proxy stores any final
// status whose response gives explicit freshness (RFC 9111 §3) — errors,
// 303, statuses it does not know — and no other.
func TestProxyStoresAnyStatusWithExplicitFreshness(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.WriteHeader(status)
		io.WriteString(w, r.URL.RawQuery)
	}))
	defer srv.Close()
	base := startProxy(t, "-origin", srv.URL)
	for _, tc := range []struct {
		status int
		cc     string
		stored bool
	}{
		{500, "max-age=60", true},
		{503, "max-age=60", true},
		{303, "max-age=60", true},
		{400, "max-age=60", true},
		{299, "max-age=60", true},
		{599, "max-age=60", true},
		{500, "", false},
		{502, "no-store", false},
		{206, "max-age=60", false},
	} {
		url := base + "/s?status=" + strconv.Itoa(tc.status) + "&cc=" + tc.cc
		getWith(t, url)
		resp, _ := getWith(t, url)
		if hit := resp.Header.Get("Cache-Status") == "httpcache; hit"; hit != tc.stored || resp.StatusCode != tc.status {
			t.Errorf("%d %q: %d %q, want stored: %v", tc.status, tc.cc, resp.StatusCode, resp.Header.Get("Cache-Status"), tc.stored)
		}
	}
}

// targetedOrigin answers each path with the fields of its entry in
// fields, an ETag, and 304 to a matching If-None-Match; it records
// whether each request was conditional.
type targetedOrigin struct {
	fields map[string]map[string]string
	mu     sync.Mutex
	seen   []string // path, "?" if conditional
}

func (o *targetedOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	seen := r.URL.Path
	if r.Header.Get("If-None-Match") != "" {
		seen += "?"
	}
	o.seen = append(o.seen, seen)
	o.mu.Unlock()
	for k, v := range o.fields[r.URL.Path] {
		w.Header().Set(k, v)
	}
	w.Header().Set("ETag", `"v1"`)
	if r.Header.Get("If-None-Match") == `"v1"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	io.WriteString(w, "page")
}

func (o *targetedOrigin) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.seen)
}

// TestProxyTargetedFields: the proxy is a CDN cache (RFC 9213 §3): by
// default a valid CDN-Cache-Control decides what it stores and for how
// long, in place of Cache-Control and Expires (§2.2), with Cache-Control's
// directives; an invalid one is ignored (§2.1). -targeted lists the fields
// it obeys, first most applicable; -targeted "" none. The fields reach the
// client (§3: CDN caches typically forward CDN-Cache-Control).
func TestProxyTargetedFields(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	o := &targetedOrigin{fields: map[string]map[string]string{
		"/max-age":      {"CDN-Cache-Control": "max-age=600", "Cache-Control": "no-store"},
		"/over-max-age": {"CDN-Cache-Control": "max-age=0", "Cache-Control": "max-age=600"},
		"/s-maxage":     {"CDN-Cache-Control": "max-age=0, s-maxage=600", "Cache-Control": "private"},
		"/private":      {"CDN-Cache-Control": "private", "Cache-Control": "public, max-age=600"},
		"/no-store":     {"CDN-Cache-Control": "no-store", "Cache-Control": "max-age=600"},
		"/no-cache":     {"CDN-Cache-Control": "no-cache", "Cache-Control": "max-age=600"},
		"/expires":      {"CDN-Cache-Control": "must-revalidate", "Expires": future},
		"/invalid":      {"CDN-Cache-Control": "max-age=600 no-store", "Cache-Control": "max-age=600"},
		"/invalid-no":   {"CDN-Cache-Control": "Max-Age=600", "Cache-Control": "no-store"},
		"/two":          {"Acme-Cache-Control": "max-age=600", "CDN-Cache-Control": "no-store"},
	}}
	srv := httptest.NewServer(o)
	defer srv.Close()
	const (
		hit      = "httpcache; hit"
		refetch  = "httpcache; fwd=uri-miss"
		revalid  = "httpcache; fwd=stale; fwd-status=304; stored"
		notFresh = "httpcache; fwd=uri-miss; detail=no-freshness"
	)
	for _, tc := range []struct {
		args []string
		path string
		want string // the second request's Cache-Status, up to any detail
	}{
		{nil, "/max-age", hit},
		{nil, "/over-max-age", refetch},
		{nil, "/s-maxage", hit},
		{nil, "/private", refetch + "; detail=private"},
		{nil, "/no-store", refetch + "; detail=no-store"},
		{nil, "/no-cache", revalid},
		{nil, "/expires", notFresh},
		{nil, "/invalid", hit},
		{nil, "/invalid-no", refetch + "; detail=no-store"},
		{nil, "/two", refetch + "; detail=no-store"},
		{[]string{"-targeted", "Acme-Cache-Control, CDN-Cache-Control"}, "/two", hit},
		{[]string{"-targeted", ""}, "/max-age", refetch + "; detail=no-store"},
		{[]string{"-targeted", ""}, "/private", hit},
	} {
		base := startProxy(t, append([]string{"-origin", srv.URL}, tc.args...)...)
		first, _ := getWith(t, base+tc.path)
		for k, v := range o.fields[tc.path] {
			if got := first.Header.Get(k); got != v {
				t.Errorf("%q %s: the client got %s %q, want %q", tc.args, tc.path, k, got, v)
			}
		}
		before := len(o.requests())
		resp, body := getWith(t, base+tc.path)
		cs := resp.Header.Get("Cache-Status")
		if body != "page" || cs != tc.want && !strings.HasPrefix(cs, tc.want+"; ") {
			t.Errorf("%q %s: second request %q %q, want %q", tc.args, tc.path, body, cs, tc.want)
		}
		after := o.requests()[before:]
		wantOrigin := []string{tc.path}
		switch tc.want {
		case hit:
			wantOrigin = nil
		case revalid:
			wantOrigin = []string{tc.path + "?"}
		}
		if !slices.Equal(after, wantOrigin) {
			t.Errorf("%q %s: the origin saw %q, want %q", tc.args, tc.path, after, wantOrigin)
		}
	}
}
