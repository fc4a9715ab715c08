package httpcache

import (
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// use is what a stored response may be used for, for one request.
type use uint8

const (
	// useForward: not usable as it is; the request goes to the handler
	// (conditionally, when the entry has validators).
	useForward use = iota
	// useFresh: serve it.
	useFresh
	// useStale: serve it although stale (the client accepts that, with
	// max-stale).
	useStale
	// useStaleRefresh: serve it stale and refresh it in the background
	// (stale-while-revalidate).
	useStaleRefresh
)

// clientDirectives are the request's own Cache-Control directives that a
// cache may honour (RFC 9111 §5.2.1). Zero when Options.RequestDirectives is
// off: the client then cannot make the cache go to the origin.
type clientDirectives struct {
	noCache      bool
	onlyIfCached bool
	maxAge       delta
	maxStale     delta
	minFresh     delta
}

// directives is what r asks of the cache, if Options.RequestDirectives
// lets requests ask; else nothing.
func (c *Cache) directives(r *http.Request) clientDirectives {
	if !c.opts.RequestDirectives {
		return clientDirectives{}
	}
	return requestDirectives(r)
}

// requestDirectives parses what the request asks of the cache. Pragma:
// no-cache counts only when the request has no Cache-Control (§5.4).
func requestDirectives(r *http.Request) clientDirectives {
	lines := r.Header["Cache-Control"]
	if len(lines) == 0 {
		for _, p := range r.Header["Pragma"] {
			if header.ContainsToken(p, "no-cache") {
				return clientDirectives{noCache: true}
			}
		}
		return clientDirectives{}
	}
	d := parseCacheControl(lines)
	return clientDirectives{
		noCache:      d.noCache,
		onlyIfCached: d.onlyIfCache,
		maxAge:       d.maxAge,
		maxStale:     d.maxStale,
		minFresh:     d.minFresh,
	}
}

// usable decides how e may serve a request at now (RFC 9111 §4.2, §4.2.4,
// §5.2.1; RFC 5861). A malformed request directive is ignored.
func (e *entry) usable(now time.Time, cd clientDirectives) use {
	if e.flags&flagNoCache != 0 || cd.noCache {
		return useForward
	}
	age := e.age(now)
	if cd.maxAge.valid() && age > seconds(cd.maxAge) {
		return useForward
	}
	if age < e.lifetime {
		if cd.minFresh.valid() && e.lifetime-age < seconds(cd.minFresh) {
			return useForward
		}
		return useFresh
	}
	if e.flags&flagMustRevalidate != 0 || cd.minFresh.valid() {
		return useForward // a stale response is never fresh enough
	}
	if cd.maxAge.valid() && !cd.maxStale.set {
		// A client's max-age without max-stale says it does not want a
		// stale response (RFC 9111 §5.2.1.1).
		return useForward
	}
	stale := age - e.lifetime
	clientAllows := !cd.maxStale.set || stale <= seconds(cd.maxStale)
	switch {
	case cd.maxStale.valid() && stale <= seconds(cd.maxStale):
		if stale < e.staleWhileRevalidate {
			return useStaleRefresh
		}
		return useStale
	case stale < e.staleWhileRevalidate && clientAllows:
		return useStaleRefresh
	}
	return useForward
}

// mayServeOnError reports whether e may be served at now in place of an error
// from the handler (RFC 5861 §4).
func (e *entry) mayServeOnError(now time.Time) bool {
	return e.staleIfError > 0 && e.age(now)-e.lifetime < e.staleIfError
}
