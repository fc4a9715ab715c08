package engine

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/internal/rfc9111"
	"github.com/seedcache/httpcache/internal/tags"
)

// miss is the state of one request served by the handler: it decides at
// WriteHeader what happens to the response, and is found through the
// request context by nested layers (which then take over) and by handlers
// adding tags.
type miss struct {
	rt          *route
	req         *http.Request // as the client sent it
	lk          lookup
	above       http.Header // header set by middleware above, before the handler
	requestTime time.Time
	// responseTime is when the final header was written.
	responseTime time.Time
	decision     rfc9111.Decision
	delegated    atomic.Bool // an inner layer of the same Cache handles this request
	passed       *url.URL    // the URL of the request passed to the handler

	stale        *entry.Entry // the stored response, being revalidated or kept for errors
	validated    bool         // the handler was asked with stale's validators
	staleIfError bool         // a 5xx or panic may be answered with stale
	notModified  bool         // the handler answered 304 to the validators
	failStatus   int          // the error (500 for a panic) kept from the client
	storeDown    string       // why nothing will be written though it may be stored, if so
	headStorable bool         // a HEAD whose response a GET would have stored
	keptFresh    bool         // storable, but fetched for this client alone (keepsFresh)
	background   bool         // a background refresh, not a client's request
	lead         *leadership
	tags         tags.Set // from Tag and the tag header
	enclosing    *miss    // another Cache's fetch this one's response is for

	cw  captureWriter // the writer the handler writes to
	ctx missContext   // the context of the request passed to the handler
	// puts are the writes of the stored response (see storeEntry): part
	// of m, as they are written once, while m is still referred to.
	puts [2]put
	done writesDone // what to do once they are written (see leadership.onDone)
}

// run calls the handler. A panic is recovered only when a stale response
// may replace it and nothing has reached the client yet; otherwise it goes
// on, untouched, to the server's recovery.
func (h *handler) run(cw *captureWriter, m *miss) {
	req := m.req
	m.enclosing = enclosingMiss(req, h.rt.c)
	if m.lk.ev != nil {
		m.lk.ev.share() // a nested layer may note in it, maybe after the request
	}
	ctx := &m.ctx // part of m, which it refers to anyway
	*ctx = missContext{Context: req.Context(), m: m}
	if m.validated {
		req = withValidators(req, m.stale, ctx) // a copy with ctx
	} else {
		req = req.WithContext(ctx)
	}
	m.passed = req.URL
	defer func() {
		if v := recover(); v != nil {
			cw.attach(true) // the pump, if any, must be done with the client's writer
			if v == http.ErrAbortHandler || !m.staleIfError || cw.sent() || m.delegated.Load() {
				if !m.delegated.Load() {
					m.count(false)
				}
				panic(v)
			}
			m.failStatus = http.StatusInternalServerError
			h.rt.c.log.Error("httpcache: handler panicked; serving the stale response (stale-if-error)",
				"panic", v, "url", m.req.URL.String())
		}
	}()
	h.next.ServeHTTP(cw, req)
}

// missContext is the context of the request a miss passes to its handler:
// it finds the miss under missKey (for this Cache's nested layers) and
// under tagsKey (for Tag), as two context.WithValue layers would, in one
// allocation instead of two.
type missContext struct {
	context.Context
	m *miss
}

func (x *missContext) Value(key any) any {
	switch k := key.(type) {
	case missKey:
		if k.c == x.m.rt.c {
			return x.m
		}
	case tagsKey:
		return x.m
	}
	return x.Context.Value(key)
}

// nests reports whether r is the request m passed to its handler (the same
// URL: middleware between layers passes the request on, perhaps with a new
// context), reaching another layer of the same Cache, rather than a request
// the handler made of its own.
func (m *miss) nests(r *http.Request) bool { return r.URL == m.passed }

// clientConditionals returns r with the client's own If-None-Match and
// If-Modified-Since in place of the validators m put in to revalidate, for
// another layer of the Cache that r reaches.
func (m *miss) clientConditionals(r *http.Request) *http.Request {
	if !m.validated {
		return r
	}
	h := r.Header
	// The values withValidators sent.
	s := m.stale.Header.Stored()
	if !header.SameValues(h["If-None-Match"], firstOnly(s.ETag)) || !header.SameValues(h["If-Modified-Since"], firstOnly(s.LastModified)) {
		return r // not ours
	}
	r2 := r.WithContext(r.Context())
	r2.Header = h.Clone()
	for _, name := range []string{"If-None-Match", "If-Modified-Since"} {
		if v, ok := m.req.Header[name]; ok {
			r2.Header[name] = v
		} else {
			delete(r2.Header, name)
		}
	}
	return r2
}

// informational takes the tags out of the header before a 1xx response
// sends it: tags are for the cache, not for the client.
func (m *miss) informational(h http.Header) {
	if m.delegated.Load() {
		return // the inner layer's writer has done it
	}
	takeTags(h, m.rt.c.opts.TagHeader, m)
}

// writeHeader decides, when the handler's final header is about to go
// out, what happens to the response, and adds this cache's Cache-Status.
func (m *miss) writeHeader(status int, h http.Header) hookAction {
	if m.delegated.Load() {
		return actionPass
	}
	c := m.rt.c
	m.responseTime = c.now()
	takeTags(h, c.opts.TagHeader, m)
	m.storeDown = c.storeDown(&m.lk)
	if m.storeDown != "" {
		// Write nothing (the waiters are still served the response):
		// Cache-Status must not promise what will not happen.
		m.lk.failed = true
	}
	switch {
	case m.validated && status == http.StatusNotModified:
		m.notModified = true
		return actionSuppress
	case m.staleIfError && rfc9111.StaleIfErrorStatus(status):
		m.failStatus = status
		return actionSuppress
	}
	d := rfc9111.Decide(m.rt.rules, rfc9111.Exchange{
		Req:          m.req,
		Status:       status,
		Header:       h,
		RequestTime:  m.requestTime,
		ResponseTime: m.responseTime,
	})
	if d.Reason == rfc9111.ReasonHEAD {
		m.headStorable = m.storableAsGET(status, h)
	}
	// What the writer would refuse, as far as it can be known now.
	switch {
	case !d.Store:
	case header.ContentLength(h) > c.opts.MaxBodySize:
		d = rfc9111.Decision{Reason: rfc9111.ReasonTooLarge}
	case isEventStream(h):
		d = rfc9111.Decision{Reason: detailEventStream}
	case len(h["Trailer"]) > 0:
		d = rfc9111.Decision{Reason: detailTrailers}
	case !m.tagsWithinLimits():
		d = rfc9111.Decision{Reason: detailTags}
	}
	if d.Store && m.keepsFresh() {
		// Served to this client alone; no detail: fwd=request says why.
		// A miss all the same (see count).
		d, m.keptFresh = rfc9111.Decision{}, true
	}
	m.decision = d
	stored, detail := d.Store, d.Reason
	if stored && m.storeDown != "" {
		stored, detail = false, m.storeDown
	}
	v := c.status.forward(m.lk.fwd, stored, detail)
	appendStatus(h, v)
	m.lk.ev.note(v)
	if d.Store {
		return actionCapture
	}
	// Nothing to share: the waiters need not wait for the end. A refusal
	// for reasons of the leader's own request (its cookie, credentials)
	// says nothing of theirs: the flight is lost, and one of them leads in
	// its place; else the response itself is unstorable, and each fetches.
	m.lead.landNotShared(c, d.Reason)
	return actionPass
}

// requestBound reports whether a response was refused for reasons of the
// request it answered, not of its own.
func requestBound(reason string) bool {
	switch reason {
	case rfc9111.ReasonCookie, rfc9111.ReasonAuthorization, rfc9111.ReasonRequestStore:
		return true
	}
	return false
}

// keepsFresh reports whether the stored response m found is fresh and was
// refused only by the client's own directives: what the handler answers is
// that client's, and neither replaces nor rewrites the entry (see
// Options.ClientRefreshReplaces).
func (m *miss) keepsFresh() bool {
	return m.lk.fwd == fwdRequest && !m.rt.c.opts.ClientRefreshReplaces
}

// dropped is told by the capture writer that the response, which was to
// be stored, will not be after all: the waiters need not wait for its end.
// When the client went away (a write to it failed) the fetch is lost to
// the waiters, who elect another leader; else the response is not to be
// shared, and they fetch each for itself.
func (m *miss) dropped(clientGone bool) {
	switch {
	case m.delegated.Load():
	case clientGone:
		m.lead.land(m.rt.c)
	default:
		m.lead.landRefused(m.rt.c)
	}
}

// storableAsGET reports whether a GET's response with status and h would
// be stored, for a HEAD's: what the HEAD counts as (see Stats).
func (m *miss) storableAsGET(status int, h http.Header) bool {
	get := m.req.WithContext(m.req.Context())
	get.Method = http.MethodGet
	return rfc9111.Decide(m.rt.rules, rfc9111.Exchange{
		Req: get, Status: status, Header: h,
		RequestTime: m.requestTime, ResponseTime: m.responseTime,
	}).Store
}

// count counts what became of a client's request the handler was called
// for: a miss when it was answered with a storable response (or with a
// stored one the handler confirmed or failed to replace), else uncacheable.
// A background refresh is not a request, and is not counted.
func (m *miss) count(storable bool) {
	c := m.rt.c
	switch {
	case m.background:
	case storable:
		c.stats.misses.Add(1)
	default:
		c.stats.uncacheable.Add(1)
	}
}

// storeDown says why nothing will be written for this request although
// its response may be stored: the store failed its lookup, or the store's
// circuit is open now. "" when neither.
func (c *Engine) storeDown(lk *lookup) string {
	switch {
	case c.circuit != nil && c.circuit.CircuitOpen():
		return detailCircuitOpen
	case lk.failed:
		return detailStoreError
	}
	return ""
}

// isEventStream reports whether h is the header of a text/event-stream
// response (server-sent events): a stream, never a page to store.
func isEventStream(h http.Header) bool {
	v := h["Content-Type"]
	if len(v) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(v[0], ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// restoreHeader puts h back as the middleware above left it, dropping what
// the handler set for a response the cache kept from the client.
func restoreHeader(h, above http.Header) {
	clear(h)
	maps.Copy(h, above)
}

// firstOnly is v's first value alone (as withValidators sends a validator),
// or v when it has none or one.
func firstOnly(v []string) []string {
	if len(v) > 1 {
		return v[:1]
	}
	return v
}
