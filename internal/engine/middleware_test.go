package engine

import (
	"net/http"
	"strconv"
	"testing"
)

// TestRequestFieldsReadAsLookupsWould pins that the one pass over a small
// header and the lookups in a large one agree with direct reads of each
// name: a field with no line does not count, nor a non-canonical name.
func TestRequestFieldsReadAsLookupsWould(t *testing.T) {
	for _, extra := range []int{0, scanFieldsMax} { // a pass, then lookups
		for i, name := range fieldNames {
			for _, lines := range [][]string{nil, {}, {"x"}, {"x", "y"}} {
				hd := http.Header{"Accept": {"*/*"}}
				for j := range extra {
					hd["X-Pad-"+strconv.Itoa(j)] = []string{"p"}
				}
				hd[name] = lines
				hd["if-none-match"] = []string{`"a"`} // not canonical: not read
				want := reqFields(0)
				if len(lines) > 0 {
					want = 1 << i
				}
				if got := requestFields(hd); got != want {
					t.Errorf("%d fields, %s: %q: got %b, want %b", len(hd), name, lines, got, want)
				}
			}
		}
	}
}
