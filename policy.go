package httpcache

import (
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/seedcache/httpcache/vary"

	"github.com/seedcache/httpcache/internal/header"
)

// Reasons a response is not stored. They appear as the Cache-Status detail
// parameter (RFC 9211 §2.8), so each is a valid structured-field token.
const (
	reasonStatus        = "status"           // status not understood or not storable
	reasonNoStore       = "no-store"         // response Cache-Control: no-store
	reasonRequestStore  = "request-no-store" // request Cache-Control: no-store
	reasonPrivate       = "private"          // Cache-Control: private
	reasonNoCache       = "no-cache"         // must revalidate on every use
	reasonAuthorization = "authorization"    // §3.5: request had Authorization
	reasonVaryStar      = "vary-star"        // Vary: *
	reasonVaryInvalid   = "vary-invalid"     // malformed Vary
	reasonSetCookie     = "set-cookie"       // response sets a cookie
	reasonNoFreshness   = "no-freshness"     // no explicit freshness, no TTL
	reasonStale         = "stale"            // already stale when received
	reasonRouteTTL      = "ttl-zero"         // route TTL 0 with override
	reasonTooLarge      = "too-large"        // Content-Length over the limit
	reasonHEAD          = "head"             // HEAD responses carry no body
	reasonCacheControl  = "cache-control"    // malformed Cache-Control
	reasonCookie        = "cookie"           // request Cookie, lifetime of the cache's choosing
)

// heuristicStatus lists the statuses RFC 9110 §15.1 defines as heuristically
// cacheable: only they may get a lifetime from Policy.TTL when the response
// does not state one (unless it says "public").
var heuristicStatus = map[int]bool{
	200: true, 203: true, 204: true, 300: true, 301: true, 308: true,
	404: true, 405: true, 410: true, 414: true, 501: true,
}

// storableStatus lists the final statuses this cache understands well enough
// to store (RFC 9111 §3) when the response gives explicit freshness. 206 is
// left out (ranges are not served from cache yet), as is 304 (it is an answer
// to a conditional request, not a representation), and every 1xx.
var storableStatus = map[int]bool{
	200: true, 203: true, 204: true, 300: true, 301: true, 302: true,
	307: true, 308: true, 404: true, 405: true, 410: true, 414: true,
	451: true, 501: true,
}

// decision is the outcome of the storage policy for one response.
type decision struct {
	store  bool
	reason string // why not, when !store

	lifetime   time.Duration // freshness lifetime (§4.2.1)
	initialAge time.Duration // corrected_initial_age (§4.2.3)
	ttl        time.Duration // how long the store keeps it

	varyNames []string // the response's Vary list, canonical and sorted

	flags    uint8         // flagNoCache, flagMustRevalidate
	swr, sie time.Duration // stale-while-revalidate, stale-if-error windows
}

// exchange is one request/response pair as the policy sees it.
type exchange struct {
	req          *http.Request
	status       int
	header       http.Header
	requestTime  time.Time // when the handler was called
	responseTime time.Time // when the response header was written
}

// decide applies RFC 9111 §3 and §4.2 plus this package's safety rules.
func (p *Policy) decide(x exchange) decision {
	resp := parseCacheControl(x.header.Values("Cache-Control"))
	req := parseCacheControl(x.req.Header.Values("Cache-Control"))
	// A request with Authorization (present, even empty: an origin may
	// read any of its lines) whose response is stored only because it
	// says must-revalidate or s-maxage (§3.5): those promise that the
	// origin checks the credentials again once the response is stale, so
	// it is kept for its own explicit lifetime, never a route's or a
	// heuristic one that would hand it to other users unchecked.
	authorized := len(x.req.Header["Authorization"]) > 0 && !resp.public
	switch {
	case x.req.Method == http.MethodHead:
		return decision{reason: reasonHEAD}
	case !storableStatus[x.status]:
		return decision{reason: reasonStatus}
	case req.noStore:
		return decision{reason: reasonRequestStore}
	case resp.noStore:
		return decision{reason: reasonNoStore}
	case resp.private:
		return decision{reason: reasonPrivate}
	case resp.malformed:
		return decision{reason: reasonCacheControl}
	case resp.noCache && !hasValidators(x.header):
		// Every use needs revalidation, and there is nothing to
		// revalidate with: an entry that could never be served.
		return decision{reason: reasonNoCache}
	case authorized && !resp.sMaxAge.set && !resp.mustRevalidate:
		return decision{reason: reasonAuthorization}
	case len(x.header.Values("Set-Cookie")) > 0 && !p.StripSetCookie:
		return decision{reason: reasonSetCookie}
	}
	names, star, err := vary.Parse(x.header.Values("Vary"))
	switch {
	case star:
		return decision{reason: reasonVaryStar}
	case err != nil:
		return decision{reason: reasonVaryInvalid}
	}

	d := decision{varyNames: names, initialAge: initialAge(x)}
	// A lifetime of the cache's choosing (a route's, or Policy.TTL for a
	// response that says nothing) for a response to a request with a
	// Cookie: the response may have been built from the cookie without
	// saying so (web cache deception's "/account/x.css"). It is stored
	// only if it says public, or varies on Cookie (and is keyed by it).
	cookieBound := len(x.req.Header["Cookie"]) > 0 && !resp.public && !slices.Contains(names, "Cookie")
	switch lifetime, explicit := freshnessLifetime(resp, x); {
	case authorized:
		if !explicit {
			return decision{reason: reasonAuthorization}
		}
		d.lifetime = lifetime
	case p.OverrideMaxAge:
		if p.TTL <= 0 {
			return decision{reason: reasonRouteTTL}
		}
		if cookieBound {
			return decision{reason: reasonCookie}
		}
		d.lifetime = p.TTL
		if explicit && p.TTL > lifetime {
			// Kept past what its own Cache-Control allows: an Age
			// over that would make every cache after this one take
			// the hit for stale (§4.2.3), so hits leave Age out.
			d.flags |= flagNoAge
		}
	case explicit:
		d.lifetime = lifetime
	case p.TTL > 0 && (heuristicStatus[x.status] || resp.public):
		if cookieBound {
			return decision{reason: reasonCookie}
		}
		d.lifetime = p.TTL
	default:
		return decision{reason: reasonNoFreshness}
	}
	if resp.noCache {
		d.flags |= flagNoCache
	}
	// must-revalidate, proxy-revalidate and (for a shared cache) s-maxage
	// forbid serving the response stale, whatever stale-* says (§5.2.2).
	if resp.mustRevalidate || resp.proxyRevalidate || resp.sMaxAge.set {
		d.flags |= flagMustRevalidate
	}
	if d.flags&(flagNoCache|flagMustRevalidate) == 0 {
		d.swr = staleWindow(resp.staleWhileRevalidate, p.StaleWhileRevalidate)
		d.sie = staleWindow(resp.staleIfErr, p.StaleIfError)
	}
	fresh := d.lifetime - d.initialAge
	if fresh <= 0 {
		return decision{reason: reasonStale}
	}
	// Kept while fresh, then for as long as it may be served stale or,
	// with a validator, revalidated.
	var keep time.Duration
	if hasValidators(x.header) || p.GenerateETag {
		keep = p.Keep
		if keep == 0 {
			keep = min(d.lifetime, maxDefaultKeep)
		}
	}
	// The sum saturates: a "never expires" Expires (year 9999) gives a
	// lifetime near the largest Duration, which a window would overflow.
	d.ttl = fresh + min(max(d.swr, d.sie, keep, 0), math.MaxInt64-fresh)
	if p.maxTTL > 0 && d.ttl > p.maxTTL {
		d.ttl = p.maxTTL
	}
	d.store = true
	return d
}

// maxDefaultKeep caps the default Policy.Keep.
const maxDefaultKeep = time.Hour

// staleWindow is how long a stale response may be served under one of
// RFC 5861's extensions: the response's own directive when it has a valid
// one, else the route's configured grace.
func staleWindow(directive delta, route time.Duration) time.Duration {
	if directive.set {
		return seconds(directive)
	}
	return route
}

// freshnessLifetime computes the explicit freshness lifetime of a response
// for a shared cache (RFC 9111 §4.2.1): s-maxage, then max-age, then
// Expires minus Date. Malformed or conflicting values give a lifetime of
// zero ("consider it stale"), never a guess. explicit is false when the
// response carries no freshness information at all.
func freshnessLifetime(cc directives, x exchange) (lifetime time.Duration, explicit bool) {
	switch {
	case cc.sMaxAge.set:
		return seconds(cc.sMaxAge), true
	case cc.maxAge.set:
		return seconds(cc.maxAge), true
	}
	expires := x.header.Values("Expires")
	if len(expires) == 0 {
		return 0, false
	}
	if len(expires) > 1 {
		return 0, true
	}
	exp, err := http.ParseTime(expires[0])
	if err != nil {
		return 0, true // "Expires: 0" and friends mean "already expired"
	}
	date := x.responseTime
	if d, ok := parseDate(x.header); ok {
		date = d
	}
	if lifetime := exp.Sub(date); lifetime > 0 {
		return lifetime, true
	}
	return 0, true
}

// initialAge computes corrected_initial_age (RFC 9111 §4.2.3): the larger of
// the apparent age (our receipt time minus Date) and the upstream's Age plus
// the time the response took to arrive.
func initialAge(x exchange) time.Duration {
	var apparent time.Duration
	if date, ok := parseDate(x.header); ok {
		apparent = max(0, x.responseTime.Sub(date))
	}
	var ageValue time.Duration
	if v := x.header.Values("Age"); len(v) > 0 {
		// A malformed or repeated Age is ignored, as §5.1 allows; a
		// huge one saturates at 2^31 s like any delta-seconds.
		if secs, ok := parseDelta(header.TrimOWS(v[0])); ok {
			ageValue = time.Duration(secs) * time.Second
		}
	}
	corrected := ageValue + max(0, x.responseTime.Sub(x.requestTime))
	return max(apparent, corrected)
}

// parseDate returns the response's Date header, if it has exactly one valid.
func parseDate(h http.Header) (time.Time, bool) {
	v := h.Values("Date")
	if len(v) != 1 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v[0])
	return t, err == nil
}

// seconds converts a delta directive to a duration; bad values are zero.
func seconds(d delta) time.Duration {
	if !d.valid() {
		return 0
	}
	return time.Duration(d.secs) * time.Second
}
