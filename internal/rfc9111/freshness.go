package rfc9111

import (
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// Use is what a stored response may be used for, for one request.
type Use uint8

const (
	// UseForward: not usable as it is; the request goes to the handler
	// (conditionally, when the entry has validators).
	UseForward Use = iota
	// UseFresh: serve it.
	UseFresh
	// UseStale: serve it although stale (the client accepts that, with
	// max-stale).
	UseStale
	// UseStaleRefresh: serve it stale and refresh it in the background
	// (stale-while-revalidate).
	UseStaleRefresh
)

// ClientDirectives are the request's own Cache-Control directives that a
// cache may honour (RFC 9111 §5.2.1). The zero value asks nothing: what a
// cache that does not let requests ask uses, so that the client cannot make
// it go to the origin.
type ClientDirectives struct {
	NoCache      bool
	OnlyIfCached bool
	MaxAge       Delta
	MaxStale     Delta
	MinFresh     Delta
}

// RequestDirectives parses what the request asks of the cache. Pragma:
// no-cache counts only when the request has no Cache-Control (§5.4).
func RequestDirectives(r *http.Request) ClientDirectives {
	lines := r.Header["Cache-Control"]
	if len(lines) == 0 {
		for _, p := range r.Header["Pragma"] {
			if header.ContainsToken(p, "no-cache") {
				return ClientDirectives{NoCache: true}
			}
		}
		return ClientDirectives{}
	}
	d := ParseCacheControl(lines)
	return ClientDirectives{
		NoCache:      d.NoCache,
		OnlyIfCached: d.OnlyIfCached,
		MaxAge:       d.MaxAge,
		MaxStale:     d.MaxStale,
		MinFresh:     d.MinFresh,
	}
}

// Freshness is what a stored response's use depends on besides its age:
// its freshness lifetime (§4.2.1), its stale windows (RFC 5861) and its
// flags (FlagNoCache, FlagMustRevalidate).
type Freshness struct {
	Lifetime             time.Duration
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	Flags                uint8
}

// Usable decides how a stored response with freshness f and current age
// may serve a request asking cd (RFC 9111 §4.2, §4.2.4, §5.2.1; RFC 5861).
// A malformed request directive is ignored.
func (f Freshness) Usable(age time.Duration, cd ClientDirectives) Use {
	if f.Flags&FlagNoCache != 0 || cd.NoCache {
		return UseForward
	}
	if cd.MaxAge.Valid() && age > Seconds(cd.MaxAge) {
		return UseForward
	}
	if age < f.Lifetime {
		if cd.MinFresh.Valid() && f.Lifetime-age < Seconds(cd.MinFresh) {
			return UseForward
		}
		return UseFresh
	}
	if f.Flags&FlagMustRevalidate != 0 || cd.MinFresh.Valid() {
		return UseForward // a stale response is never fresh enough
	}
	if cd.MaxAge.Valid() && !cd.MaxStale.set {
		// A client's max-age without max-stale says it does not want a
		// stale response (RFC 9111 §5.2.1.1).
		return UseForward
	}
	stale := age - f.Lifetime
	clientAllows := !cd.MaxStale.set || stale <= Seconds(cd.MaxStale)
	switch {
	case cd.MaxStale.Valid() && stale <= Seconds(cd.MaxStale):
		if stale < f.StaleWhileRevalidate {
			return UseStaleRefresh
		}
		return UseStale
	case stale < f.StaleWhileRevalidate && clientAllows:
		return UseStaleRefresh
	}
	return UseForward
}

// MayServeOnError reports whether a stored response with freshness f and
// current age may be served in place of an error from the handler
// (RFC 5861 §4).
func (f Freshness) MayServeOnError(age time.Duration) bool {
	return f.StaleIfError > 0 && age-f.Lifetime < f.StaleIfError
}

// StaleIfErrorStatus reports whether a stale response may stand in for a
// response with status under stale-if-error: the errors RFC 5861 §4 names
// (500, 502, 503, 504). Others, such as 501 Not Implemented, are answers.
func StaleIfErrorStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
