// Package ranges holds the pure rules of RFC 9110 §14 that a cache needs to
// answer a range request from a stored complete response: reading a Range
// header field as byte ranges of a representation of known length, and
// deciding an If-Range precondition against the stored validators.
//
// It knows nothing of stores, entries or handlers: every function here is
// a function of its arguments. Dates are read as internal/header reads them.
package ranges

import (
	"strconv"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// Range is one satisfiable byte range: Length bytes from Start.
type Range struct {
	Start, Length int64
}

// ContentRange is the Content-Range value of r within a representation of
// size bytes (RFC 9110 §14.4).
func (r Range) ContentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.Start+r.Length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// Unsatisfied is the Content-Range value of a 416 for a representation of
// size bytes (RFC 9110 §15.5.17).
func Unsatisfied(size int64) string {
	return "bytes */" + strconv.FormatInt(size, 10)
}

// Answer is how a range request is to be answered.
type Answer int

const (
	// Full: answer with the whole representation (200), as for a request
	// without Range: the field is not a valid bytes range set, names
	// another unit, or names several ranges (which this cache does not
	// combine into multipart/byteranges).
	Full Answer = iota
	// Partial: answer 206 with the one range returned.
	Partial
	// Unsatisfiable: answer 416; no range overlaps the representation.
	Unsatisfiable
)

// Parse reads the Range field lines of a GET for a representation of size
// bytes (RFC 9110 §14.1.2, §14.2). A single satisfiable range is Partial;
// a valid range set none of whose ranges is satisfiable is Unsatisfiable;
// anything else — several field lines, a syntax error, another unit,
// several ranges — is Full, which RFC 9110 §14.2 allows a server to
// answer with the whole representation.
func Parse(lines []string, size int64) (Answer, Range) {
	if len(lines) != 1 {
		return Full, Range{}
	}
	unit, set, ok := strings.Cut(lines[0], "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return Full, Range{}
	}
	var (
		first       Range
		satisfiable int
		valid       int
	)
	for set != "" {
		var spec string
		spec, set, _ = strings.Cut(set, ",")
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		r, sat, ok := parseSpec(spec, size)
		if !ok {
			return Full, Range{}
		}
		valid++
		if sat {
			if satisfiable == 0 {
				first = r
			}
			satisfiable++
		}
	}
	switch {
	case valid == 0:
		return Full, Range{}
	case valid > 1:
		return Full, Range{} // several ranges: the whole representation
	case satisfiable == 0:
		return Unsatisfiable, Range{}
	}
	return Partial, first
}

// parseSpec reads one range-spec: "first-last", "first-" or "-suffix".
// ok is false on a syntax error; satisfiable is false for a valid range
// outside a representation of size bytes.
func parseSpec(spec string, size int64) (r Range, satisfiable, ok bool) {
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return Range{}, false, false
	}
	if first == "" {
		n, ok := digits(last)
		if !ok {
			return Range{}, false, false
		}
		if n == 0 || size == 0 {
			return Range{}, false, true // a zero-length suffix is never satisfiable
		}
		n = min(n, size)
		return Range{Start: size - n, Length: n}, true, true
	}
	start, ok := digits(first)
	if !ok {
		return Range{}, false, false
	}
	end := size - 1
	if last != "" {
		e, ok := digits(last)
		if !ok || e < start {
			return Range{}, false, false // last < first is invalid (§14.1.1)
		}
		end = min(e, size-1)
	}
	if start >= size {
		return Range{}, false, true
	}
	return Range{Start: start, Length: end - start + 1}, true, true
}

// digits reads a non-empty string of ASCII digits that fits an int64.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// IfRange reports whether an If-Range precondition holds for a stored
// response with the ETag, Last-Modified and Date field values given (""
// for none; RFC 9110 §13.1.5): the field's entity-tag matches the ETag by
// strong comparison, or its date equals the Last-Modified and that date is
// strong (at least one second before the response's Date). Dates are read strictly, as every date the cache reads
// (header.ParseHTTPDate, with now for two-digit years): one that is not an
// HTTP-date fails the precondition. When it does not hold, the whole
// representation is sent instead of the range.
func IfRange(lines []string, etag, lastModified, date string, now time.Time) bool {
	if len(lines) != 1 {
		return false
	}
	v := strings.Trim(lines[0], " \t")
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		// Strong comparison: neither may be weak, and the opaque tags
		// must be identical.
		return !strings.HasPrefix(v, "W/") && etag != "" && !strings.HasPrefix(etag, "W/") && etag == v
	}
	since, ok := header.ParseHTTPDate(v, now)
	if !ok {
		return false
	}
	lm, ok := header.ParseHTTPDate(lastModified, now)
	if !ok || !lm.Equal(since) {
		return false
	}
	sent, ok := header.ParseHTTPDate(date, now)
	return ok && sent.Sub(lm) >= time.Second
}
