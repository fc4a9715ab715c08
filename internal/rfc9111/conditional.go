package rfc9111

import (
	"net/http"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// NotModified evaluates the request's If-None-Match and If-Modified-Since
// against a stored response (its status, the fields of its header the
// conditions read, and the time it was received), in RFC 9110 §13.2.2
// order, and reports whether the answer is 304 Not Modified.
//
// Only 2xx responses are evaluated (§13.2.1: preconditions are ignored when
// the response would otherwise not be 2xx). If-Match and If-Unmodified-Since
// never reach here: requests carrying them bypass the cache, since they are
// meant for the origin (RFC 9111 §4.3.2). If-Range is decided with the Range
// it comes with (internal/ranges), after this.
func NotModified(r *http.Request, status int, s Stored, responseTime time.Time) bool {
	if status < 200 || status > 299 {
		return false
	}
	// Direct map reads with canonical names: this runs on every hit.
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		// When If-None-Match is present, If-Modified-Since is ignored
		// (§13.1.3), whether or not it matched.
		etag := s.ETag
		return len(etag) == 1 && etagListMatches(inm, etag[0])
	}
	ims := r.Header["If-Modified-Since"]
	if len(ims) != 1 {
		return false // absent, or more than one member: ignore (§13.1.3)
	}
	// Not a valid HTTP-date: ignored (§13.1.3). responseTime stands for
	// the present in reading an rfc850-date's two-digit year.
	since, ok := header.ParseHTTPDate(ims[0], responseTime)
	if !ok {
		return false
	}
	// RFC 9111 §4.3.2: compare with Last-Modified, or else Date, or else
	// the time the response was received.
	modified := responseTime
	if lm, ok := header.ParseHTTPDate(first(s.LastModified), responseTime); ok {
		modified = lm
	} else if len(s.Date) == 1 {
		if d, ok := header.ParseHTTPDate(s.Date[0], responseTime); ok {
			modified = d
		}
	}
	return !modified.After(since)
}

// etagListMatches reports whether any entity tag in an If-None-Match list
// matches etag under the weak comparison (§8.8.3.2), or the list is "*". A
// malformed list matches nothing, so the full response is sent: the safe
// answer when the client's validators cannot be understood.
func etagListMatches(lines []string, etag string) bool {
	want, ok := opaqueTag(etag)
	if !ok {
		return false
	}
	for _, line := range lines {
		for line != "" {
			line = header.TrimLeftOWS(line)
			if line == "" {
				break
			}
			if line[0] == ',' {
				line = line[1:]
				continue
			}
			if line[0] == '*' {
				return true
			}
			tag, rest, ok := nextETag(line)
			if !ok {
				return false
			}
			if tag == want {
				return true
			}
			line = rest
		}
	}
	return false
}

// opaqueTag returns the quoted opaque-tag of an entity-tag, without any weak
// prefix: the part compared by weak comparison.
func opaqueTag(etag string) (string, bool) {
	tag, rest, ok := nextETag(header.TrimOWS(etag))
	return tag, ok && header.TrimOWS(rest) == ""
}

// nextETag splits one entity-tag (W/"x" or "x") off the front of s.
func nextETag(s string) (tag, rest string, ok bool) {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	return s[:end+2], s[end+2:], true
}

// NotModifiedHeaders are the stored fields a 304 carries (RFC 9110 §15.4.5):
// those a 200 would have had that help caches update, and no other
// representation metadata.
var NotModifiedHeaders = []string{
	"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Vary",
}
