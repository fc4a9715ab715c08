package ranges

import (
	"net/http"
	"testing"
	"time"
)

// TestParse pins how Range field lines are read for a representation of
// 1000 bytes (RFC 9110 §14.1.2 syntax, §14.2 semantics).
func TestParse(t *testing.T) {
	const size = 1000
	for _, tc := range []struct {
		lines []string
		want  Answer
		r     Range
	}{
		{[]string{"bytes=0-499"}, Partial, Range{0, 500}},
		{[]string{"bytes=500-999"}, Partial, Range{500, 500}},
		{[]string{"bytes=500-"}, Partial, Range{500, 500}},
		{[]string{"bytes=-200"}, Partial, Range{800, 200}},
		{[]string{"bytes=-5000"}, Partial, Range{0, 1000}},        // a suffix longer than the whole: all of it
		{[]string{"bytes=900-5000"}, Partial, Range{900, 100}},    // last past the end is cut (§14.1.1)
		{[]string{"BYTES = 0-0"}, Partial, Range{0, 1}},           // the unit is case-insensitive
		{[]string{"bytes=0-0, "}, Partial, Range{0, 1}},           // empty list elements
		{[]string{"bytes=1000-"}, Unsatisfiable, Range{}},         // starts at the end
		{[]string{"bytes=-0"}, Unsatisfiable, Range{}},            // zero-length suffix
		{[]string{"bytes=2000-3000"}, Unsatisfiable, Range{}},     // wholly past the end
		{[]string{"bytes=0-1, 5-6"}, Full, Range{}},               // several ranges: the whole
		{[]string{"bytes=0-1", "bytes=5-6"}, Full, Range{}},       // several field lines
		{[]string{"bytes=5-1"}, Full, Range{}},                    // last before first: invalid
		{[]string{"bytes=a-1"}, Full, Range{}},                    // not digits
		{[]string{"bytes=+1-2"}, Full, Range{}},                   // a sign is not a digit
		{[]string{"bytes="}, Full, Range{}},                       // no range
		{[]string{"items=0-1"}, Full, Range{}},                    // another unit
		{[]string{"bytes=0-99999999999999999999"}, Full, Range{}}, // overflows
		{[]string{"bytes 0-1"}, Full, Range{}},                    // no "="
	} {
		got, r := Parse(tc.lines, size)
		if got != tc.want || r != tc.r {
			t.Errorf("Parse(%q) = %v %+v, want %v %+v", tc.lines, got, r, tc.want, tc.r)
		}
	}
	if got, _ := Parse([]string{"bytes=0-"}, 0); got != Unsatisfiable {
		t.Errorf("a range of an empty representation: %v, want Unsatisfiable", got)
	}
}

// TestContentRange pins the Content-Range values of RFC 9110 §14.4.
func TestContentRange(t *testing.T) {
	if got := (Range{500, 500}).ContentRange(1000); got != "bytes 500-999/1000" {
		t.Errorf("ContentRange = %q", got)
	}
	if got := Unsatisfied(1000); got != "bytes */1000" {
		t.Errorf("Unsatisfied = %q", got)
	}
}

// TestIfRange pins the If-Range precondition of RFC 9110 §13.1.5: a strong
// entity-tag match, or the exact date of a strong Last-Modified.
func TestIfRange(t *testing.T) {
	stored := http.Header{
		"Etag":          {`"v1"`},
		"Last-Modified": {"Mon, 02 Jan 2026 15:04:05 GMT"},
		"Date":          {"Mon, 02 Jan 2026 16:00:00 GMT"},
	}
	weak := http.Header{"Etag": {`W/"v1"`}}
	justModified := http.Header{
		"Last-Modified": {"Mon, 02 Jan 2026 15:04:05 GMT"},
		"Date":          {"Mon, 02 Jan 2026 15:04:05 GMT"}, // not a second before Date: weak
	}
	for _, tc := range []struct {
		name  string
		lines []string
		h     http.Header
		want  bool
	}{
		{"same strong etag", []string{`"v1"`}, stored, true},
		{"other etag", []string{`"v2"`}, stored, false},
		{"weak etag in the request", []string{`W/"v1"`}, stored, false},
		{"weak etag stored", []string{`"v1"`}, weak, false},
		{"exact date", []string{"Mon, 02 Jan 2026 15:04:05 GMT"}, stored, true},
		{"later date", []string{"Mon, 02 Jan 2026 15:04:06 GMT"}, stored, false},
		{"date of a weak Last-Modified", []string{"Mon, 02 Jan 2026 15:04:05 GMT"}, justModified, false},
		{"not a date", []string{"yesterday"}, stored, false},
		{"two field lines", []string{`"v1"`, `"v1"`}, stored, false},
		{"no validator stored", []string{`"v1"`}, http.Header{}, false},
	} {
		if got := IfRange(tc.lines, tc.h.Get("Etag"), tc.h.Get("Last-Modified"), tc.h.Get("Date"), time.Now()); got != tc.want {
			t.Errorf("%s: IfRange = %v, want %v", tc.name, got, tc.want)
		}
	}
}
