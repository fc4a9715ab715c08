package engine

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
)

// TestStoredFieldsAreWhatIsStored: the header stored for a response is the
// handler's, less what is never stored (hop-by-hop fields and those its
// Connection names, Age, Cache-Status, Set-Cookie, the tag header, what the
// middleware above set), its values mended as net/http would send them,
// with the exact Content-Length, a Date and a sniffed Content-Type when it
// had none, and a generated ETag in place of one without a value; the
// handler's header itself is left as it was.
func TestStoredFieldsAreWhatIsStored(t *testing.T) {
	at := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC)
	body := []byte("<p>hello</p>")
	h := http.Header{
		"Cache-Control":  {"max-age=60"},
		"Content-Length": {"999"},
		"Connection":     {"X-Private"},
		"X-Private":      {"p"},
		"Keep-Alive":     {"timeout=5"},
		"Age":            {"7"},
		"Cache-Status":   {"up; hit"},
		"Set-Cookie":     {"s=1"},
		"X-Tags":         {"a b"},
		"X-Above":        {"same"},
		"X-Mended":       {"a\r\nb"},
		"Etag":           {},
		"X-Multi":        {"1", "2"},
	}
	before := h.Clone()
	above := http.Header{"X-Above": {"same"}}
	got := storedFields(h, above, "X-Tags", at, body, true)
	want := map[string][]string{
		"Cache-Control":  {"max-age=60"},
		"Content-Length": {"12"},
		"Date":           {"Tue, 08 Dec 2026 01:02:03 GMT"},
		"Content-Type":   {"text/html; charset=utf-8"},
		"Etag":           {bodyETag(body)},
		"X-Mended":       {"a  b"},
		"X-Multi":        {"1", "2"},
	}
	if len(got) != len(want) {
		t.Errorf("stored %d fields, want %d: %v", len(got), len(want), names(got))
	}
	for name, vv := range want {
		if v := got.Values(name); !slices.Equal(v, vv) {
			t.Errorf("%s: %q, want %q", name, v, vv)
		}
	}
	for _, f := range got {
		if cap(f.Values) != len(f.Values) {
			t.Errorf("%s: values not capped", f.Name)
		}
	}
	for name, vv := range before {
		if !slices.Equal(h[name], vv) {
			t.Errorf("the handler's %s changed: %q, was %q", name, h[name], vv)
		}
	}
	// A Date the handler suppressed (a nil value) stays suppressed, and
	// an ETag with a value is kept, not replaced.
	got = storedFields(http.Header{"Date": nil, "Etag": {`"v1"`}}, nil, "X-Tags", at, nil, true)
	if !slices.ContainsFunc(got, func(f entry.Field) bool { return f.Name == "Date" && f.Values == nil }) || !slices.Equal(got.Values("Etag"), []string{`"v1"`}) || len(got) != 2 {
		t.Errorf("suppressed Date and own ETag: %v", got)
	}
}

func names(h entry.Header) string {
	var n []string
	for _, f := range h {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}
