package engine

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/vary"

	"github.com/seedcache/httpcache/store"

	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// Engine is the cache behind an httpcache.Cache: its routes, store
// handles, purge state, write ledger and flights. An Engine is safe for
// concurrent use.
type Engine struct {
	store    store.Store       // guarded, unless it guards itself
	objects  store.ObjectStore // store, when it keeps decoded entries; else nil
	multi    store.MultiGetter // store, when it reads several keys at once (and is not an ObjectStore)
	leaser   store.Leaser      // store, when it grants leases and Options.Lease is on
	tagIdx   store.TagIndex    // store, when it indexes keys by tag
	noTagIdx atomic.Bool       // tagIdx turned out not to be one
	purges   purges            // where purges are recorded
	memo     checkMemo         // entries found not purged (shared stores)
	routes   routeList         // every compiled route, for purges by URL
	hints    hints             // Vary hints, for multi
	opts     Config
	now      func() time.Time
	log      *slog.Logger
	status   statusValues
	site     *route
	stats    counters
	errLog   rateLimiter
	tagLog   rateLimiter           // responses not stored for their tags
	circuit  store.CircuitReporter // store, when it can say its circuit is open
	pending  pendingDeletes
	// unrecorded are the purges through this Cache that the store failed
	// to record, refused in this process until a retry records them.
	unrecorded pendingPurges
	replicated store.Replicated // store, when it keeps copies in each process
	invGen     invalidations
	writes     writeQueue
	flights    flights
	// admin is the store as given, without the guard: for purges, which
	// are not on a request's path.
	admin store.Store
	// background counts writes and refreshes still running (Wait).
	background background
	// purgesDone counts the purges through this Cache that have been
	// recorded, or have failed and are remembered in unrecorded (see
	// notPurged).
	purgesDone atomic.Uint64
	// routeCounts counts outcomes by route, once CountRoutes is called.
	routeCounts routeCounts
	// inspected is set by Inspectable: Vary'd writes then record their
	// variant keys for Inspect (see variantsTag).
	inspected atomic.Bool
}

// route is a compiled Policy: what Handler, Page and With serve with.
type route struct {
	c     *Engine
	rules rfc9111.Rules
	keys  *keys.Keyer
	vary  *vary.Normalizer
}

const defaultMaxBody = 1 << 20

// defaultMaxURLBytes is Options.MaxURLBytes's default.
const defaultMaxURLBytes = 8 << 10

// defaultMaxTTL is Options.MaxTTL's default: 30 days.
const defaultMaxTTL = 30 * 24 * time.Hour

// markerTTL is how long purge markers live: longer than any entry they may
// have to refuse.
func markerTTL(maxTTL time.Duration) time.Duration { return maxTTL + time.Hour }

// New returns an Engine storing responses in s. It panics if s is nil or
// opts is invalid, which are programming errors.
func New(s store.Store, opts Config) *Engine {
	if s == nil {
		panic("httpcache: New called with a nil Store")
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "httpcache:"
	}
	if opts.Name == "" {
		opts.Name = "httpcache"
	}
	if !validStatusName(opts.Name) {
		panic("httpcache: Options.Name must be a structured-field token, got " + opts.Name)
	}
	opts.MaxBodySize = nonNegative("MaxBodySize", opts.MaxBodySize, defaultMaxBody)
	if opts.MaxStreamDuration == 0 {
		opts.MaxStreamDuration = DefaultMaxStreamDuration
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TagHeader == "" {
		opts.TagHeader = "Cache-Tag"
	}
	opts.TagHeader = http.CanonicalHeaderKey(opts.TagHeader)
	opts.TargetedFields = targetedFields(opts.TargetedFields)
	opts.MaxTTL = nonNegative("MaxTTL", opts.MaxTTL, defaultMaxTTL)
	opts.MaxURLBytes = nonNegative("MaxURLBytes", opts.MaxURLBytes, defaultMaxURLBytes)
	opts.PurgeTimeout = nonNegative("PurgeTimeout", opts.PurgeTimeout, defaultPurgeTimeout)
	opts.MaxPurgeTags = nonNegative("MaxPurgeTags", opts.MaxPurgeTags, defaultMaxPurgeTags)
	if opts.MaxPendingWrites < 0 {
		panic("httpcache: Options.MaxPendingWrites is negative")
	}
	c := &Engine{
		opts:   opts,
		now:    opts.Clock,
		log:    opts.Logger,
		status: newStatusValues(opts.Name),
	}
	// given are the capabilities of the store as given, used for purges
	// (admin); caps those of the store requests use: the guard's, which
	// reports those of the store it passes through, unless the store
	// guards itself.
	given := store.Probe(s)
	original, caps := s, given
	if given.Guarded == nil {
		s = store.Guard(s, c.guardOptions())
		caps = store.Probe(s) // no objects: every read goes through the guard
	}
	c.store, c.admin = s, original
	c.objects = caps.Objects
	c.circuit = caps.Circuit
	c.replicated = caps.Replicated
	if caps.Multi != nil && c.objects == nil {
		c.multi = caps.Multi
		c.hints.init()
	}
	if opts.Lease.TTL > 0 {
		c.leaser = caps.Leaser
	}
	local := caps.Local != nil // never through the guard
	c.writes.init(local, orDefault(opts.MaxPendingWrites, defaultMaxPendingWrites), &c.background)
	c.tagIdx = caps.Tags
	if local {
		c.purges = sharedLocalPurges(caps.Local, opts.KeyPrefix, markerTTL(opts.MaxTTL))
	} else {
		sp := &storePurges{store: s, admin: original, ttl: markerTTL(opts.MaxTTL), now: opts.Clock, log: opts.Logger}
		sp.setPrefix(opts.KeyPrefix + keys.Version)
		sp.counter, sp.adminCounter = caps.Counter, given.Counter
		sp.shared = caps.Replicated
		c.purges = sp
	}
	c.memo.init() // after a purge, each older entry is checked once, not on every hit
	c.site = c.compile(opts.Site)
	return c
}

// nonNegative returns v, or def when v is zero. A negative v is a
// programming error: New panics, naming the option.
func nonNegative[T int | int64 | time.Duration](name string, v, def T) T {
	if v < 0 {
		panic("httpcache: Options." + name + " is negative")
	}
	return orDefault(v, def)
}

// guardOptions are Options.Guard with the state changes logged.
func (c *Engine) guardOptions() store.GuardOptions {
	g := c.opts.Guard
	if g.Clock == nil {
		g.Clock = c.opts.Clock
	}
	notify := g.OnStateChange
	g.OnStateChange = func(open bool) {
		if open {
			c.log.Error("httpcache: store keeps failing; not calling it until a probe succeeds (serving from the handler)")
		} else {
			c.log.Info("httpcache: store answers again; caching resumed")
		}
		if notify != nil {
			notify(open)
		}
	}
	return g
}

// RouteConfig is a compiled route's policy: what Middleware caches with.
type RouteConfig struct {
	// Rules are the storage decision's settings (MaxTTL is the Engine's).
	Rules rfc9111.Rules
	// Query says how the query string enters the key.
	Query keys.Query
	// VaryCookies is the cookie allow-list for responses varying on Cookie.
	VaryCookies []string
}

func (c *Engine) compile(rc RouteConfig) *route {
	if rc.Rules.TTL < 0 {
		panic("httpcache: Policy.TTL is negative")
	}
	if rc.Rules.HeuristicMax < 0 {
		panic("httpcache: Policy.Heuristic.Max is negative")
	}
	rc.Rules.MaxTTL = c.opts.MaxTTL
	rc.Rules.Targeted = c.opts.TargetedFields
	rt := &route{
		c:     c,
		rules: rc.Rules,
		keys:  keys.New(c.opts.KeyPrefix, c.opts.SchemeHeader, rc.Query),
		vary:  vary.New(vary.Config{Codings: c.opts.Codings, Cookies: rc.VaryCookies, Languages: c.opts.Languages, Normalizers: c.opts.Normalizers}),
	}
	if c.writes.local {
		rt.keys.InProcess() // the store is this process's alone
	}
	c.routes.add(rt)
	return rt
}

// routeList is every route compiled for a Cache.
type routeList struct {
	mu     sync.Mutex
	routes []*route
}

func (l *routeList) add(rt *route) {
	l.mu.Lock()
	l.routes = append(l.routes, rt)
	l.mu.Unlock()
}

func (l *routeList) all() []*route {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*route(nil), l.routes...)
}

// Handler caches next under the site-wide route (Config.Site).
func (c *Engine) Handler(next http.Handler) http.Handler {
	return &handler{rt: c.site, next: next}
}

// Middleware compiles rc into a route and returns middleware caching
// under it.
func (c *Engine) Middleware(rc RouteConfig) func(http.Handler) http.Handler {
	rt := c.compile(rc)
	return func(next http.Handler) http.Handler { return &handler{rt: rt, next: next} }
}

type handler struct {
	rt   *route
	next http.Handler
}

// missKey finds an enclosing layer of the same Cache in a request context.
type missKey struct{ c *Engine }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.rt.c
	outer, _ := r.Context().Value(missKey{c}).(*miss)
	if outer != nil {
		// A layer of this Cache is already fetching this request, or the
		// request is one its handler makes in turn. Either way it must
		// see the client's conditionals, not the validators that layer
		// may have put in their place.
		r = outer.clientConditionals(r)
		if !outer.nests(r) {
			outer = nil // a request of its own: nothing to take over
		} else {
			outer.delegated.Store(true)
		}
	}
	if (c.opts.OnEvent != nil || c.routeCounts.on.Load()) && outer == nil {
		// The outermost layer reports the request, once.
		rec := eventPool.Get().(*eventRecord)
		start := time.Now()
		h.serve(w, r, nil, rec)
		c.emit(rec, r, w.Header(), start) // and recycles rec
		return
	}
	h.serve(w, r, outer, nil)
}

// serve serves r, with outer the layer of this Cache enclosing it (or nil),
// noting what it does in ev (if not nil).
func (h *handler) serve(w http.ResponseWriter, r *http.Request, outer *miss, ev *eventRecord) {
	c := h.rt.c
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	default:
		h.serveOtherMethod(w, r, ev)
		return
	}
	f := requestFields(r.Header)
	if detail := c.bypassDetail(r, f); detail != "" {
		if c.markBypass(w.Header(), fwdBypass, detail, ev) {
			c.stats.bypasses.Add(1)
		}
		h.next.ServeHTTP(c.passThrough(w, r), r)
		return
	}
	h.serveCacheable(w, r, f, outer, ev)
}

// bypassDetail says why a GET or HEAD must not touch the cache, or "". f
// are r's fields (requestFields).
func (c *Engine) bypassDetail(r *http.Request, f reqFields) string {
	hd := r.Header
	ranged := c.opts.RangeRequests && r.Method == http.MethodGet // ranges answered from stored responses
	switch {
	case f&fieldUpgrade != 0:
		return detailUpgrade
	case f&fieldRange != 0 && !ranged:
		return detailRange
	case f&(fieldIfMatch|fieldIfUnmodifiedSince) != 0, f&fieldIfRange != 0 && !ranged:
		return detailPrecondition
	case urlBytes(r) > c.opts.MaxURLBytes:
		return detailTooLong
	case !keys.PlainHost(r, c.site.keys.Scheme(r)):
		return detailHost
	case !keys.PlainPath(r.URL):
		return detailPath
	case r.ContentLength != 0:
		// A GET with content (or of unknown length): the key does not
		// cover the content, which a handler may read (RFC 9110 §9.3.1
		// gives it no meaning; caches have been poisoned through it).
		return detailBody
	case c.opts.Bypass != nil && c.opts.Bypass(r):
		return detailPolicy
	case len(c.opts.BypassCookies) > 0 && header.HasCookie(hd, c.opts.BypassCookies):
		return detailCookie
	}
	return ""
}

// reqFields are the request header fields a GET or HEAD's way through the
// cache turns on: a bit for each, set when the field has a line.
type reqFields uint8

const (
	fieldUpgrade reqFields = 1 << iota
	fieldRange
	fieldIfMatch
	fieldIfUnmodifiedSince
	fieldIfRange
	fieldIfNoneMatch
	fieldIfModifiedSince
)

// fieldNames are the canonical names of the reqFields, bit i's at i.
var fieldNames = [...]string{"Upgrade", "Range", "If-Match", "If-Unmodified-Since", "If-Range", "If-None-Match", "If-Modified-Since"}

// scanFieldsMax is the most fields a header may have for requestFields to
// go over them once rather than look each of its names up: a lookup of a
// name a header lacks costs about what two steps of a pass over it do.
const scanFieldsMax = 12

// requestFields reports which of the reqFields hd has, as direct reads of
// hd under their canonical names would (len(hd[name]) > 0): a hit asks
// about each of them, and a request has few fields, most of them none of
// these.
func requestFields(hd http.Header) reqFields {
	var f reqFields
	if len(hd) <= scanFieldsMax {
		for name, v := range hd {
			if len(v) > 0 {
				f |= fieldOf(name)
			}
		}
		return f
	}
	for i, name := range fieldNames {
		if len(hd[name]) > 0 {
			f |= 1 << i
		}
	}
	return f
}

// fieldOf is the reqFields bit of a canonical field name, or 0.
func fieldOf(name string) reqFields {
	switch name {
	case "Upgrade":
		return fieldUpgrade
	case "Range":
		return fieldRange
	case "If-Match":
		return fieldIfMatch
	case "If-Unmodified-Since":
		return fieldIfUnmodifiedSince
	case "If-Range":
		return fieldIfRange
	case "If-None-Match":
		return fieldIfNoneMatch
	case "If-Modified-Since":
		return fieldIfModifiedSince
	}
	return 0
}

// urlBytes is the length of r's host, path and query: what its key
// material grows with.
func urlBytes(r *http.Request) int {
	return len(keys.RequestHost(r)) + max(len(r.URL.Path), len(r.URL.RawPath)) + len(r.URL.RawQuery)
}

// markBypass adds a Cache-Status member for a request the cache did not
// look up, once even when layers of one Cache are nested, notes it in the
// request's event record (if any), and reports whether it added it: the
// outermost layer counts the request, the others not.
func (c *Engine) markBypass(h http.Header, fwd, detail string, ev *eventRecord) bool {
	v := c.status.forward(fwd, false, detail)
	ev.note(v)
	if cs := h["Cache-Status"]; len(cs) > 0 && cs[len(cs)-1] == v {
		return false
	}
	appendStatus(h, v)
	return true
}

// materialPool recycles key-material buffers.
var materialPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// orDefault returns v, or def when v is zero.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
