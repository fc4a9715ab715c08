package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/keys"
)

// LeaseOptions are httpcache.LeaseOptions, which documents each field.
type LeaseOptions struct {
	TTL  time.Duration
	Wait time.Duration
	Poll time.Duration
}

// takeLease takes the fill lease for a fetch about to run. It returns a
// release function to call once the fetch's response is stored (or known
// not to be), or nil when the lease is held elsewhere. A store that fails
// or cannot lease grants the lease: leases only save work.
func (c *Engine) takeLease(ctx context.Context, flightKey string) (release func()) {
	noop := func() {}
	var b [12]byte
	rand.Read(b[:])
	token, name := hex.EncodeToString(b[:]), keys.LeaseName(flightKey)
	got, err := c.leaser.Lease(ctx, name, token, c.opts.Lease.TTL)
	if err != nil {
		c.storeError("lease", name, err)
		return noop
	}
	if !got {
		return nil
	}
	return func() {
		if err := c.leaser.Release(context.WithoutCancel(ctx), name, token); err != nil {
			c.storeError("release", name, err)
		}
	}
}

// awaitLeaseHolder waits, polling the store, for the process holding the
// lease to store its response, and serves it. It reports whether r was
// answered. When the holder gives the lease up without storing anything
// usable (a private response, a failure, a crash once the lease expires),
// this process takes the lease over and returns its release function; when
// the wait runs out, it returns unanswered with none: the caller fetches
// after all.
func (h *handler) awaitLeaseHolder(w http.ResponseWriter, r *http.Request, lk *lookup, flightKey string) (*entry.Entry, func(), bool) {
	c := h.rt.c
	wait := orDefault(c.opts.Lease.Wait, c.opts.Lease.TTL)
	poll := orDefault(c.opts.Lease.Poll, 20*time.Millisecond)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil, nil, true
		case <-timer.C:
			return nil, nil, false
		case <-tick.C:
		}
		if e := h.serveNewer(w, r, lk); e != nil {
			return e, nil, true
		}
		unlease := c.takeLease(r.Context(), flightKey)
		if unlease == nil {
			continue
		}
		// The holder is done. It may have stored its response and let
		// go between the lookup above and the lease: look once more
		// (it stores before it lets go).
		if e := h.serveNewer(w, r, lk); e != nil {
			unlease()
			return e, nil, true
		}
		return nil, unlease, false // it left nothing
	}
}
