package httpcache

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// load reads and decodes the entry under key. A miss, a corrupt entry and a
// failing store all come back as !ok: the request is then served by the
// handler. A corrupt entry is deleted; a store failure marks lk failed.
func (c *Cache) load(ctx context.Context, key string, lk *lookup) (*entry, bool) {
	var (
		v   []byte
		obj any
		err error
	)
	if c.objects != nil {
		v, obj, err = c.objects.GetObject(ctx, key)
	} else {
		v, err = c.store.Get(ctx, key)
	}
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			lk.failed = true
			c.storeError("get", key, err)
		}
		return nil, false
	}
	if e, ok := obj.(*entry); ok {
		return e, true
	}
	e, err := decodeEntry(v)
	if err != nil {
		c.storeError("decode", key, err)
		c.remove(context.WithoutCancel(ctx), key)
		return nil, false
	}
	return e, true
}

// put encodes e and stores it under key for ttl. In-process stores also
// keep the decoded entry, decoded from the very bytes they keep so that the
// two share the body.
func (c *Cache) put(ctx context.Context, key string, e *entry, ttl time.Duration) {
	b := e.encode()
	var err error
	if c.objects != nil {
		var obj *entry
		if obj, err = decodeEntry(b); err == nil {
			if obj.kind == kindIndex {
				obj.memo = &variantMemo{}
			}
			err = c.objects.SetObject(ctx, key, b, obj, ttl)
		}
	} else {
		err = c.store.Set(ctx, key, b, ttl)
	}
	switch {
	case err == nil:
		c.stats.stores.Add(1)
	case errors.Is(err, ErrTooLarge):
		// The store's own limit: not stored, and not a failure.
	default:
		c.storeError("set", key, err)
	}
}

// remove deletes keys, logging (not returning) a failure.
func (c *Cache) remove(ctx context.Context, keys ...string) {
	if err := c.store.Delete(ctx, keys...); err != nil {
		c.storeError("delete", keys[0], err)
	}
}

// storeResponse stores a complete, storable response captured on a miss:
// under the primary key when it has no Vary, else as a variant behind a Vary
// index at the primary key.
func (c *Cache) storeResponse(ctx context.Context, m *miss, cw *captureWriter) {
	if m.lk.failed {
		return // the store just failed this request: don't pile on
	}
	ctx = context.WithoutCancel(ctx)
	d := m.decision
	rt := m.responseTime.UnixNano()
	e := &entry{
		kind:         kindResponse,
		status:       cw.status,
		header:       storedHeader(cw.header, m.above, m.responseTime, cw.body),
		body:         cw.body,
		requestTime:  m.requestTime.UnixNano(),
		responseTime: rt,
		initialAge:   d.initialAge,
		lifetime:     d.lifetime,
		expires:      rt + int64(d.ttl),
		url:          m.lk.material,
	}
	if len(d.varyNames) == 0 {
		c.put(ctx, m.lk.pk, e, d.ttl)
		return
	}
	idx := m.lk.index
	if idx == nil || !slices.Equal(idx.varyNames, d.varyNames) {
		// A new Vary list starts a new epoch: variants stored under an
		// old list can never be reached from the new index.
		idx = &entry{
			kind:         kindIndex,
			responseTime: rt,
			expires:      e.expires,
			url:          m.lk.material,
			varyNames:    d.varyNames,
			epoch:        rand.Uint64(),
		}
		c.put(ctx, m.lk.pk, idx, d.ttl)
	} else if idx.expires < e.expires {
		// The index must outlive every variant it leads to.
		ext := *idx
		ext.expires = e.expires
		c.put(ctx, m.lk.pk, &ext, d.ttl)
	}
	e.epoch = idx.epoch
	e.varyNames = d.varyNames
	e.varyKey = m.rt.vary.AppendKey(nil, d.varyNames, m.req.Header)
	c.put(ctx, variantKey(m.lk.pk, e.epoch, e.varyKey), e, d.ttl)
}

// hopByHop are the fields that describe one connection, not the response
// (RFC 9110 §7.6.1): never stored, as RFC 9111 §3.1 requires.
var hopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// storedHeader is the header as stored: the handler's header without
// hop-by-hop fields (and those Connection names), without Age and
// Cache-Status (recomputed on every hit), without Set-Cookie, and without what
// the middleware above set before the handler ran. It adds a Date when the
// handler sent none (RFC 9110 §6.6.1), the exact Content-Length, and the
// Content-Type net/http would have sniffed, so that HEAD hits get it too.
func storedHeader(h, above http.Header, responseTime time.Time, body []byte) http.Header {
	out := make(http.Header, len(h)+2)
	named := connectionNamed(h)
	for k, v := range h {
		switch {
		case hopByHop[k], named[k], k == "Age", k == "Cache-Status", k == "Set-Cookie":
			continue
		}
		if a, ok := above[k]; ok && sameValues(a, v) {
			continue
		}
		out[k] = v
	}
	if _, ok := out["Date"]; !ok {
		out["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	}
	if _, ok := h["Content-Length"]; ok || len(body) > 0 {
		out["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	_, typed := h["Content-Type"]
	if !typed && len(body) > 0 && len(h["Content-Encoding"]) == 0 {
		out["Content-Type"] = []string{http.DetectContentType(body)}
	}
	return out
}

// connectionNamed returns the fields the Connection header names.
func connectionNamed(h http.Header) map[string]bool {
	lines := h["Connection"]
	if len(lines) == 0 {
		return nil
	}
	named := map[string]bool{}
	for _, line := range lines {
		for line != "" {
			var tok string
			tok, line, _ = cutByte(line, ',')
			if tok = trimOWS(tok); tok != "" {
				named[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return named
}

// sameValues reports whether two header value lists are equal.
func sameValues(a, b []string) bool { return slices.Equal(a, b) }

// storeError logs a store failure, at most once a second per Cache (with a
// count of what was left out), and counts it.
func (c *Cache) storeError(op, key string, err error) {
	c.stats.storeErrors.Add(1)
	if suppressed, ok := c.errLog.allow(c.now()); ok {
		c.log.Warn("httpcache: store operation failed; serving from the handler",
			slog.String("op", op), slog.String("key", key),
			slog.Any("error", err), slog.Uint64("suppressed", suppressed))
	}
}

// rateLimiter lets one event through per second and counts the rest.
type rateLimiter struct {
	last       atomic.Int64 // Unix ns of the last event let through
	suppressed atomic.Uint64
}

func (l *rateLimiter) allow(now time.Time) (suppressed uint64, ok bool) {
	t := now.UnixNano()
	last := l.last.Load()
	if t-last < int64(time.Second) || !l.last.CompareAndSwap(last, t) {
		l.suppressed.Add(1)
		return 0, false
	}
	return l.suppressed.Swap(0), true
}
