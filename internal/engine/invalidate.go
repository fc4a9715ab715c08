package engine

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/keys"
)

// serveOtherMethod serves a request whose method is neither GET nor HEAD.
// Such requests never read or fill the cache. A non-error response to an
// unsafe method (POST, PUT, DELETE, PATCH and any method not known to be
// safe) invalidates what is stored for the target URI, and for the Location
// and Content-Location URIs when they are on the same host (RFC 9111 §4.4).
// Error responses invalidate nothing: otherwise anyone could empty the cache
// with failing POSTs.
func (h *handler) serveOtherMethod(w http.ResponseWriter, r *http.Request, ev *eventRecord) {
	c := h.rt.c
	if c.markBypass(w.Header(), fwdMethod, "", ev) {
		c.stats.otherMethods.Add(1)
	}
	switch r.Method {
	case http.MethodOptions, http.MethodTrace:
		h.next.ServeHTTP(c.passThrough(w, r), r)
		return
	}
	sw := c.passThrough(w, r)
	h.next.ServeHTTP(sw, r)
	status := sw.status
	if status == 0 {
		status = http.StatusOK // net/http's implicit 200
	}
	if status < 200 || status > 399 {
		return
	}
	c.invalidate(context.WithoutCancel(r.Context()), h.rt, r, w.Header())
}

// invalidate deletes the primary keys of the request's URI and of the
// same-host Location and Content-Location URIs in resp. Deleting a primary
// key is enough for URLs with variants too: variants are only reachable
// through the Vary index stored there, and a new index starts a new epoch.
func (c *Engine) invalidate(ctx context.Context, rt *route, r *http.Request, resp http.Header) {
	// Keyed as a purge of the URL is: whatever the spelling of the host
	// in this request, the plain one is the one stored; and under every
	// route's key options, since the GETs of the URL may be cached by a
	// With route with options of its own that this request did not pass.
	routes := c.routes.all()
	base := rt.keys.RequestURL(r)
	pks := c.keysFor(nil, routes, base)
	for _, field := range []string{"Location", "Content-Location"} {
		v := resp.Get(field)
		if v == "" {
			continue
		}
		u, err := base.Parse(v)
		if err != nil || !strings.EqualFold(u.Scheme, base.Scheme) ||
			keys.PlainAuthority(u.Host, base.Scheme) != keys.PlainAuthority(base.Host, base.Scheme) {
			continue // another origin's: not this one's to invalidate
		}
		pks = c.keysFor(pks, routes, u)
	}
	c.stats.invalidated.Add(1)
	c.invalidateKeys(ctx, pks, true)
}

// invalidateKeys deletes keys, counted as under way from before it waits
// (if wait) for this process's writes to them until after the delete (see
// invalidations), and remembers them for retry if the delete fails.
func (c *Engine) invalidateKeys(ctx context.Context, keys []string, wait bool) {
	for _, k := range keys {
		c.invGen.begin(k)
	}
	defer func() {
		for _, k := range keys {
			c.invGen.end(k)
		}
	}()
	if wait {
		c.writes.waitFor(context.Background(), keys, time.Second)
	}
	if err := c.delete(ctx, keys...); err != nil {
		c.storeError("delete", keys[0], err)
		if !c.pending.add(keys) {
			c.log.Error("httpcache: too many failed invalidations to remember; stale entries may be served until they expire",
				slog.Int("limit", maxPendingDeletes))
		}
	}
}

// retryDelete retries a failed invalidation of key, reporting whether the
// key is now clear to use.
func (c *Engine) retryDelete(ctx context.Context, key string) bool {
	if err := c.delete(ctx, key); err != nil {
		c.storeError("delete", key, err)
		return false
	}
	c.pending.done(key)
	return true
}

// maxPendingDeletes bounds the invalidations remembered for retry.
const maxPendingDeletes = 10000

// pendingDeletes remembers invalidations the store failed to carry out, so
// that this process never serves an entry it was told is out of date: a key
// listed here is not served from the store until a retried Delete of it, or
// a store of a new response under it, succeeds. Other processes sharing the
// store do not know of the failure; they are protected once the retry
// succeeds, which happens on the first request for the key after the store
// recovers.
type pendingDeletes struct {
	n    atomic.Int64 // len(keys), read without the lock on every lookup
	mu   sync.Mutex
	keys map[string]struct{}
}

// add remembers keys; it reports false for those it has no room for.
func (p *pendingDeletes) add(keys []string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys = make(map[string]struct{})
	}
	ok := true
	for _, k := range keys {
		if len(p.keys) >= maxPendingDeletes {
			ok = false
			break
		}
		p.keys[k] = struct{}{}
	}
	p.n.Store(int64(len(p.keys)))
	return ok
}

// has reports whether key awaits a retried delete. It costs one atomic load
// when nothing is pending, which is nearly always.
func (p *pendingDeletes) has(key string) bool {
	if p.n.Load() == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.keys[key]
	return ok
}

func (p *pendingDeletes) done(key string) {
	if p.n.Load() == 0 {
		return
	}
	p.mu.Lock()
	delete(p.keys, key)
	p.n.Store(int64(len(p.keys)))
	p.mu.Unlock()
}

// invalidations tracks, in stripes of primary keys, the invalidations this
// Cache makes: how many are under way, and how many have finished. A
// lookup notes its key's finished count before reading the store; what its
// fetch stores is written only if none is under way and none has finished
// since (see writeAll). An invalidation counts
// itself under way before it waits for this process's writes to its keys
// (writeQueue.waitFor) and deletes after them; so a rewrite either saw it
// and was not made, or is deleted by it. Only an invalidation that gave up
// waiting (a write slower than the backstop) can delete first: the rewrite
// then sees it afterwards and is undone as an invalidation is.
//
// The writeQueue counts this process's writes in the same way (runs).
type invalidations struct {
	stripes [256]invalidationStripe
}

type invalidationStripe struct {
	running  atomic.Int64  // under way
	finished atomic.Uint64 // done: deleted, or failed and remembered
}

// stripe picks key's stripe from the last two hex digits of its primary
// key's hash, the "{…}" that ends a primary key and that its variants'
// keys carry: a variant counts with its URL.
func (v *invalidations) stripe(key string) *invalidationStripe {
	n := len(key) - 1 // a primary key ends with its hash tag's brace
	if n < 0 || key[n] != '}' {
		n = strings.LastIndexByte(key, '}')
	}
	if n < 2 {
		return &v.stripes[0]
	}
	return &v.stripes[hexValue[key[n-2]]<<4|hexValue[key[n-1]]]
}

// hexValue is the value of each lower-case hexadecimal digit; 0 for any
// other byte.
var hexValue = func() (t [256]byte) {
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

// load is what a lookup notes: the invalidations of pk's stripe finished.
func (v *invalidations) load(pk string) uint64 { return v.stripe(pk).finished.Load() }

// quiet reports whether no invalidation of pk's stripe is under way and
// none has finished since a lookup noted gen.
func (v *invalidations) quiet(pk string, gen uint64) bool {
	s := v.stripe(pk)
	return s.running.Load() == 0 && s.finished.Load() == gen
}

func (v *invalidations) begin(pk string) { v.stripe(pk).running.Add(1) }

func (v *invalidations) end(pk string) {
	s := v.stripe(pk)
	s.finished.Add(1)
	s.running.Add(-1)
}
