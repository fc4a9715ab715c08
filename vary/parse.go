package vary

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Sentinel errors.
var (
	// ErrInvalidFieldName reports a Vary list element that is not a field
	// name (an RFC 9110 token). A response carrying it should not be stored.
	ErrInvalidFieldName = errors.New("vary: invalid field name in Vary")
)

// Parse parses the field lines of a response's Vary header into the header
// names it lists, in canonical form (http.CanonicalHeaderKey), sorted and
// without duplicates, so that lists differing only in case, order,
// repetition or whitespace give the same names.
//
// star is true when any element is "*" (RFC 9110 §12.5.5): the response
// varies on something outside the request and must never be served from the
// cache. It wins over an invalid element, since either way nothing is stored
// and "*" is the origin's explicit word. A list element that is not a token
// gives an error wrapping [ErrInvalidFieldName]. A Vary header with no names
// (absent, empty, or only commas and whitespace) gives nil, false, nil.
func Parse(fieldValues []string) (names []string, star bool, err error) {
	it := elements{values: fieldValues}
	for el, ok := it.next(); ok; el, ok = it.next() {
		switch {
		case el == "*":
			star = true
		case err != nil:
			// Keep the first error, but keep looking for "*".
		default:
			if n := tokenPrefix(el); n < len(el) {
				err = fmt.Errorf("%w: %q (byte %#02x at offset %d is not a token character, RFC 9110 §5.6.2)",
					ErrInvalidFieldName, truncate(el, 64), el[n], n)
				continue
			}
			names = append(names, http.CanonicalHeaderKey(el))
		}
	}
	switch {
	case star:
		return nil, true, nil
	case err != nil:
		return nil, false, err
	case len(names) == 0:
		return nil, false, nil
	}
	slices.Sort(names)
	return slices.Clip(slices.Compact(names)), false, nil
}

// truncate shortens s for an error message, so that a huge header cannot
// produce a huge log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
