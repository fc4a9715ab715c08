package rfc9111

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestNotModified: If-Modified-Since against a stored response (RFC 9110
// §13.1.3, §13.2.2; RFC 9111 §4.3.2): compared with its Last-Modified, or
// else its Date, or else the time it was received; a value that is not a
// valid HTTP-date, or has several members, is ignored.
func TestNotModified(t *testing.T) {
	tests := []struct {
		name   string
		status int
		stored http.Header
		req    http.Header
		want   bool
	}{
		{name: "Last-Modified equal", stored: h("Last-Modified", date(-time.Hour)), req: h("If-Modified-Since", date(-time.Hour)), want: true},
		{name: "Last-Modified earlier", stored: h("Last-Modified", date(-time.Hour)), req: h("If-Modified-Since", date(-time.Minute)), want: true},
		{name: "Last-Modified later", stored: h("Last-Modified", date(-time.Minute)), req: h("If-Modified-Since", date(-time.Hour)), want: false},
		{name: "Last-Modified beats Date", stored: h("Last-Modified", date(-time.Hour), "Date", date(0)), req: h("If-Modified-Since", date(-time.Minute)), want: true},
		{name: "only Date, not after", stored: h("Date", date(-time.Minute)), req: h("If-Modified-Since", date(0)), want: true},
		{name: "only Date, equal", stored: h("Date", date(0)), req: h("If-Modified-Since", date(0)), want: true},
		{name: "only Date, after", stored: h("Date", date(0)), req: h("If-Modified-Since", date(-50*time.Minute)), want: false},
		{name: "neither: the time received", stored: h(), req: h("If-Modified-Since", date(0)), want: true},
		{name: "neither, received after", stored: h(), req: h("If-Modified-Since", date(-time.Second)), want: false},
		{name: "invalid Last-Modified: Date", stored: h("Last-Modified", "yesterday", "Date", date(-time.Minute)), req: h("If-Modified-Since", date(-30*time.Second)), want: true},
		{name: "rfc850 If-Modified-Since", stored: h("Last-Modified", date(0)), req: h("If-Modified-Since", t0.Format("Monday, 02-Jan-06 15:04:05 GMT")), want: true},
		{name: "asctime If-Modified-Since", stored: h("Last-Modified", date(0)), req: h("If-Modified-Since", t0.Format("Mon Jan _2 15:04:05 2006")), want: true},
		{name: "invalid If-Modified-Since ignored", stored: h("Last-Modified", date(-time.Hour)), req: h("If-Modified-Since", "Wed, 4 Mar 2026 05:06:07 GMT"), want: false},
		{name: "two If-Modified-Since ignored", stored: h("Last-Modified", date(-time.Hour)), req: hh("If-Modified-Since", date(0), date(0)), want: false},
		{name: "If-None-Match wins", stored: h("Last-Modified", date(-time.Hour), "Etag", `"a"`), req: h("If-None-Match", `"b"`, "If-Modified-Since", date(0)), want: false},
		{name: "only 2xx", status: 404, stored: h("Date", date(-time.Minute)), req: h("If-Modified-Since", date(0)), want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = 200
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header = tc.req
			if got := NotModified(r, status, StoredOf(tc.stored), t0); got != tc.want {
				t.Fatalf("NotModified = %v, want %v", got, tc.want)
			}
		})
	}
}

// StoredOf reads a Stored from h.
func StoredOf(h http.Header) Stored {
	return Stored{ETag: h["Etag"], LastModified: h["Last-Modified"], Date: h["Date"]}
}
