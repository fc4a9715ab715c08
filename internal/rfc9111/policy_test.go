package rfc9111

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func date(d time.Duration) string { return t0.Add(d).Format(http.TimeFormat) }

// TestPolicyDecide: the storability and freshness decision for a request
// and response pair under a Policy: whether to store, for how long, and the
// reason when not.
func TestPolicyDecide(t *testing.T) {
	tests := []struct {
		name     string
		policy   Rules
		method   string
		status   int
		req      http.Header
		resp     http.Header
		delay    time.Duration // response time - request time
		store    bool
		reason   string
		lifetime time.Duration
		ttl      time.Duration
		flags    uint8
		swr, sie time.Duration
	}{
		// Explicit freshness, in RFC 9111 §4.2.1 precedence.
		{name: "max-age", resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "s-maxage beats max-age", resp: h("Cache-Control", "max-age=60, s-maxage=10"), store: true, lifetime: 10 * time.Second, ttl: 10 * time.Second, flags: FlagMustRevalidate},
		{name: "max-age beats Expires", resp: h("Cache-Control", "max-age=5", "Expires", date(time.Hour), "Date", date(0)), store: true, lifetime: 5 * time.Second, ttl: 5 * time.Second},
		{name: "Expires minus Date", resp: h("Expires", date(90*time.Second), "Date", date(30*time.Second)), store: true, lifetime: time.Minute, ttl: time.Minute - 0},
		{name: "Expires without Date uses response time", resp: h("Expires", date(time.Minute)), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "Expires in the past", resp: h("Expires", date(-time.Minute), "Date", date(0)), reason: ReasonStale},
		{name: "invalid Expires means expired", resp: h("Expires", "0"), reason: ReasonStale},
		{name: "invalid Expires beats the heuristic TTL", policy: Rules{TTL: time.Hour}, resp: h("Expires", "0"), reason: ReasonStale},
		// §5.3 and RFC 9110 §5.6.7: only an HTTP-date is a date.
		{name: "Expires with double spaces is invalid", resp: h("Expires", "Thu, 18  Aug  2050 02:01:18 GMT"), reason: ReasonStale},
		{name: "Expires with a one-digit hour is invalid", resp: h("Expires", "Thu, 18 Aug 2050 2:01:18 GMT"), reason: ReasonStale},
		{name: "Expires in rfc850-date", resp: h("Expires", "Wednesday, 04-Mar-26 05:07:07 GMT"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "Expires in asctime-date", resp: h("Expires", "Wed Mar  4 05:07:07 2026"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "Expires with lower-case gmt (§4.2)", resp: h("Expires", "Wed, 04 Mar 2026 05:07:07 gmt"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "invalid Date is ignored", resp: h("Cache-Control", "max-age=60", "Date", "Wed, 4 Mar 2026 05:05:07 GMT"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "two Expires means stale", resp: hh("Expires", date(time.Hour), date(2*time.Hour)), reason: ReasonStale},
		{name: "max-age=0", resp: h("Cache-Control", "max-age=0"), reason: ReasonStale},
		{name: "malformed max-age is stale", resp: h("Cache-Control", "max-age=abc"), reason: ReasonStale},
		{name: "malformed max-age beats heuristic", policy: Rules{TTL: time.Hour}, resp: h("Cache-Control", "max-age=abc"), reason: ReasonStale},
		{name: "negative max-age is stale", resp: h("Cache-Control", "max-age=-5"), reason: ReasonStale},
		{name: "conflicting duplicate max-age is stale", resp: h("Cache-Control", "max-age=60, max-age=120"), reason: ReasonStale},
		{name: "agreeing duplicate max-age", resp: hh("Cache-Control", "max-age=60", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "quoted max-age accepted", resp: h("Cache-Control", `max-age="60"`), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "huge max-age saturates at 2^31 s", resp: h("Cache-Control", "max-age=99999999999999999999"), store: true, lifetime: maxDelta * time.Second, ttl: maxDelta * time.Second},
		{name: "directive names are case-insensitive", resp: h("Cache-Control", "MAX-AGE=60"), store: true, lifetime: time.Minute, ttl: time.Minute},

		// Age (§4.2.3).
		{name: "upstream Age counts", resp: h("Cache-Control", "max-age=60", "Age", "45"), store: true, lifetime: time.Minute, ttl: 15 * time.Second},
		{name: "Age over max-age is stale on arrival", resp: h("Cache-Control", "max-age=60", "Age", "60"), reason: ReasonStale},
		{name: "apparent age from Date", resp: h("Cache-Control", "max-age=60", "Date", date(-20*time.Second)), store: true, lifetime: time.Minute, ttl: 40 * time.Second},
		{name: "response delay counts", resp: h("Cache-Control", "max-age=60", "Age", "10"), delay: 5 * time.Second, store: true, lifetime: time.Minute, ttl: 45 * time.Second},
		// §5.1: the first member of a list counts; one that is not a
		// non-negative integer leaves the age unknown, taken for stale.
		{name: "malformed Age is stale", resp: h("Cache-Control", "max-age=60", "Age", "soon"), reason: ReasonStale},
		{name: "Age list: first member counts", resp: h("Cache-Control", "max-age=60", "Age", "45, 0"), store: true, lifetime: time.Minute, ttl: 15 * time.Second},
		{name: "Age lines: first line counts", resp: h("Cache-Control", "max-age=60", "Age", "70", "Age", "0"), reason: ReasonStale},

		// What is never stored.
		{name: "no-store", resp: h("Cache-Control", "no-store, max-age=60"), reason: ReasonNoStore},
		{name: "private", resp: h("Cache-Control", "private, max-age=60"), reason: ReasonPrivate},
		{name: "qualified private is private", resp: h("Cache-Control", `private="X-User", max-age=60`), reason: ReasonPrivate},
		{name: "no-cache without a validator", resp: h("Cache-Control", "no-cache, max-age=60"), reason: ReasonNoCache},
		{name: "no-cache with an ETag: stored, always revalidated", resp: h("Cache-Control", "no-cache, max-age=60", "Etag", `"x"`), store: true, lifetime: time.Minute, ttl: 11 * time.Minute, flags: FlagNoCache},
		// §3, §5.2.2.4: revalidated on every use, it needs no lifetime.
		{name: "no-cache without freshness, heuristically cacheable", resp: h("Cache-Control", "no-cache", "Etag", `"x"`), store: true, ttl: MinDefaultKeep, flags: FlagNoCache},
		{name: "no-cache stale on arrival", resp: h("Cache-Control", "no-cache, max-age=0", "Etag", `"x"`), store: true, ttl: MinDefaultKeep, flags: FlagNoCache},
		{name: "no-cache, public, any status", status: 299, resp: h("Cache-Control", "no-cache, public", "Etag", `"x"`), store: true, ttl: MinDefaultKeep, flags: FlagNoCache},
		{name: "no-cache without freshness, not heuristically cacheable", status: 302, resp: h("Cache-Control", "no-cache", "Etag", `"x"`), reason: ReasonNoFreshness},
		{name: "no-cache without freshness, request Cookie", req: h("Cookie", "a=b"), resp: h("Cache-Control", "no-cache", "Etag", `"x"`), reason: ReasonCookie},
		{name: "no-cache without freshness, Keep negative", policy: Rules{Keep: -1}, resp: h("Cache-Control", "no-cache", "Etag", `"x"`), reason: ReasonStale},

		// Keeping validated responses for revalidation (Policy.Keep).
		{name: "validator: kept at least MinDefaultKeep", resp: h("Cache-Control", "max-age=60", "Last-Modified", date(-time.Hour)), store: true, lifetime: time.Minute, ttl: 11 * time.Minute},
		{name: "validator: kept a lifetime more", resp: h("Cache-Control", "max-age=1200", "Etag", `"x"`), store: true, lifetime: 20 * time.Minute, ttl: 40 * time.Minute},
		{name: "validator: the default keep within MaxTTL", policy: Rules{MaxTTL: 5 * time.Minute}, resp: h("Cache-Control", "max-age=60", "Etag", `"x"`), store: true, lifetime: time.Minute, ttl: 5 * time.Minute},
		{name: "no validator: not kept", resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "validator: default keep capped at an hour", resp: h("Cache-Control", "max-age=86400", "Etag", `"x"`), store: true, lifetime: 24 * time.Hour, ttl: 25 * time.Hour},
		{name: "validator: Keep set", policy: Rules{Keep: 5 * time.Minute}, resp: h("Cache-Control", "max-age=60", "Etag", `"x"`), store: true, lifetime: time.Minute, ttl: 6 * time.Minute},
		{name: "validator: Keep negative", policy: Rules{Keep: -1}, resp: h("Cache-Control", "max-age=60", "Etag", `"x"`), store: true, lifetime: time.Minute, ttl: time.Minute},

		// Stale windows (RFC 5861) and what forbids them.
		{name: "stale-while-revalidate", resp: h("Cache-Control", "max-age=60, stale-while-revalidate=30"), store: true, lifetime: time.Minute, ttl: 90 * time.Second, swr: 30 * time.Second},
		{name: "stale-if-error", resp: h("Cache-Control", "max-age=60, stale-if-error=600"), store: true, lifetime: time.Minute, ttl: 11 * time.Minute, sie: 10 * time.Minute},
		{name: "route grace", policy: Rules{StaleWhileRevalidate: time.Minute, StaleIfError: time.Hour}, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: 61 * time.Minute, swr: time.Minute, sie: time.Hour},
		{name: "directive beats route grace", policy: Rules{StaleWhileRevalidate: time.Minute}, resp: h("Cache-Control", "max-age=60, stale-while-revalidate=5"), store: true, lifetime: time.Minute, ttl: 65 * time.Second, swr: 5 * time.Second},
		{name: "malformed stale-while-revalidate is none", policy: Rules{StaleWhileRevalidate: time.Minute}, resp: h("Cache-Control", "max-age=60, stale-while-revalidate=soon"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "must-revalidate forbids stale", resp: h("Cache-Control", "max-age=60, must-revalidate, stale-while-revalidate=30, stale-if-error=30"), store: true, lifetime: time.Minute, ttl: time.Minute, flags: FlagMustRevalidate},
		{name: "proxy-revalidate forbids stale", resp: h("Cache-Control", "max-age=60, proxy-revalidate, stale-if-error=30"), store: true, lifetime: time.Minute, ttl: time.Minute, flags: FlagMustRevalidate},
		{name: "s-maxage forbids stale", policy: Rules{StaleIfError: time.Hour}, resp: h("Cache-Control", "s-maxage=60"), store: true, lifetime: time.Minute, ttl: time.Minute, flags: FlagMustRevalidate},
		{name: "qualified no-cache is no-cache", resp: h("Cache-Control", `no-cache="Set-Cookie", max-age=60`), reason: ReasonNoCache},
		{name: "request no-store", req: h("Cache-Control", "no-store"), resp: h("Cache-Control", "max-age=60"), reason: ReasonRequestStore},
		{name: "Vary star", resp: h("Cache-Control", "max-age=60", "Vary", "Accept, *"), reason: ReasonVaryStar},
		{name: "malformed Vary", resp: h("Cache-Control", "max-age=60", "Vary", "Accept Language"), reason: ReasonVaryInvalid},
		{name: "Set-Cookie", resp: h("Cache-Control", "max-age=60", "Set-Cookie", "a=b"), reason: ReasonSetCookie},
		{name: "Set-Cookie stripped", policy: Rules{StripSetCookie: true}, resp: h("Cache-Control", "max-age=60", "Set-Cookie", "a=b"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "HEAD responses", method: http.MethodHead, resp: h("Cache-Control", "max-age=60"), reason: ReasonHEAD},

		// Statuses.
		{name: "206 not understood", status: 206, resp: h("Cache-Control", "max-age=60"), reason: ReasonStatus},
		{name: "304 not stored", status: 304, resp: h("Cache-Control", "max-age=60"), reason: ReasonStatus},
		// §3: any final status with explicit freshness, but 206 and 304.
		{name: "500 with max-age", status: 500, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "303 with max-age", status: 303, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "400 with Expires", status: 400, resp: h("Expires", date(time.Minute)), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "unknown 299 with max-age", status: 299, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "unknown 499 with max-age", status: 499, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "unknown 599 with s-maxage", status: 599, resp: h("Cache-Control", "s-maxage=60"), store: true, lifetime: time.Minute, ttl: time.Minute, flags: FlagMustRevalidate},
		{name: "600 is no status", status: 600, resp: h("Cache-Control", "max-age=60"), reason: ReasonStatus},
		{name: "1xx is not final", status: 103, resp: h("Cache-Control", "max-age=60"), reason: ReasonStatus},
		{name: "500 without freshness", status: 500, policy: Rules{TTL: time.Hour}, reason: ReasonNoFreshness},
		{name: "599 public: no heuristic TTL", status: 599, policy: Rules{TTL: time.Hour}, resp: h("Cache-Control", "public"), reason: ReasonNoFreshness},
		{name: "500 public: no heuristic lifetime", status: 500, policy: Rules{HeuristicFraction: 0.1}, resp: h("Cache-Control", "public", "Last-Modified", date(-time.Hour)), reason: ReasonNoFreshness},
		{name: "302 public: heuristic TTL", status: 302, policy: Rules{TTL: time.Hour}, resp: h("Cache-Control", "public"), store: true, lifetime: time.Hour, ttl: time.Hour},
		{name: "500: a route TTL does not override", status: 500, policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, resp: h("Cache-Control", "max-age=5"), store: true, lifetime: 5 * time.Second, ttl: 5 * time.Second},
		{name: "500: no route TTL without freshness", status: 500, policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, reason: ReasonStatus},
		{name: "500: no stale-if-error", status: 500, resp: h("Cache-Control", "max-age=60, stale-if-error=600"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "500: no route grace", status: 500, policy: Rules{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour}, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "500: its own stale-while-revalidate", status: 500, resp: h("Cache-Control", "max-age=60, stale-while-revalidate=30"), store: true, lifetime: time.Minute, ttl: 90 * time.Second, swr: 30 * time.Second},
		{name: "404: route grace as ever", status: 404, policy: Rules{StaleIfError: time.Hour}, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: 61 * time.Minute, sie: time.Hour},

		// §5.2.2.3 must-understand: only for a status the cache
		// implements, and then no-store gives way.
		{name: "must-understand, no-store: 200", resp: h("Cache-Control", "must-understand, no-store, max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "must-understand, no-store: 503", status: 503, resp: h("Cache-Control", "must-understand, no-store, max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "must-understand: unknown 299", status: 299, resp: h("Cache-Control", "must-understand, max-age=60"), reason: ReasonStatus},
		{name: "must-understand: 206 still not", status: 206, resp: h("Cache-Control", "must-understand, no-store, max-age=60"), reason: ReasonStatus},
		{name: "must-understand: private still wins", resp: h("Cache-Control", "must-understand, no-store, private, max-age=60"), reason: ReasonPrivate},
		{name: "must-understand: request no-store still wins", req: h("Cache-Control", "no-store"), resp: h("Cache-Control", "must-understand, no-store, max-age=60"), reason: ReasonRequestStore},
		{name: "404 with max-age", status: 404, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "302 with max-age", status: 302, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "302 not heuristically cacheable", status: 302, policy: Rules{TTL: time.Minute}, reason: ReasonNoFreshness},
		{name: "302 public is heuristically cacheable", status: 302, policy: Rules{TTL: time.Minute}, resp: h("Cache-Control", "public"), store: true, lifetime: time.Minute, ttl: time.Minute},

		// Heuristic freshness only when configured.
		{name: "no freshness, no TTL", reason: ReasonNoFreshness},
		{name: "no freshness, TTL", policy: Rules{TTL: 30 * time.Second}, store: true, lifetime: 30 * time.Second, ttl: 30 * time.Second},
		{name: "explicit freshness beats TTL", policy: Rules{TTL: time.Hour}, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},

		// §4.2.2 heuristic freshness, when configured: a fraction of
		// Date minus Last-Modified, capped, for heuristically cacheable
		// statuses (or public) without explicit freshness.
		{name: "heuristic: 10% of Date minus Last-Modified", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), store: true, lifetime: time.Hour, ttl: time.Hour + time.Hour},
		{name: "heuristic: without Date, from the response time", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-100*time.Minute)), store: true, lifetime: 10 * time.Minute, ttl: 10*time.Minute + MinDefaultKeep},
		{name: "heuristic: capped by default at a day", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-1000*24*time.Hour), "Date", date(0)), store: true, lifetime: DefaultHeuristicMax, ttl: DefaultHeuristicMax + MaxDefaultKeep},
		{name: "heuristic: capped at HeuristicMax", policy: Rules{HeuristicFraction: 0.1, HeuristicMax: time.Minute}, resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), store: true, lifetime: time.Minute, ttl: time.Minute + MinDefaultKeep},
		{name: "heuristic: a fraction above 1 counts as 1", policy: Rules{HeuristicFraction: 5}, resp: h("Last-Modified", date(-time.Minute), "Date", date(0)), store: true, lifetime: time.Minute, ttl: time.Minute + MinDefaultKeep},
		{name: "heuristic: seconds rounded down", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-15*time.Second), "Date", date(0)), store: true, lifetime: time.Second, ttl: time.Second + MinDefaultKeep},
		{name: "heuristic: the age counts", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0), "Age", "600"), store: true, lifetime: time.Hour, ttl: 50*time.Minute + time.Hour},
		{name: "heuristic: off by default", resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), reason: ReasonNoFreshness},
		{name: "heuristic: no Last-Modified", policy: Rules{HeuristicFraction: 0.1}, resp: h("Date", date(0)), reason: ReasonNoFreshness},
		{name: "heuristic: invalid Last-Modified", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", "Wed, 4 Mar 2026 05:06:07 GMT", "Date", date(0)), reason: ReasonNoFreshness},
		{name: "heuristic: Last-Modified after Date", policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(time.Hour), "Date", date(0)), reason: ReasonNoFreshness},
		{name: "heuristic: too young, TTL as fallback", policy: Rules{HeuristicFraction: 0.1, TTL: time.Minute}, resp: h("Last-Modified", date(0), "Date", date(0)), store: true, lifetime: time.Minute, ttl: time.Minute + MinDefaultKeep},
		{name: "heuristic: beats TTL", policy: Rules{HeuristicFraction: 0.1, TTL: time.Minute}, resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), store: true, lifetime: time.Hour, ttl: 2 * time.Hour},
		{name: "heuristic: explicit freshness wins", policy: Rules{HeuristicFraction: 0.1}, resp: h("Cache-Control", "max-age=60", "Last-Modified", date(-10*time.Hour)), store: true, lifetime: time.Minute, ttl: time.Minute + MinDefaultKeep},
		{name: "heuristic: never past an invalid Expires", policy: Rules{HeuristicFraction: 0.1}, resp: h("Expires", "0", "Last-Modified", date(-10*time.Hour)), reason: ReasonStale},
		{name: "heuristic: not for a 302", status: 302, policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), reason: ReasonNoFreshness},
		{name: "heuristic: a 404", status: 404, policy: Rules{HeuristicFraction: 0.1}, resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), store: true, lifetime: time.Hour, ttl: 2 * time.Hour},
		{name: "heuristic: a 302 marked public", status: 302, policy: Rules{HeuristicFraction: 0.1}, resp: h("Cache-Control", "public", "Last-Modified", date(-10*time.Hour), "Date", date(0)), store: true, lifetime: time.Hour, ttl: 2 * time.Hour},
		{name: "heuristic: not for a request with a Cookie", policy: Rules{HeuristicFraction: 0.1}, req: h("Cookie", "a=b"), resp: h("Last-Modified", date(-10*time.Hour), "Date", date(0)), reason: ReasonCookie},
		{name: "heuristic: not with Authorization", policy: Rules{HeuristicFraction: 0.1}, req: h("Authorization", "Bearer x"), resp: h("Cache-Control", "must-revalidate", "Last-Modified", date(-10*time.Hour)), reason: ReasonAuthorization},

		// Django's cache_page: the route TTL overrides max-age.
		{name: "override: TTL beats max-age", policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Hour, ttl: time.Hour, flags: FlagNoAge},
		{name: "override: TTL beats max-age=0", policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, resp: h("Cache-Control", "max-age=0"), store: true, lifetime: time.Hour, ttl: time.Hour, flags: FlagNoAge},
		{name: "override: TTL within max-age keeps Age", policy: Rules{TTL: time.Minute, OverrideMaxAge: true}, resp: h("Cache-Control", "max-age=3600"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "override: TTL 0 stores nothing", policy: Rules{OverrideMaxAge: true}, resp: h("Cache-Control", "max-age=60"), reason: ReasonRouteTTL},
		{name: "override: private still wins", policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, resp: h("Cache-Control", "private"), reason: ReasonPrivate},
		{name: "override: no-store still wins", policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, resp: h("Cache-Control", "no-store"), reason: ReasonNoStore},

		// Authorization (§3.5).
		// A request with a Cookie, under a lifetime of the cache's choosing.
		{name: "Cookie under heuristic TTL", policy: Rules{TTL: time.Hour}, req: h("Cookie", "user=a"), reason: ReasonCookie},
		{name: "Cookie under route TTL", policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, req: h("Cookie", "user=a"), resp: h("Cache-Control", "max-age=60"), reason: ReasonCookie},
		{name: "Cookie under heuristic TTL, public", policy: Rules{TTL: time.Hour}, req: h("Cookie", "user=a"), resp: h("Cache-Control", "public"), store: true, lifetime: time.Hour, ttl: time.Hour},
		{name: "Cookie under route TTL, Vary: Cookie", policy: Rules{TTL: time.Hour, OverrideMaxAge: true}, req: h("Cookie", "user=a"), resp: h("Vary", "Accept, cookie"), store: true, lifetime: time.Hour, ttl: time.Hour},
		{name: "Cookie with the response's own max-age", policy: Rules{TTL: time.Hour}, req: h("Cookie", "user=a"), resp: h("Cache-Control", "max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "Authorization without permission", req: h("Authorization", "Bearer x"), resp: h("Cache-Control", "max-age=60"), reason: ReasonAuthorization},
		{name: "Authorization with public", req: h("Authorization", "Bearer x"), resp: h("Cache-Control", "public, max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute},
		{name: "Authorization with s-maxage", req: h("Authorization", "Bearer x"), resp: h("Cache-Control", "s-maxage=60"), store: true, lifetime: time.Minute, ttl: time.Minute, flags: FlagMustRevalidate},
		{name: "Authorization with must-revalidate", req: h("Authorization", "Bearer x"), resp: h("Cache-Control", "must-revalidate, max-age=60"), store: true, lifetime: time.Minute, ttl: time.Minute, flags: FlagMustRevalidate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			r := httptest.NewRequest(method, "/", nil)
			for k, v := range tc.req {
				r.Header[k] = v
			}
			resp := tc.resp
			if resp == nil {
				resp = http.Header{}
			}
			d := Decide(tc.policy, Exchange{Req: r, Status: status, Header: resp,
				RequestTime: t0.Add(-tc.delay), ResponseTime: t0})
			if d.Store != tc.store || d.Reason != tc.reason {
				t.Fatalf("store=%v reason=%q, want store=%v reason=%q", d.Store, d.Reason, tc.store, tc.reason)
			}
			if d.Lifetime != tc.lifetime || d.TTL != tc.ttl {
				t.Fatalf("lifetime=%v ttl=%v, want %v and %v", d.Lifetime, d.TTL, tc.lifetime, tc.ttl)
			}
			if d.Flags != tc.flags || d.StaleWhileRevalidate != tc.swr || d.StaleIfError != tc.sie {
				t.Fatalf("flags=%b swr=%v sie=%v, want %b %v %v", d.Flags, d.StaleWhileRevalidate, d.StaleIfError, tc.flags, tc.swr, tc.sie)
			}
		})
	}
}

// h builds a header from name, value pairs.
func h(kv ...string) http.Header {
	hd := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		hd.Add(kv[i], kv[i+1])
	}
	return hd
}

// hh builds a header with several lines of one field.
func hh(name string, values ...string) http.Header {
	return http.Header{http.CanonicalHeaderKey(name): values}
}
