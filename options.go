package httpcache

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/engine"

	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/rfc9111"
	"github.com/seedcache/httpcache/store"
)

// Options configures a Cache. The zero value is a usable RFC 9111 shared
// cache: only responses that state their own freshness are stored, keys are
// exact, responses that set cookies are not stored, and bodies over 1 MiB are
// passed through without being stored.
type Options struct {
	// Policy is the site-wide storage policy, used by Handler and as the
	// base that Page and With adjust per route.
	Policy Policy

	// KeyPrefix begins the name of everything the Cache writes to the
	// store: entries, Vary indexes and variants, tag index records, the
	// purge clock and purge markers, fill leases. It is how several
	// applications (or several Caches of one) share one store: Caches with
	// different prefixes never serve, invalidate or purge each other's
	// entries — a purge of a tag, a URL or everything reaches only its
	// own prefix — while Caches with one prefix (the replicas of an
	// application) share entries and purges. Stores need no prefix of
	// their own for this. On Redis Cluster it should contain no "{",
	// which would replace the keys' own hash tags. If empty, "httpcache:".
	KeyPrefix string

	// Name identifies this cache in the Cache-Status header (RFC 9211).
	// If empty, "httpcache".
	Name string

	// TargetedFields is the cache's target list (RFC 9213 §2.2): the
	// targeted cache-control fields it obeys, most applicable first,
	// such as {"Acme-Cache-Control", "CDN-Cache-Control"}. The first of
	// them a response carries with a valid value (a non-empty RFC 8941
	// Dictionary) decides whether, and for how long, this cache stores
	// and serves it, in place of its Cache-Control and Expires: with
	// Cache-Control's directives and their meaning for a shared cache
	// (max-age, s-maxage, no-store, no-cache, private, must-revalidate,
	// stale-while-revalidate, stale-if-error...). One that is empty or
	// does not parse is ignored, and the next, or Cache-Control,
	// decides. The fields reach the client unchanged, as CDN caches
	// typically forward CDN-Cache-Control to the caches after them
	// (RFC 9213 §3); a cache that knows it is the last may remove them in
	// a wrapper of its own. A targeted field not on the list changes
	// nothing (§2.2). One on it wins even over Cache-Control: private or
	// no-store, so an origin must send it only for what this cache may
	// share (RFC 9213 §5 warns of the confusion several policies can
	// cause). If empty, Cache-Control and Expires alone decide
	// (example/proxy obeys CDN-Cache-Control). New panics on a name that
	// is not a field name, and on Cache-Control.
	TargetedFields []string

	// MaxBodySize is the largest response body that is stored, in bytes.
	// Larger responses still reach the client whole; they are just not
	// stored. If zero, 1 MiB.
	MaxBodySize int64

	// MaxURLBytes bounds the URL a request may have to use the cache:
	// the length of its host, path and query together. A longer request
	// bypasses the cache (Cache-Status detail=too-long): nothing about it
	// is looked up, stored or remembered, so clients sending huge URLs
	// cannot make the cache spend memory or store space on them. If zero,
	// 8 KiB (nginx's default boundary for a 414).
	MaxURLBytes int

	// MaxStreamDuration is how long a response the handler flushed (a
	// reverse proxy flushes every write of a response without a
	// Content-Length) may go on streaming after its first flush and still
	// be stored: one that is still streaming then is a live stream, not a
	// page, and is not stored. It reaches its client whole either way. A
	// text/event-stream response is never stored. If zero,
	// DefaultMaxStreamDuration; if negative, no flushed response is
	// stored.
	MaxStreamDuration time.Duration

	// SchemeHeader names a request header, set by a trusted TLS-terminating
	// proxy in front of this server (typically "X-Forwarded-Proto"), whose
	// value "http" or "https" gives the scheme that goes into the key. If
	// empty, the scheme is https when the request arrived over TLS and http
	// otherwise. Only set it when every request passes through that proxy:
	// clients can send the header themselves.
	SchemeHeader string

	// Codings are the content codings the application serves, used to
	// normalise Accept-Encoding for responses that vary on it. If nil,
	// vary's defaults apply.
	Codings []string

	// Languages are the languages the application serves (language tags
	// such as "en", "fr", "pt-BR"), used to merge Accept-Language values
	// for responses that vary on it: a range of a language not listed, or
	// another region of a listed one (en-US and en-GB with "en" listed),
	// no longer makes a variant of its own, while order and q values still
	// do. Set it only if the application chooses among these languages by
	// RFC 4647 matching (lookup, filtering, or the first range) or as
	// Django does, and its response depends on nothing else in the header;
	// vary.Config.Languages says exactly what is merged. For Go's
	// golang.org/x/text/language Matcher, which matches further, use
	// Normalizers. If nil, each value is keyed on its whole list of ranges
	// and q values, folding only case, whitespace and q spellings.
	Languages []string

	// Normalizers replaces the normalisation of single request headers
	// for responses that vary on them, keyed by header name (any case).
	// Each func receives the header's field lines (at least one; a missing
	// header is never passed) and returns the value to key on: requests it
	// maps to one value share a variant, so it may merge only requests the
	// application answers alike. It must be deterministic and safe for
	// concurrent use, and runs on every lookup of a URL that varies on its
	// header. It replaces the built-in rule for that header, including
	// Codings, Languages and Policy.VaryCookies. Keying Accept-Language on
	// the application's own choice merges as far as it can go, for
	// instance with an x/text Matcher m:
	//
	//	func(v []string) string {
	//		tags, _, _ := language.ParseAcceptLanguage(v[0])
	//		tag, _, _ := m.Match(tags...)
	//		return tag.String()
	//	}
	//
	// (v[0]: the handler reads Header.Get.) Processes sharing a store
	// must use the same funcs. If nil, the built-in rules of package vary
	// apply to every header.
	Normalizers map[string]func(values []string) string

	// RequestDirectives makes the cache honour the client's own
	// Cache-Control — no-cache (and Pragma: no-cache), max-age, max-stale,
	// min-fresh, only-if-cached — as RFC 9111 §5.2.1 describes for shared
	// caches; example/proxy does. If false, only the request's no-store is
	// honoured: clients cannot force requests past the cache, so a flood
	// of no-cache requests cannot become a flood at the origin.
	RequestDirectives bool

	// RangeRequests answers GET requests with a Range header from stored
	// complete 200 responses, as RFC 9110 §14 describes: a single byte
	// range as 206 Partial Content with Content-Range, a range the
	// response cannot satisfy as 416, and an If-Range that does not match
	// (strong ETag, or the exact date of a strong Last-Modified) as the
	// whole response. A Range naming several ranges is answered with the
	// whole response (200), which the RFC allows, rather than
	// multipart/byteranges. A Range request that finds nothing usable
	// stored goes to the handler as it is and its response (a 206, most
	// likely) is not stored (Cache-Status detail=range): a later full GET
	// fills the cache. If false, every Range request bypasses the cache
	// (detail=range), as does every If-Range. HEAD requests with Range
	// always bypass it.
	RangeRequests bool

	// ClientRefreshReplaces lets a response fetched only because the
	// client's Cache-Control refused a fresh stored response (no-cache,
	// max-age, min-fresh, with RequestDirectives) replace the stored one,
	// or rewrite it through a 304, as RFC 9111 allows. If false, such a
	// response is served to that client alone and the fresh entry stays:
	// one client cannot swap what every other client is served (which
	// would let a response poisoned through an unkeyed header in at any
	// moment), nor turn its own refreshes into everyone's.
	ClientRefreshReplaces bool

	// RefreshTimeout bounds each background refresh of a response served
	// under stale-while-revalidate. If zero, 30 s.
	RefreshTimeout time.Duration

	// LockTimeout bounds how long a request waits for another request's
	// fetch of the same response (see "coalescing" in the README), as
	// nginx's proxy_cache_lock_timeout does: once it has passed, the
	// waiters stop waiting, one of them calls the handler in the leader's
	// place, and the others wait on that one, bounded again. The first
	// fetch goes on and is still stored. If zero, DefaultLockTimeout; if
	// negative, a request waits as long as its own context allows.
	LockTimeout time.Duration

	// TagHeader names the response header from which handlers may tag
	// responses for purges (comma- or space-separated tags). It is removed
	// before the response reaches the client, and never stored. If empty,
	// "Cache-Tag". Handlers can also call Tag.
	TagHeader string

	// PurgeTimeout bounds how long Purge (and so PurgeHandler) waits for
	// the store to record a purge: to read the purge clock, advance each
	// purged tag's marker (eight at a time) and then the clock. Within it,
	// a failed attempt is tried again, up to three attempts, each given
	// its share of the time left (so that one stuck on a dead connection
	// leaves time for the next). A purge not recorded by then returns an
	// error wrapping ErrPurgeFailed, and is remembered: until a retry
	// records it, this process serves nothing it purges from the store
	// (for a soft purge, serves it as stale), and it is retried in the
	// background — after 100 ms, backing off to 5 s, eight times; then at
	// the first lookup that meets it, or the next purge. Other processes
	// sharing the store serve what it purges until it is recorded. With
	// stores/tiered, a recorded purge then also waits for every instance
	// to drop its L1 copies (bounded by the tiered store). If zero, 1 s.
	PurgeTimeout time.Duration

	// MaxPurgeTags bounds what one purge may name: at most this many tags,
	// and at most this many URLs and keys together, per Purge call or
	// PURGE request. A larger purge is refused whole, before anything is
	// purged (Purge returns an error wrapping ErrPurgeTooLarge,
	// PurgeHandler answers 400): each tag, URL and key costs a marker
	// kept in the store for MaxTTL, written as the purge is, so a client
	// of PurgeHandler could otherwise fill the store and hold the purge
	// for seconds. Split larger purges into several. If zero, 256 (as
	// Fastly bounds the surrogate keys of one batch purge; a response
	// carries at most 64 tags).
	MaxPurgeTags int

	// MaxTTL caps how long any response is kept, whatever its headers
	// say; purge markers are kept this long, plus an hour. If zero, 30
	// days. Processes sharing a store should agree on it: a marker written
	// by one with a shorter MaxTTL can expire while an entry it purged,
	// stored by another, is still kept, and that entry is then served
	// again.
	MaxTTL time.Duration

	// Bypass, if set, is called for every request; when it returns true the
	// request is neither served from nor stored in the cache.
	Bypass func(r *http.Request) bool

	// BypassCookies names cookies whose presence on a request makes it
	// bypass the cache entirely, in the way a logged-in session usually
	// must (Varnish's and WordPress caches' most common rule). If empty, no
	// cookie bypasses the cache; responses still decide with Cache-Control
	// and Vary.
	BypassCookies []string

	// Guard bounds the operations of a networked store: a timeout for each
	// (default 500 ms) and a circuit breaker that stops calling a store that
	// keeps failing. It does not apply to a store.GuardedStore
	// (stores/memory, stores/tiered, or one already wrapped by store.Guard).
	Guard store.GuardOptions

	// Lease turns on the cross-process fill lease, for stores that grant
	// leases (stores/redis): processes sharing the store then fill a
	// missing URL once between them, not once each. Off by default:
	// in-process coalescing needs no lease.
	Lease LeaseOptions

	// MaxPendingWrites bounds the writes to a networked store that run in
	// the background after the response has been sent; writes beyond it are
	// dropped (and counted in Stats), never queued without bound. If zero,
	// 256. Writes to a local store (stores/memory) are synchronous.
	MaxPendingWrites int

	// Clock returns the current time. If nil, time.Now. Tests inject one.
	Clock func() time.Time

	// Logger receives store failures. If nil, slog.Default().
	Logger *slog.Logger

	// OnEvent, if set, is called once for every request the Cache
	// handles, after its response has been written, on the request's
	// goroutine (see Event). It must be safe for concurrent use and
	// quick: the request's goroutine waits for it. Its cost is a few
	// clock reads and the parse of the request's Cache-Status member,
	// about 0.2 µs and no allocation on a hit (see BENCHMARKS.md); with
	// no OnEvent there is none. contrib/prometheus and contrib/otel provide
	// ready ones.
	OnEvent func(Event)

	// OnStoreOp, if set, is called after every store operation made on a
	// request's path or for a purge, on the goroutine that made it (see
	// StoreOp), with the same requirements as OnEvent.
	OnStoreOp func(StoreOp)
}

// DefaultMaxStreamDuration is Options.MaxStreamDuration's default: long
// enough for a page streamed to a slow client, short enough that a live
// stream is not held in memory to be stored.
const DefaultMaxStreamDuration = engine.DefaultMaxStreamDuration

// Policy says what may be stored and for how long. It is set site-wide in
// Options.Policy and per route with (*Cache).With or (*Cache).Page.
type Policy struct {
	// TTL is the freshness lifetime given to responses that do not state
	// their own and get none from Heuristic (RFC 9111 §4.2.2 heuristic
	// freshness, for the statuses the RFC lists as heuristically
	// cacheable, and when marked public also for 302, 307 and 451 — never
	// for a 5xx or another status, public or not). With OverrideMaxAge, it is the
	// lifetime of every stored response. If zero, responses without explicit
	// freshness are not stored, and with OverrideMaxAge nothing is stored
	// (Django's cache_page(0)).
	TTL time.Duration

	// Heuristic gives a response that states no freshness of its own (no
	// max-age, s-maxage or valid Expires) a lifetime guessed from its
	// Last-Modified, as RFC 9111 §4.2.2 allows: a fraction of the time
	// between Last-Modified and Date, capped. It applies to the statuses
	// RFC 9110 §15.1 lists as heuristically cacheable (200, 203, 204,
	// 300, 301, 308, 404, 405, 410, 414, 501), and to 302, 307 and 451
	// when marked public, never to a request with a Cookie (unless the response says
	// public or Vary: Cookie) or with Authorization; where it gives no
	// lifetime (no Last-Modified), TTL still applies. Hits carry Age as
	// usual; RFC 9111 has no Warning to add. If zero, responses are
	// given no heuristic lifetime; example/proxy sets 10%, capped at a
	// day.
	Heuristic Heuristic

	// OverrideMaxAge makes TTL decide how long every stored response is
	// kept and served, whatever its own max-age, s-maxage or Expires say
	// (Django's cache_page semantics since Django 3.1, ticket 30765). The
	// client still receives the response's own Cache-Control. no-store,
	// private, no-cache, Vary: * and Set-Cookie still prevent storage.
	// Statuses other than 200, 203, 204, 300, 301, 302, 307, 308, 404,
	// 405, 410, 414, 451 and 501 (a 500, say) keep their own lifetime,
	// and are not stored without one: a route's hour would outlive the
	// outage an error reports.
	// If false, the response's own freshness wins and TTL is a fallback.
	OverrideMaxAge bool

	// Query says how the query string enters the key. If zero, exactly as
	// received.
	Query QueryOptions

	// StripSetCookie stores responses that set cookies, with their
	// Set-Cookie headers removed (the client that caused the store still
	// receives its cookies). If false, such responses are not stored: a
	// cached Set-Cookie would hand one user's session to every other user.
	StripSetCookie bool

	// StaleWhileRevalidate is how long past freshness a response that does
	// not say (with stale-while-revalidate, RFC 5861) may still be served
	// at once while a background request refreshes it. If zero, none.
	// Never applies to responses with must-revalidate, proxy-revalidate,
	// s-maxage or no-cache.
	StaleWhileRevalidate time.Duration

	// StaleIfError is how long past freshness a response that does not
	// say (with stale-if-error) may be served instead of a 500, 502, 503
	// or 504 answer or a panic from the handler. If zero, none. The same
	// exceptions apply.
	StaleIfError time.Duration

	// Keep is how long past freshness a response with a validator (ETag
	// or Last-Modified) stays stored, so that once stale it can be
	// revalidated with a conditional request (a 304 costs the handler
	// little, with http.ServeContent nothing) instead of fetched whole.
	// Like everything stored, it is kept at most Options.MaxTTL, and a
	// store over its budget evicts what was used least recently first
	// (stores/memory; Redis and Memcached by their own eviction), so a
	// stale entry nobody asks for gives way before any in use. If zero,
	// as long as its freshness lifetime, at least 10 minutes (so that a
	// response fresh for a second is still there to revalidate when the
	// next visitor comes) and at most an hour. If negative, such
	// responses are not kept past their stale windows.
	Keep time.Duration

	// GenerateETag gives stored 200 responses that have no validator a
	// strong ETag computed from the body, so that clients can revalidate
	// them (If-None-Match) against the cache. The response that was stored
	// reaches its client without it; hits carry it. If false, responses
	// are stored as they are.
	GenerateETag bool

	// VaryCookies is the cookie-name allow-list used for responses that say
	// "Vary: Cookie": only these cookies form the variant, so analytics
	// cookies do not split the cache. If empty, the whole Cookie header is
	// the variant value.
	VaryCookies []string
}

// Heuristic is RFC 9111 §4.2.2 heuristic freshness (see Policy.Heuristic):
// a response last modified ten days before its Date is fresh, with
// Fraction 0.1, for a day.
type Heuristic struct {
	// Fraction is the share of the time between the response's
	// Last-Modified and its Date (or the time it was received) that it
	// is fresh for; RFC 9111 suggests 0.1, as browsers and Traffic Server
	// use. Above 1 counts as 1. If zero (or negative), heuristic freshness
	// is off.
	Fraction float64

	// Max caps the lifetime. If zero, 24 hours (past which RFC 7234 had
	// caches warn that the guess was long). New, With and Page panic if
	// it is negative.
	Max time.Duration
}

// QueryOptions says how the query string becomes part of the cache key.
// Leaving a parameter out of the key means requests that differ only in it
// share one entry: only do so for parameters the response does not depend on.
type QueryOptions struct {
	// Sort makes the order of parameters irrelevant ("?a=1&b=2" and
	// "?b=2&a=1" share an entry). Several values of one parameter keep
	// their relative order, which can matter to the handler. If false, the
	// query is used exactly as received.
	Sort bool

	// Allow, if not empty, lists the only parameters that enter the key.
	// Pairs are split at "&"; a pair containing ";" always enters the
	// key, since some origins split at ";" too.
	Allow []string

	// Deny lists parameters left out of the key, such as "utm_source" or
	// "fbclid". If empty, none are left out. As with Allow, a pair
	// containing ";" is never left out.
	Deny []string
}

// route is p compiled for the engine; the rules' MaxTTL is the Cache's.
func (p *Policy) route() engine.RouteConfig {
	return engine.RouteConfig{
		Rules: rfc9111.Rules{
			TTL:                  p.TTL,
			OverrideMaxAge:       p.OverrideMaxAge,
			StripSetCookie:       p.StripSetCookie,
			StaleWhileRevalidate: p.StaleWhileRevalidate,
			StaleIfError:         p.StaleIfError,
			Keep:                 p.Keep,
			GenerateETag:         p.GenerateETag,
			HeuristicFraction:    p.Heuristic.Fraction,
			HeuristicMax:         p.Heuristic.Max,
		},
		Query:       keys.Query{Sort: p.Query.Sort, Allow: p.Query.Allow, Deny: p.Query.Deny},
		VaryCookies: p.VaryCookies,
	}
}

// config is o for the engine, which applies the defaults.
func (o *Options) config() engine.Config {
	onEvent, onStoreOp := o.events()
	return engine.Config{
		Site:                  o.Policy.route(),
		KeyPrefix:             o.KeyPrefix,
		Name:                  o.Name,
		MaxBodySize:           o.MaxBodySize,
		MaxURLBytes:           o.MaxURLBytes,
		MaxStreamDuration:     o.MaxStreamDuration,
		SchemeHeader:          o.SchemeHeader,
		Codings:               o.Codings,
		Languages:             o.Languages,
		Normalizers:           o.Normalizers,
		RequestDirectives:     o.RequestDirectives,
		RangeRequests:         o.RangeRequests,
		ClientRefreshReplaces: o.ClientRefreshReplaces,
		RefreshTimeout:        o.RefreshTimeout,
		LockTimeout:           o.LockTimeout,
		TagHeader:             o.TagHeader,
		PurgeTimeout:          o.PurgeTimeout,
		MaxPurgeTags:          o.MaxPurgeTags,
		MaxTTL:                o.MaxTTL,
		Bypass:                o.Bypass,
		BypassCookies:         o.BypassCookies,
		Guard:                 o.Guard,
		Lease:                 engine.LeaseOptions(o.Lease),
		MaxPendingWrites:      o.MaxPendingWrites,
		Clock:                 o.Clock,
		Logger:                o.Logger,
		OnEvent:               onEvent,
		OnStoreOp:             onStoreOp,
		TargetedFields:        o.TargetedFields,
	}
}

// LeaseOptions configure the cross-process fill lease, off unless TTL is
// set. In-process coalescing needs none of this; a lease extends it across
// processes sharing a store that is a Leaser (stores/redis): the first
// process to miss a URL takes a short lease on it and fetches, and the
// others, instead of running the handler too, wait a little for its
// response to appear in the store.
type LeaseOptions struct {
	// TTL is how long a lease lasts, and so the longest one process's
	// fetch can hold the others back (it expires by itself if its holder
	// dies). If zero, there are no leases.
	TTL time.Duration

	// Wait is how long a process that did not get the lease waits for the
	// holder's response before running the handler itself. If zero, TTL.
	Wait time.Duration

	// Poll is how often a waiting process looks in the store. If zero,
	// 20 ms.
	Poll time.Duration
}

// DefaultLockTimeout is how long a request waits for another request's
// fetch of the same response when Options.LockTimeout is zero: that of
// nginx's proxy_cache_lock_timeout.
const DefaultLockTimeout = engine.DefaultLockTimeout
