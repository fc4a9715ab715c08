package rfc9111

import (
	"net/http"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// Stored is what the conditional rules read of a stored response's header
// (canonical names): its validators and its Date.
type Stored struct {
	ETag, LastModified, Date []string
}

// HasValidators reports whether a stored response can be revalidated: it
// has an ETag or a Last-Modified to send back (RFC 9111 §4.3.1).
func (s Stored) HasValidators() bool { return len(s.ETag) > 0 || len(s.LastModified) > 0 }

// first is v's first value, or "".
func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// HasValidators reports whether a response with header h can be
// revalidated: it has an ETag or a Last-Modified to send back (RFC 9111
// §4.3.1). h has canonical names.
func HasValidators(h http.Header) bool {
	return len(h["Etag"]) > 0 || len(h["Last-Modified"]) > 0
}

// Identifies reports whether a 304 with header h304 may update the stored
// response with the validators of stored (RFC 9111 §4.3.4): a strong ETag
// must be the stored one by strong comparison, a weak one by weak
// comparison; without
// an ETag, a Last-Modified must be the stored one. A 304 with neither
// answered the conditional request made with the stored validators, and is
// taken at its word. Otherwise the stored response is not updated, and the
// handler is asked again without conditions.
func Identifies(h304 http.Header, stored Stored) bool {
	if tag := h304["Etag"]; len(tag) > 0 {
		// The entity-tag decides; a Last-Modified beside it may move
		// (an updated_at) while the representation does not.
		st := stored.ETag
		if len(st) == 0 {
			return false
		}
		a, ok1 := opaqueTag(tag[0])
		b, ok2 := opaqueTag(st[0])
		return ok1 && ok2 && a == b && (isWeak(tag[0]) || !isWeak(st[0]))
	}
	if lm := h304["Last-Modified"]; len(lm) > 0 {
		st := stored.LastModified
		if len(st) == 0 {
			return false
		}
		// Both dates are read against one present (the wall clock, the
		// only use of it here): it decides only an rfc850-date's
		// century, alike for both.
		now := time.Now()
		t1, ok1 := header.ParseHTTPDate(lm[0], now)
		t2, ok2 := header.ParseHTTPDate(st[0], now)
		if !ok1 || !ok2 {
			return header.TrimOWS(lm[0]) == header.TrimOWS(st[0])
		}
		return t1.Equal(t2)
	}
	return true
}

// isWeak reports whether an entity-tag is weak (W/"x").
func isWeak(etag string) bool { return strings.HasPrefix(header.TrimOWS(etag), "W/") }
