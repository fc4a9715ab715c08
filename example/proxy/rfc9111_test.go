package main

import (
	"io"
	"net/http"
	"net/http/httptest"
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
