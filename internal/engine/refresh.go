package engine

import (
	"context"
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/rfc9111"
)

// defaultRefreshTimeout bounds a background refresh when
// Options.RefreshTimeout is zero.
const defaultRefreshTimeout = 30 * time.Second

// refresh fetches r's response again in the background, to replace the stale
// one just served under stale-while-revalidate: one refresh per key at a time
// (it leads the key's flight, so concurrent misses wait for it too), on a
// context detached from r's client and bounded by Options.RefreshTimeout,
// revalidating when the stale response has validators. An error or a panic
// in the handler keeps the stale response; a panic is logged, not raised,
// since no server is there to recover it.
func (h *handler) refresh(r *http.Request, key string) {
	c := h.rt.c
	f, leader := c.flights.lead(key)
	if !leader {
		return // a fetch of this key is under way already
	}
	r2 := r.Clone(context.WithoutCancel(r.Context()))
	// The client's conditionals, directives and range are its own, not
	// the refresh's: a refresh with the Range of the request served stale
	// (Options.RangeRequests) would get a part, never stored, or a 416,
	// which would then answer every request.
	for _, name := range []string{"If-None-Match", "If-Modified-Since", "Cache-Control", "Pragma", "Range", "If-Range"} {
		delete(r2.Header, name)
	}
	// What is refreshed is the GET response, whichever request found it
	// stale.
	r2.Method = http.MethodGet
	purged := c.purgesDone.Load()
	work := c.background.add() // Cache.Wait waits for refreshes too
	go func() {
		defer c.background.done(work)
		lead := &leadership{f: f, key: key}
		defer func() {
			if v := recover(); v != nil {
				c.log.Error("httpcache: panic in a background refresh; the stale response stays",
					"panic", v, "url", r2.URL.String())
			}
		}()
		defer lead.land(c) // whatever happens, the waiters are woken
		ctx, cancel := context.WithTimeout(r2.Context(), orDefault(c.opts.RefreshTimeout, defaultRefreshTimeout))
		defer cancel()
		r3 := r2.WithContext(ctx)
		lk := c.lookup(ctx, h.rt, r3)
		now := c.now()
		f.begin(&lk, now)
		f.start.purged = purged // counted before the lookup
		if e := lk.found; e != nil && e.Usable(now, rfc9111.ClientDirectives{}) == rfc9111.UseFresh {
			lead.result, lead.found = e, true // refreshed by another process meanwhile
			lk.release()
			return
		}
		h.fetchLed(&discard{h: http.Header{}}, r3, lk, now, lead)
	}()
}

// discard is the ResponseWriter of a background refresh: nobody reads it.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
