package engine

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/seedcache/httpcache/internal/rfc9111"

	"github.com/seedcache/httpcache/internal/header"
)

// Cache-Status forward reasons (RFC 9211 §2.2).
const (
	fwdBypass   = "bypass"    // configured or by the request's nature
	fwdMethod   = "method"    // the method is not served from cache
	fwdURIMiss  = "uri-miss"  // nothing stored for the URI
	fwdVaryMiss = "vary-miss" // stored, but not for these request headers
	fwdStale    = "stale"     // stored, but stale
	fwdRequest  = "request"   // usable, but the request's directives forbade it
)

// Bypass details.
const (
	detailUpgrade      = "upgrade"
	detailRange        = "range"
	detailPrecondition = "precondition"
	detailPolicy       = "policy"
	detailCookie       = "cookie"
	detailBody         = "body"
	detailHost         = "host"
	detailPath         = "path"
	detailTooLong      = "too-long"
	detailInvalidated  = "invalidated"
	detailOnlyIfCached = "only-if-cached"
	detailStaleIfError = "stale-if-error"
)

// Details for a response that would be stored but for the writer or the
// store: said at WriteHeader in place of "stored".
const (
	detailEventStream = "event-stream" // text/event-stream: events, not a page
	detailTrailers    = "trailers"     // announced trailers, which a stored copy would lose
	detailTags        = "tags"         // over tags.MaxTags, or a tag too long or with control bytes
	detailStoreError  = "store-error"  // the store failed this request's lookup
	detailCircuitOpen = "circuit-open" // the store's circuit breaker is open
)

// statusValues holds the Cache-Status values used on the hit path, built once
// per Cache so that a hit allocates none. The slices are capped (len == cap):
// a later append by other code copies rather than writing into them.
type statusValues struct {
	name            string
	hit             []string
	hitMaxStale     []string // served stale, as the client allowed
	hitRevalidating []string // served stale while a refresh runs

	// forwards are the forward values without fwd-status or detail, by
	// reason (as in fwdReasons) and by whether the response is stored:
	// built once, so that a miss builds none.
	forwards *[len(fwdReasons)][2]string
}

// fwdReasons are the forward reasons whose values are built in advance.
var fwdReasons = [...]string{fwdBypass, fwdMethod, fwdURIMiss, fwdVaryMiss, fwdStale, fwdRequest, ""}

func newStatusValues(name string) statusValues {
	one := func(v string) []string { return []string{v}[:1:1] }
	s := statusValues{
		name:            name,
		hit:             one(name + "; hit"),
		hitMaxStale:     one(name + "; hit; detail=max-stale"),
		hitRevalidating: one(name + "; hit; detail=stale-while-revalidate"),
		forwards:        new([len(fwdReasons)][2]string),
	}
	for i, fwd := range fwdReasons {
		s.forwards[i] = [2]string{s.build(fwd, 0, false, ""), s.build(fwd, 0, true, "")}
	}
	return s
}

// ofHit is the Cache-Status of a hit served under use: fresh, stale as
// the client allowed, or stale while a refresh runs; nil when use serves
// no hit.
func (s *statusValues) ofHit(use rfc9111.Use) []string {
	switch use {
	case rfc9111.UseFresh:
		return s.hit
	case rfc9111.UseStale:
		return s.hitMaxStale
	case rfc9111.UseStaleRefresh:
		return s.hitRevalidating
	}
	return nil
}

// collapsed is the value for a request answered from another request's
// fetch (RFC 9211 §2.6).
func (s statusValues) collapsed(fwd string) string {
	return s.name + "; fwd=" + fwd + "; collapsed"
}

// forwardStatus builds "name; fwd=reason; fwd-status=N[; stored][; detail=…]".
func (s statusValues) forwardStatus(fwd string, status int, stored bool, detail string) string {
	return s.build(fwd, status, stored, detail)
}

// forward builds "name; fwd=reason[; stored][; detail=detail]".
func (s statusValues) forward(fwd string, stored bool, detail string) string {
	if detail == "" && s.forwards != nil {
		for i, r := range fwdReasons {
			if r == fwd {
				if stored {
					return s.forwards[i][1]
				}
				return s.forwards[i][0]
			}
		}
	}
	return s.build(fwd, 0, stored, detail)
}

// build builds a forward value, with fwd-status unless status is 0, and
// without fwd when fwd is "" (a response the cache made itself).
func (s statusValues) build(fwd string, status int, stored bool, detail string) string {
	var b strings.Builder
	b.Grow(len(s.name) + len(fwd) + len(detail) + 40)
	b.WriteString(s.name)
	if fwd != "" {
		b.WriteString("; fwd=")
		b.WriteString(fwd)
	}
	if status != 0 {
		b.WriteString("; fwd-status=")
		b.WriteString(strconv.Itoa(status))
	}
	if stored {
		b.WriteString("; stored")
	}
	if detail != "" {
		b.WriteString("; detail=")
		b.WriteString(detail)
	}
	return b.String()
}

// appendStatus adds this cache's member to the response's Cache-Status list.
// RFC 9211 orders the list from the origin outwards, so ours goes last,
// after any an upstream cache put there.
func appendStatus(h http.Header, value string) {
	h["Cache-Status"] = append(h["Cache-Status"], value)
}

// validStatusName reports whether name can stand as a Cache-Status member: a
// structured-field token (RFC 8941 §3.3.4).
func validStatusName(name string) bool {
	if name == "" {
		return false
	}
	if c := name[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '*') {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !header.IsTokenChar(c) && c != ':' && c != '/' {
			return false
		}
	}
	return true
}
