// Package rfc9111 holds the HTTP caching rules of RFC 9111 (and RFC 5861's
// stale extensions, RFC 9110's conditional requests) as pure functions of
// header fields and times: Cache-Control parsing (and that of RFC 9213's
// targeted fields, which take its place), the storage decision,
// freshness lifetime and age, how a stored response may serve a request,
// validators and the evaluation of conditional requests.
//
// It must not know about stores, net/http handlers or response writers, or
// how entries are encoded: callers pass it headers, statuses and times, and
// keep what it decides.
package rfc9111

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
	ReasonStatus        = "status"           // status not understood or not storable
	ReasonNoStore       = "no-store"         // response Cache-Control: no-store
	ReasonRequestStore  = "request-no-store" // request Cache-Control: no-store
	ReasonPrivate       = "private"          // Cache-Control: private
	ReasonNoCache       = "no-cache"         // must revalidate on every use
	ReasonAuthorization = "authorization"    // §3.5: request had Authorization
	ReasonVaryStar      = "vary-star"        // Vary: *
	ReasonVaryInvalid   = "vary-invalid"     // malformed Vary
	ReasonSetCookie     = "set-cookie"       // response sets a cookie
	ReasonNoFreshness   = "no-freshness"     // no explicit freshness, no TTL
	ReasonStale         = "stale"            // already stale when received
	ReasonRouteTTL      = "ttl-zero"         // route TTL 0 with override
	ReasonTooLarge      = "too-large"        // Content-Length over the limit
	ReasonHEAD          = "head"             // HEAD responses carry no body
	ReasonCacheControl  = "cache-control"    // malformed Cache-Control
	ReasonCookie        = "cookie"           // request Cookie, lifetime of the cache's choosing
)

// heuristicStatus lists the statuses RFC 9110 §15.1 defines as heuristically
// cacheable: only they may get a lifetime from Rules.TTL when the response
// does not state one (unless it says "public").
var heuristicStatus = map[int]bool{
	200: true, 203: true, 204: true, 300: true, 301: true, 308: true,
	404: true, 405: true, 410: true, 414: true, 501: true,
}

// routeStatus lists the statuses a lifetime of the cache's choosing — a
// route's TTL that overrides the response's own (Rules.OverrideMaxAge) —
// may apply to: the heuristically cacheable ones, and the redirects and 451
// whose freshness a route may decide as well; Rules.TTL and a heuristic
// lifetime apply to the heuristically cacheable ones, and to these when
// public. Any other final status is stored only for as long as it says,
// public or not: a 500 or a 503 kept for a route's hour would outlive the
// outage it reports.
var routeStatus = map[int]bool{
	200: true, 203: true, 204: true, 300: true, 301: true, 302: true,
	307: true, 308: true, 404: true, 405: true, 410: true, 414: true,
	451: true, 501: true,
}

// chosenLifetime reports whether a response with status and Cache-Control
// cc that states no freshness may be given a lifetime of the cache's
// choosing (Rules.TTL, a heuristic one): a heuristically cacheable status,
// or one of routeStatus when it says public. A public 500 is not: a
// framework marking every response public would else have its error pages
// served to everyone for Rules.TTL.
func chosenLifetime(status int, cc Directives) bool {
	return heuristicStatus[status] || cc.Public && routeStatus[status]
}

// storableStatus reports whether a response with status may be stored at
// all (RFC 9111 §3): a final status (200 to 599), not 206 (ranges are not
// served from cache yet) and not 304 (an answer to a conditional request,
// not a representation). A status this cache does not know (299, 499, 599)
// is understood as its class (RFC 9110 §15), unless the response says
// must-understand (§5.2.2.3).
func storableStatus(status int) bool {
	return status >= 200 && status <= 599 && status != http.StatusPartialContent && status != http.StatusNotModified
}

// understoodStatus lists the statuses whose caching requirements this cache
// implements, for must-understand (RFC 9111 §5.2.2.3): those RFC 9110
// defines (but 206 and 304, never stored, and 305 and 306, obsolete), and
// 451 (RFC 7725). None of them asks anything of a cache beyond RFC 9111.
var understoodStatus = map[int]bool{
	200: true, 201: true, 202: true, 203: true, 204: true, 205: true,
	300: true, 301: true, 302: true, 303: true, 307: true, 308: true,
	400: true, 401: true, 402: true, 403: true, 404: true, 405: true,
	406: true, 407: true, 408: true, 409: true, 410: true, 411: true,
	412: true, 413: true, 414: true, 415: true, 416: true, 417: true,
	421: true, 422: true, 426: true, 451: true,
	500: true, 501: true, 502: true, 503: true, 504: true, 505: true,
}

// Rules are the cache's own settings the storage decision applies besides
// what the exchange says: a route's policy, compiled.
type Rules struct {
	TTL                  time.Duration // heuristic lifetime, or with OverrideMaxAge every lifetime
	OverrideMaxAge       bool          // TTL wins over the response's own freshness
	StripSetCookie       bool          // store responses that set cookies, without the cookies
	StaleWhileRevalidate time.Duration // grace when the response does not say
	StaleIfError         time.Duration // grace when the response does not say
	Keep                 time.Duration // kept past freshness with a validator; 0 default, <0 none
	GenerateETag         bool          // a validator is added to what is stored
	MaxTTL               time.Duration // the longest the store keeps anything; 0 no limit

	// Heuristic freshness (§4.2.2): this fraction of the time since
	// Last-Modified, at most HeuristicMax (DefaultHeuristicMax if zero).
	// 0 (or less, or NaN) turns it off; above 1 counts as 1.
	HeuristicFraction float64
	HeuristicMax      time.Duration

	// Targeted is the cache's target list (RFC 9213 §2.2): the
	// targeted cache-control fields it obeys instead of Cache-Control
	// and Expires, most applicable first, in canonical form. Empty:
	// Cache-Control alone.
	Targeted []string
}

// DefaultHeuristicMax caps a heuristic lifetime when Rules.HeuristicMax is
// zero: a day, past which RFC 7234 had a cache warn that its guess was
// long (Warning 113, obsoleted by RFC 9111 along with Warning).
const DefaultHeuristicMax = 24 * time.Hour

// Decision is the outcome of the storage policy for one response.
type Decision struct {
	Store  bool
	Reason string // why not, when !Store

	Lifetime   time.Duration // freshness lifetime (§4.2.1)
	InitialAge time.Duration // corrected_initial_age (§4.2.3)
	TTL        time.Duration // how long the store keeps it

	VaryNames []string // the response's Vary list, canonical and sorted

	Flags                uint8         // FlagNoCache, FlagMustRevalidate, FlagNoAge
	StaleWhileRevalidate time.Duration // stale-while-revalidate window
	StaleIfError         time.Duration // stale-if-error window
}

// Exchange is one request/response pair as the policy sees it.
type Exchange struct {
	Req          *http.Request
	Status       int
	Header       http.Header
	RequestTime  time.Time // when the handler was called
	ResponseTime time.Time // when the response header was written
}

// Decide applies RFC 9111 §3 and §4.2 plus the cache's safety rules to one
// exchange, under rules.
func Decide(rules Rules, x Exchange) Decision {
	resp := ResponseDirectives(rules.Targeted, x.Header)
	req := ParseCacheControl(x.Req.Header["Cache-Control"])
	// A request with Authorization (present, even empty: an origin may
	// read any of its lines) whose response is stored only because it
	// says must-revalidate or s-maxage (§3.5): those promise that the
	// origin checks the credentials again once the response is stale, so
	// it is kept for its own explicit lifetime, never a route's or a
	// heuristic one that would hand it to other users unchecked.
	authorized := len(x.Req.Header["Authorization"]) > 0 && !resp.Public
	switch {
	case x.Req.Method == http.MethodHead:
		return Decision{Reason: ReasonHEAD}
	case !storableStatus(x.Status), resp.MustUnderstand && !understoodStatus[x.Status]:
		return Decision{Reason: ReasonStatus}
	case req.NoStore:
		return Decision{Reason: ReasonRequestStore}
	case resp.NoStore && !resp.MustUnderstand:
		// With must-understand, no-store is the fallback of caches that
		// do not know the status; this one does (§5.2.2.3).
		return Decision{Reason: ReasonNoStore}
	case resp.Private:
		return Decision{Reason: ReasonPrivate}
	case resp.Malformed:
		return Decision{Reason: ReasonCacheControl}
	case resp.NoCache && !HasValidators(x.Header):
		// Every use needs revalidation, and there is nothing to
		// revalidate with: an entry that could never be served.
		return Decision{Reason: ReasonNoCache}
	case authorized && !resp.SMaxAge.set && !resp.MustRevalidate:
		return Decision{Reason: ReasonAuthorization}
	case len(x.Header["Set-Cookie"]) > 0 && !rules.StripSetCookie:
		return Decision{Reason: ReasonSetCookie}
	}
	names, star, err := vary.Parse(x.Header["Vary"])
	switch {
	case star:
		return Decision{Reason: ReasonVaryStar}
	case err != nil:
		return Decision{Reason: ReasonVaryInvalid}
	}

	d := Decision{VaryNames: names, InitialAge: InitialAge(x)}
	// A lifetime of the cache's choosing (a route's, a heuristic one, or
	// Rules.TTL for a response that says nothing) for a response to a
	// request with a Cookie: the response may have been built from the
	// cookie without saying so (web cache deception's "/account/x.css").
	// It is stored only if it says public, or varies on Cookie (and is
	// keyed by it).
	cookieBound := len(x.Req.Header["Cookie"]) > 0 && !resp.Public && !slices.Contains(names, "Cookie")
	lifetime, explicit := FreshnessLifetime(resp, x)
	var heuristic time.Duration
	if !explicit {
		heuristic = HeuristicLifetime(rules, x)
	}
	switch {
	case authorized:
		if !explicit {
			return Decision{Reason: ReasonAuthorization}
		}
		d.Lifetime = lifetime
	case rules.OverrideMaxAge && (routeStatus[x.Status] || !explicit):
		if !routeStatus[x.Status] {
			return Decision{Reason: ReasonStatus} // see routeStatus
		}
		if rules.TTL <= 0 {
			return Decision{Reason: ReasonRouteTTL}
		}
		if cookieBound {
			return Decision{Reason: ReasonCookie}
		}
		d.Lifetime = rules.TTL
		if explicit && rules.TTL > lifetime {
			// Kept past what its own Cache-Control allows: an Age
			// over that would make every cache after this one take
			// the hit for stale (§4.2.3), so hits leave Age out.
			d.Flags |= FlagNoAge
		}
	case explicit:
		d.Lifetime = lifetime
	case !heuristicStatus[x.Status] && !resp.Public:
		// Only these statuses, or a response marked public, may be
		// stored without a lifetime of their own (§3), and given one
		// (§4.2.2, RFC 9110 §15.1).
		return Decision{Reason: ReasonNoFreshness}
	case heuristic > 0 && chosenLifetime(x.Status, resp):
		if cookieBound {
			return Decision{Reason: ReasonCookie}
		}
		d.Lifetime = heuristic
	case rules.TTL > 0 && chosenLifetime(x.Status, resp):
		if cookieBound {
			return Decision{Reason: ReasonCookie}
		}
		d.Lifetime = rules.TTL
	case resp.NoCache:
		// Every use asks the origin first (§5.2.2.4), with the
		// validator it has (checked above): it needs no lifetime, and
		// its status (or public) lets it be stored (§3). Whether the
		// origin's 304 speaks for another client's cookie depends on
		// how it computes its validators: as for any lifetime of the
		// cache's choosing, not for a request with one.
		if cookieBound {
			return Decision{Reason: ReasonCookie}
		}
	default:
		return Decision{Reason: ReasonNoFreshness}
	}
	if resp.NoCache {
		d.Flags |= FlagNoCache
	}
	// must-revalidate, proxy-revalidate and (for a shared cache) s-maxage
	// forbid serving the response stale, whatever stale-* says (§5.2.2).
	if resp.MustRevalidate || resp.ProxyRevalidate || resp.SMaxAge.set {
		d.Flags |= FlagMustRevalidate
	}
	switch {
	case d.Flags&(FlagNoCache|FlagMustRevalidate) != 0:
	case x.Status >= 500:
		// An error is not the stale response RFC 5861 §4 serves
		// instead of an error: a stored 5xx never stands in for one.
		// Nor does the route's grace stretch its life: it may be
		// served stale while refreshed only if it says so itself.
		d.StaleWhileRevalidate = staleWindow(resp.StaleWhileRevalidate, 0)
	default:
		d.StaleWhileRevalidate = staleWindow(resp.StaleWhileRevalidate, rules.StaleWhileRevalidate)
		d.StaleIfError = staleWindow(resp.StaleIfError, rules.StaleIfError)
	}
	fresh := d.Lifetime - d.InitialAge
	if fresh <= 0 {
		if d.Flags&FlagNoCache == 0 {
			return Decision{Reason: ReasonStale}
		}
		// Stale on arrival, or without a lifetime: no matter, for a
		// response revalidated on every use. It is kept for Keep.
		fresh = 0
	}
	// Kept while fresh, then for as long as it may be served stale or,
	// with a validator, revalidated.
	var keep time.Duration
	if HasValidators(x.Header) || rules.GenerateETag {
		keep = rules.Keep
		if keep == 0 {
			keep = DefaultKeep(d.Lifetime)
		}
	}
	// The sum saturates: a "never expires" Expires (year 9999) gives a
	// lifetime near the largest Duration, which a window would overflow.
	d.TTL = fresh + min(max(d.StaleWhileRevalidate, d.StaleIfError, keep, 0), math.MaxInt64-fresh)
	if rules.MaxTTL > 0 && d.TTL > rules.MaxTTL {
		d.TTL = rules.MaxTTL
	}
	if d.TTL <= 0 {
		return Decision{Reason: ReasonStale} // no-cache, and Keep negative
	}
	d.Store = true
	return d
}

// The default Rules.Keep is the freshness lifetime, within these bounds.
const (
	// MinDefaultKeep is long enough for a response that lives a second
	// to be revalidated by the next visitor, not fetched anew (nginx
	// keeps an unused entry as long by default: proxy_cache_path's
	// inactive=10m).
	MinDefaultKeep = 10 * time.Minute
	// MaxDefaultKeep keeps a long-lived response from holding store
	// space for as long again once stale.
	MaxDefaultKeep = time.Hour
)

// DefaultKeep is how long past freshness a response with a validator and
// the freshness lifetime lifetime is kept when Rules.Keep is zero: one more
// lifetime, at least MinDefaultKeep and at most MaxDefaultKeep.
func DefaultKeep(lifetime time.Duration) time.Duration {
	return min(max(lifetime, MinDefaultKeep), MaxDefaultKeep)
}

// HeuristicLifetime is the heuristic freshness lifetime rules give a
// response that states none (§4.2.2): rules.HeuristicFraction of the time
// between its Last-Modified and its Date (or, without a valid Date, the
// time it was received), at most rules.HeuristicMax. It is zero without
// exactly one valid Last-Modified, or one not before the Date. The caller
// checks that the response states no freshness and that its status allows
// a heuristic.
func HeuristicLifetime(rules Rules, x Exchange) time.Duration {
	fraction := min(rules.HeuristicFraction, 1)
	if !(fraction > 0) { // NaN too
		return 0
	}
	lm := x.Header["Last-Modified"]
	if len(lm) != 1 {
		return 0
	}
	modified, ok := header.ParseHTTPDate(lm[0], x.ResponseTime)
	if !ok {
		return 0
	}
	date := x.ResponseTime
	if d, ok := ParseDate(x.Header, x.ResponseTime); ok {
		date = d
	}
	since := date.Sub(modified) // saturates for dates centuries apart
	if since <= 0 {
		return 0
	}
	limit := rules.HeuristicMax
	if limit <= 0 {
		limit = DefaultHeuristicMax
	}
	if guess := float64(since) * fraction; guess < float64(limit) {
		return time.Duration(guess).Truncate(time.Second)
	}
	return limit
}

// staleWindow is how long a stale response may be served under one of
// RFC 5861's extensions: the response's own directive when it has a valid
// one, else the route's configured grace.
func staleWindow(directive Delta, route time.Duration) time.Duration {
	if directive.set {
		return Seconds(directive)
	}
	return route
}

// FreshnessLifetime computes the explicit freshness lifetime of a response
// for a shared cache (RFC 9111 §4.2.1): s-maxage, then max-age, then
// Expires minus Date. Malformed or conflicting values give a lifetime of
// zero ("consider it stale"), never a guess. explicit is false when the
// response carries no freshness information at all. Directives read from
// a targeted field replace Expires as well (RFC 9213 §2.2).
func FreshnessLifetime(cc Directives, x Exchange) (lifetime time.Duration, explicit bool) {
	switch {
	case cc.SMaxAge.set:
		return Seconds(cc.SMaxAge), true
	case cc.MaxAge.set:
		return Seconds(cc.MaxAge), true
	case cc.Targeted != "":
		return 0, false
	}
	expires := x.Header["Expires"]
	if len(expires) == 0 {
		return 0, false
	}
	if len(expires) > 1 {
		return 0, true
	}
	exp, ok := header.ParseHTTPDate(expires[0], x.ResponseTime)
	if !ok {
		// "Expires: 0", a double space, a one-digit hour: an invalid
		// date means "already expired" (§5.3).
		return 0, true
	}
	date := x.ResponseTime
	if d, ok := ParseDate(x.Header, x.ResponseTime); ok {
		date = d
	}
	if lifetime := exp.Sub(date); lifetime > 0 {
		return lifetime, true
	}
	return 0, true
}

// InitialAge computes corrected_initial_age (RFC 9111 §4.2.3): the larger of
// the apparent age (our receipt time minus Date) and the upstream's Age plus
// the time the response took to arrive.
func InitialAge(x Exchange) time.Duration {
	var apparent time.Duration
	if date, ok := ParseDate(x.Header, x.ResponseTime); ok {
		apparent = max(0, x.ResponseTime.Sub(date))
	}
	var ageValue time.Duration
	if v := x.Header["Age"]; len(v) > 0 {
		age, ok := ParseAge(v)
		if !ok {
			// §5.1 lets a cache ignore an Age it cannot read; this one
			// takes the response for stale instead: an upstream cache
			// said how long it held it, in words we cannot read, and it
			// may have been any time (a "7200.0" is two hours).
			return maxDelta * time.Second
		}
		ageValue = age
	}
	corrected := ageValue + max(0, x.ResponseTime.Sub(x.RequestTime))
	return max(apparent, corrected)
}

// ParseDate returns the response's Date header, if it has exactly one, a
// valid HTTP-date (see header.ParseHTTPDate; now resolves an rfc850-date's
// two-digit year).
func ParseDate(h http.Header, now time.Time) (time.Time, bool) {
	v := h["Date"]
	if len(v) != 1 {
		return time.Time{}, false
	}
	return header.ParseHTTPDate(v[0], now)
}

// Seconds converts a Delta directive to a duration; bad values are zero.
func Seconds(d Delta) time.Duration {
	if !d.Valid() {
		return 0
	}
	return time.Duration(d.secs) * time.Second
}
