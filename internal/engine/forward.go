package engine

import (
	"bytes"
	"maps"
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// serveCacheable serves a GET or HEAD: from the cache when a stored response
// may be used, else from the handler (conditionally, when a stale response
// can be revalidated), storing what the policy allows. f are r's fields
// (requestFields).
func (h *handler) serveCacheable(w http.ResponseWriter, r *http.Request, f reqFields, outer *miss, ev *eventRecord) {
	rt, c := h.rt, h.rt.c
	if outer != nil && bytes.Equal(rt.keys.AppendMaterial(nil, r), outer.lk.material) {
		// The enclosing layer looked this very key up a moment ago and
		// is fetching it: this layer fetches in its place, leading its
		// flight, under this route's policy.
		h.fetchLed(w, r, outer.lk.clone(), c.now(), outer.lead.take())
		return
	}
	var start time.Time
	if ev != nil {
		start = time.Now()
	}
	var lk lookup
	c.lookupInto(r.Context(), rt, r, &lk)
	if ev != nil {
		ev.ev.Lookup, ev.ev.Key = time.Since(start), lk.pk // before any other layer has ev
		ev.ev.StoreError, lk.ev = lk.err, ev
	}
	now := c.now()
	cd := c.directives(r)
	if e := lk.found; e != nil {
		age := e.Age(now)
		use := e.Freshness().Usable(age, cd)
		if status := c.status.ofHit(use); status != nil {
			c.stats.hits.Add(1)
			if use != rfc9111.UseFresh {
				c.stats.stale.Add(1)
			}
			lk.served(e, age, status[0])
			c.serveHitFields(w, r, f, e, age, status)
			if use == rfc9111.UseStaleRefresh {
				h.refresh(r, lk.flightKey())
			}
			lk.release()
			return
		}
		if cd != (rfc9111.ClientDirectives{}) && e.Usable(now, rfc9111.ClientDirectives{}) == rfc9111.UseFresh {
			lk.fwd = fwdRequest // fresh, but not for what the client asked
		}
	}
	if cd.OnlyIfCached {
		// The 504 is the cache's own: nothing went forward (RFC 9211 §2.2).
		c.stats.misses.Add(1)
		c.markBypass(w.Header(), "", detailOnlyIfCached, lk.ev)
		w.WriteHeader(http.StatusGatewayTimeout) // RFC 9111 §5.2.1.7
		lk.release()
		return
	}
	if f&fieldRange != 0 {
		// A range (Options.RangeRequests) of nothing usable stored: the
		// handler answers it, and a part is not stored.
		c.stats.uncacheable.Add(1)
		v := c.status.forward(lk.fwd, false, detailRange)
		appendStatus(w.Header(), v)
		lk.ev.note(v)
		lk.release()
		h.next.ServeHTTP(c.passThrough(w, r), r)
		return
	}
	h.forward(w, r, lk, now) // counts what comes of it (see Stats)
}

// forward sends a request the cache cannot answer to the handler. Concurrent
// GETs for one key collapse into one handler call: the first that may lead
// (see mayLead) leads, the others wait for its result and are served from
// it when it is storable and fits their request, or else call the handler
// themselves.
//
// When the leader's fetch comes to nothing for reasons of its own request
// (its client went away, its handler call panicked), when a purge reached
// its result, or when it takes longer than Options.LockTimeout, the
// requests that waited on it elect one new leader among themselves and
// wait on that one, rather than each calling the handler. When the
// response itself may not be shared (private, no-store, Set-Cookie, too
// large), they all call the handler at once: electing one after another
// would only queue each behind the previous.
//
// A request about to lead its key's fetch (or one that never leads, such
// as a HEAD) whose URL this process has written to since its lookup, or is
// writing to, looks again once those writes are done before calling the
// handler: the response it is after may have been stored by a fetch it
// could not join — one whose flight was forgotten once its writes landed
// (after this request's lookup had missed them), or one keyed otherwise
// (the fetch began before the URL's Vary index was stored, and this
// request found the index). A response served as stored is then there for
// every request that follows. A request that waited on a flight whose
// result does not fit it fetches at once, for itself.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, lk lookup, now time.Time) {
	c := h.rt.c
	var (
		f       *flight
		key     string
		leader  bool
		again   bool // look again before fetching
		waited  bool // waited on a flight
		retried bool // a purge reached a result this request waited on
	)
	canLead := c.mayLead(r, &lk)
	if r.Method == http.MethodGet {
		// A HEAD response stores nothing to share: it never waits.
		key = lk.flightKey()
		if canLead {
			f, leader = c.flights.lead(key)
		} else {
			f = c.flights.find(key) // may be served from one, never leads
		}
	}
	for f != nil && !leader {
		waited = true
		got, ans := c.await(w, r, h.rt, &lk, f)
		if got == awaitAnswered {
			lk.release()
			return
		}
		if got == awaitRefused || !canLead || got == awaitPurged && retried {
			f = nil // not served from the flight: fetch alone
			break
		}
		if got == awaitPurged {
			// A purge reached the result: every request that waited
			// on it finds so. They collapse into one fetch begun now,
			// in place of f, rather than each calling the handler.
			// The purged response may still be on its way to the
			// store, and the fetch in f's place may have come and gone
			// already (its waiters slower to wake than it to run):
			// this fetch looks again first.
			retried = true
			c.refetch(r.Context(), &lk, ans)
		}
		// The leader was lost, timed out, or its result purged: one of
		// its waiters leads in its place, the others wait on that one.
		// A new leader looks again first: the old one may have stored
		// its response meanwhile.
		if f, leader = c.flights.leadAfter(key, f); leader {
			again = true
			now = c.now() // the fetch begins now, not at the lookup
		}
	}
	if (leader || !waited) && !c.writes.runs.quiet(lk.pk, lk.written) {
		again = true
	}
	if f != nil {
		f.begin(&lk, now)
	}
	if !again {
		h.fetch(w, r, lk, now, f, key)
		return
	}
	lead := &leadership{f: f, key: key, ctx: r.Context()}
	defer lead.land(c) // whatever happens (fetchLed lands it too, once)
	c.writes.waitFor(r.Context(), []string{lk.pk}, time.Second)
	if r.Context().Err() != nil {
		c.stats.misses.Add(1)
		lk.release()
		return // gone: its waiters elect another leader
	}
	if e := h.serveNewer(w, r, &lk); e != nil {
		lead.result, lead.found = e, true
		lk.release()
		return
	}
	h.fetchLed(w, r, lk, now, lead)
}

// mayLead reports whether r may lead its key's fetch: whether what the
// handler answers it could be shared with the requests collapsed into it.
// Only a GET's can; not one whose own Cache-Control says no-store, nor
// one with Authorization (whose response is shared only if it says so,
// which the request cannot know), nor one fetched only because the
// client's directives refused a fresh stored response (served to that
// client alone; see Options.ClientRefreshReplaces). Such a request would
// only make the others wait for nothing and then call the handler each.
func (c *Engine) mayLead(r *http.Request, lk *lookup) bool {
	switch {
	case r.Method != http.MethodGet:
		return false
	case len(r.Header["Authorization"]) > 0:
		return false
	case lk.fwd == fwdRequest && !c.opts.ClientRefreshReplaces:
		return false
	case len(r.Header["Cache-Control"]) > 0 && rfc9111.ParseCacheControl(r.Header["Cache-Control"]).NoStore:
		return false
	}
	return true
}

// serveNewer looks r up again, and serves what another fetch (a lease
// holder, a flight) has stored since lk's lookup, if it is there: fresh,
// and newer than what lk found.
func (h *handler) serveNewer(w http.ResponseWriter, r *http.Request, lk *lookup) *entry.Entry {
	c := h.rt.c
	again := c.lookup(r.Context(), h.rt, r)
	e := again.found
	again.release()
	now := c.now()
	if e == nil || e.Usable(now, c.directives(r)) != rfc9111.UseFresh || (lk.found != nil && e.ResponseTime <= lk.found.ResponseTime) {
		return nil
	}
	c.serveCollapsed(w, r, e, lk, now)
	return e
}

// serveCollapsed serves e, got by another request's fetch, to r: a miss
// that cost no handler call.
func (c *Engine) serveCollapsed(w http.ResponseWriter, r *http.Request, e *entry.Entry, lk *lookup, now time.Time) {
	status := c.status.collapsed(lk.fwd)
	lk.served(e, e.Age(now), status)
	c.serveCollapsedAs(w, r, e, now, []string{status})
}

// serveCollapsedAs is serveCollapsed with the Cache-Status status.
func (c *Engine) serveCollapsedAs(w http.ResponseWriter, r *http.Request, e *entry.Entry, now time.Time, status []string) {
	if countable(w) {
		c.stats.misses.Add(1)
		c.stats.coalesced.Add(1)
	}
	c.serveHit(w, r, e, e.Age(now), status)
}

// flightKey names the fetch of lk's response: the primary key, narrowed to
// the variant when the URL's Vary index is known.
func (lk *lookup) flightKey() string {
	if lk.index == nil {
		return lk.pk
	}
	return lk.pk + "|" + string(lk.varyKey)
}

// awaited is what came of waiting on a flight.
type awaited int

const (
	awaitAnswered awaited = iota // r was answered, or its client went away
	awaitRefused                 // the result does not fit r
	awaitPurged                  // a purge reached the result since its fetch began
	awaitLost                    // the leader's fetch came to nothing for reasons of its own request
	awaitTimeout                 // the leader took longer than Options.LockTimeout
)

// await waits for flight f, bounded by the request's context and by
// Options.LockTimeout, and serves its result if that fits r. When a purge
// reached the result, ans is what the store said (the purge clock, if it
// could be read).
func (c *Engine) await(w http.ResponseWriter, r *http.Request, rt *route, lk *lookup, f *flight) (got awaited, ans purgeAnswer) {
	ticket := f.checks.join()
	var timeout <-chan time.Time
	if d := orDefault(c.opts.LockTimeout, DefaultLockTimeout); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	c.stats.waiting.Add(1)
	select {
	case <-c.flights.wait(f):
		c.stats.waiting.Add(-1)
	case <-r.Context().Done():
		c.stats.waiting.Add(-1)
		c.stats.misses.Add(1)
		return awaitAnswered, ans // the client has gone: there is nobody to answer
	case <-timeout:
		c.stats.waiting.Add(-1)
		return awaitTimeout, ans
	}
	if f.lost {
		if f.cookie && len(r.Header["Cookie"]) > 0 {
			// Refused for its cookie, this request would be as well:
			// it fetches for itself at once rather than lead the
			// others one after another.
			return awaitRefused, ans
		}
		return awaitLost, ans
	}
	if !c.invGen.quiet(lk.pk, f.invGen) {
		// This Cache invalidated the URL while the leader fetched: its
		// response may predate the invalidation.
		return awaitRefused, ans
	}
	got = awaitRefused
	var cd rfc9111.ClientDirectives
	if f.found {
		cd = c.directives(r) // a stored response, not one fetched for the burst
	}
	if e := f.result; e != nil && c.fits(rt, e, lk, r) {
		ok, a := c.notPurged(r.Context(), &f.checks, 0, ticket, lk.pk, e, f.start)
		if now := c.now(); ok && e.Usable(now, cd) == rfc9111.UseFresh {
			c.serveCollapsed(w, r, e, lk, now)
			return awaitAnswered, ans
		}
		if !ok {
			got, ans = awaitPurged, a
		}
	}
	if e := f.stale; e != nil && c.fits(rt, e, lk, r) {
		ok, a := c.notPurged(r.Context(), &f.checks, 1, ticket, lk.pk, e, f.start)
		if ok {
			c.stats.stale.Add(1)
			lk.served(e, e.Age(c.now()), f.status)
			c.serveCollapsedAs(w, r, e, c.now(), []string{f.status})
			return awaitAnswered, ans
		}
		got, ans = awaitPurged, a
	}
	if r.Context().Err() != nil {
		c.stats.misses.Add(1)
		return awaitAnswered, ans // gone while the store was asked
	}
	return got, ans
}

// fits reports whether the response e, fetched for another request, may
// answer r: same URL, the same normalised values for every header e varies
// on, and a content coding r accepts.
func (c *Engine) fits(rt *route, e *entry.Entry, lk *lookup, r *http.Request) bool {
	if !bytes.Equal(e.URL, lk.material) {
		return false
	}
	if len(e.VaryNames) == 0 {
		return true
	}
	return bytes.Equal(rt.vary.AppendKey(nil, e.VaryNames, r.Header), e.VaryKey) && acceptable(e, r)
}

// fetch runs the handler for r, as the leader of flight f when f is not
// nil, and answers and lands the flight with what came of it.
func (h *handler) fetch(w http.ResponseWriter, r *http.Request, lk lookup, now time.Time, f *flight, key string) {
	// The leadership and the first attempt's miss in one allocation.
	lf := &struct {
		lead leadership
		m    miss
	}{lead: leadership{f: f, key: key, ctx: r.Context()}}
	h.fetchFirst(w, r, lk, now, &lf.lead, &lf.m)
}

func (h *handler) fetchLed(w http.ResponseWriter, r *http.Request, lk lookup, now time.Time, lead *leadership) {
	h.fetchFirst(w, r, lk, now, lead, nil)
}

// fetchFirst is fetchLed, its first attempt's miss in first if not nil
// (zero; see fetch).
func (h *handler) fetchFirst(w http.ResponseWriter, r *http.Request, lk lookup, now time.Time, lead *leadership, first *miss) {
	c := h.rt.c
	defer lk.release()
	defer lead.land(c)
	if lead.f != nil && lead.unlease == nil && c.leaser != nil {
		// Leading in this process; maybe another process leads already.
		if unlease := c.takeLease(r.Context(), lead.key); unlease != nil {
			lead.unlease = unlease
		} else if e, unlease, ok := h.awaitLeaseHolder(w, r, &lk, lead.key); ok {
			if e == nil && countable(w) {
				c.stats.misses.Add(1) // gone while waiting
			}
			lead.result, lead.found = e, true
			return
		} else {
			lead.unlease = unlease // taken over from a holder that gave up, or nil
			now = c.now()          // the fetch begins now, after the wait
		}
	}
	stale := lk.found
	for attempt := 0; ; attempt++ {
		m := first
		if m == nil || attempt > 0 {
			m = new(miss)
		}
		m.rt, m.req, m.lk, m.requestTime, m.stale, m.lead, m.background = h.rt, r, lk, now, stale, lead, !countable(w)
		m.staleIfError = stale != nil && stale.MayServeOnError(now)
		m.validated = attempt == 0 && stale != nil && stale.Header.Stored().HasValidators()
		if len(w.Header()) > 0 {
			// Remember what the middleware above us already set (CORS
			// headers, a request ID): that is theirs to set on every
			// request, not part of this response to replay on hits.
			header.Canonicalize(w.Header())
			m.above = maps.Clone(w.Header())
		}
		cw := &m.cw // one allocation for both
		cw.w, cw.hook, cw.limit = w, m, c.opts.MaxBodySize
		cw.now, cw.maxStream = c.now, c.opts.MaxStreamDuration
		if f := lead.f; f != nil {
			// Once requests wait for this response, its client is
			// written to apart from the fetch: a slow one holds
			// neither the handler nor them.
			cw.waiters = &f.checks.joined
		}
		h.run(cw, m)
		switch {
		case m.delegated.Load():
			cw.release()
			return
		case m.notModified:
			e, stored, ok := c.freshen(r.Context(), m, cw.header, lead.onDone(c, m))
			cw.release()
			if !ok {
				restoreHeader(w.Header(), m.above)
				now = c.now()
				continue // the 304 was for another representation: ask again
			}
			if stored {
				lead.writing, lead.result = true, e
			} else {
				lead.landRefused(c)
			}
			c.stats.revalidated.Add(1)
			m.count(true)
			restoreHeader(w.Header(), m.above)
			if sc := cw.header["Set-Cookie"]; len(sc) > 0 {
				w.Header()["Set-Cookie"] = sc // this client's, never stored
			}
			detail := ""
			if stored && m.storeDown != "" {
				stored, detail = false, m.storeDown // renewed for this request alone
			}
			st := c.status.forwardStatus(lk.fwd, http.StatusNotModified, stored, detail)
			lk.ev.note(st)
			c.serveHit(w, r, e, e.Age(c.now()), []string{st})
			return
		case m.failStatus != 0 && !c.stillNotPurged(r.Context(), &lk, stale):
			// A purge finished while the handler ran: the stale response
			// may not stand in for its error.
			cw.release()
			lead.landRefused(c)
			m.count(false)
			restoreHeader(w.Header(), m.above)
			http.Error(w, http.StatusText(m.failStatus), m.failStatus)
			return
		case m.failStatus != 0:
			cw.release()
			if !m.background {
				c.stats.stale.Add(1)
			}
			m.count(true) // a stored response stood in
			st := c.status.forwardStatus(lk.fwd, m.failStatus, false, detailStaleIfError)
			if lead.f != nil {
				lead.f.stale, lead.f.status = stale, st
			}
			restoreHeader(w.Header(), m.above)
			lk.ev.note(st)
			c.serveHit(w, r, stale, stale.Age(c.now()), []string{st})
			return
		}
		if !cw.wroteHeader && !cw.hijacked {
			cw.WriteHeader(http.StatusOK) // what net/http does for a silent handler
		}
		storable := m.decision.Store && cw.complete() && !header.HasTrailers(w.Header())
		if storable {
			if tags, ok := m.tags.List(); !ok {
				// Tagged past the limits after the header went out
				// (Tag called while writing): too late to say so.
				c.tooManyTags(r)
				storable = false
			} else {
				lead.writing = true
				lead.result = c.storeResponse(r.Context(), m, cw, tags, lead.onDone(c, m))
			}
		}
		if !storable && cw.writeErr == nil {
			lead.landRefused(c) // else lost: the client went away
		}
		m.count(storable || m.headStorable || m.keptFresh)
		lead.land(c) // before the client has it all: the waiters need not wait for it
		cw.release()
		return
	}
}
