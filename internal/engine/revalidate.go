package engine

import (
	"context"
	"net/http"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// withValidators returns a copy of r asking the handler whether e is still
// current: If-None-Match with its ETag, If-Modified-Since with its
// Last-Modified. The client's own conditionals are removed: they are
// evaluated by the cache against whatever it ends up serving. Handlers built
// on http.ServeContent answer such requests with 304 by themselves.
//
// The copy, with context ctx, is r.Clone's, but for the header: built here
// in one map and one array of values (the client's and the validators),
// rather than cloned and then edited. It shares no map or slice with r or e.
func withValidators(r *http.Request, e *entry.Entry, ctx context.Context) *http.Request {
	shallow := *r
	shallow.Header = nil // not cloned only to be replaced
	r2 := shallow.Clone(ctx)
	s := e.Header.Stored()
	etag, lm := s.ETag, s.LastModified
	n := 0
	for _, vv := range r.Header {
		n += len(vv)
	}
	h := make(http.Header, len(r.Header)+2)
	all := make([]string, 0, n+2) // len == cap per field: an append copies
	for name, vv := range r.Header {
		if name == "If-None-Match" || name == "If-Modified-Since" {
			continue
		}
		if vv == nil {
			h[name] = nil
			continue
		}
		all = append(all, vv...)
		h[name] = all[len(all)-len(vv) : len(all) : len(all)]
	}
	if len(etag) > 0 {
		all = append(all, etag[0])
		h["If-None-Match"] = all[len(all)-1 : len(all) : len(all)]
	}
	if len(lm) > 0 {
		all = append(all, lm[0])
		h["If-Modified-Since"] = all[len(all)-1 : len(all) : len(all)]
	}
	r2.Header = h
	return r2
}

// notFreshened are the stored fields a 304 does not replace: the ones that
// describe the stored body, which the 304 did not send (RFC 9111 §3.2), and
// those never stored.
var notFreshened = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Content-Type": true,
	"Content-Range": true, "Transfer-Encoding": true,
	"Age": true, "Cache-Status": true, "Set-Cookie": true,
}

// freshen updates the stale response m.stale with the header of the 304
// the handler answered (RFC 9111 §4.3.4): the 304's fields replace the
// stored ones, freshness is computed anew from the result, and it is stored
// again unless the new header forbids it. It returns the updated entry to
// serve, whether it was stored (and so may be shared with collapsed
// requests), and false when the 304 names another representation (a
// different ETag), which must then be fetched in full.
func (c *Engine) freshen(ctx context.Context, m *miss, h304 http.Header, onDone *writesDone) (e *entry.Entry, stored, ok bool) {
	old := m.stale
	if !rfc9111.Identifies(h304, old.Header.Stored()) {
		return nil, false, false
	}
	merged := make(http.Header, len(old.Header)+4)
	old.Header.CopyTo(merged)
	header.CopyStorable(merged, h304, m.above, notFreshened)
	if len(h304["Date"]) == 0 {
		// The stored Date would make the response look as old as the
		// first fetch: this exchange is its new origin time.
		merged["Date"] = []string{header.FormatHTTPDate(m.responseTime)}
	}
	if age := h304["Age"]; len(age) > 0 {
		merged["Age"] = age // counts for the new freshness, is not stored
	}
	// Decided as for a GET whatever the method: what is stored is the GET
	// response, and a HEAD may revalidate it as well as a GET.
	get := m.req
	if get.Method != http.MethodGet {
		get = get.WithContext(get.Context())
		get.Method = http.MethodGet
	}
	d := rfc9111.Decide(m.rt.rules, rfc9111.Exchange{
		Req:          get,
		Status:       old.Status,
		Header:       merged,
		RequestTime:  m.requestTime,
		ResponseTime: m.responseTime,
	})
	delete(merged, "Age")
	tags := old.Tags
	newTags, tagsOK := m.tags.List()
	if len(newTags) > 0 {
		tags = newTags // the 304 tagged it anew: the new tags win
	}
	if !tagsOK {
		// Tags over the limits: storing it without them would let it
		// survive their purge. Served this once, not stored.
		d.Store = false
	}
	delete(merged, c.opts.TagHeader)
	e = &entry.Entry{Kind: entry.KindResponse, Status: old.Status, Header: entry.HeaderOf(merged), Body: old.Body, Tags: tags}
	if m.keepsFresh() || !d.Store && requestBound(d.Reason) {
		// Revalidated for this client alone (it asked past a fresh
		// entry, or its own cookie or credentials keep the result from
		// the store): the entry stays as it is for everyone else.
		onDone.run()
		e.ResponseTime, e.InitialAge, e.Lifetime = m.responseTime.UnixNano(), d.InitialAge, d.Lifetime
		return e, false, true
	}
	if !d.Store {
		// Current, but no longer storable (the 304 said no-store, say):
		// serve it this once and drop the stored copy: the variant
		// alone, the URL's other variants are not the 304's business.
		key := m.lk.pk
		if len(old.VaryNames) > 0 {
			key = keys.VariantKey(m.lk.pk, old.Epoch, old.VaryKey)
		}
		c.remove(context.WithoutCancel(ctx), key)
		onDone.run()
		e.ResponseTime, e.InitialAge, e.Lifetime = m.responseTime.UnixNano(), d.InitialAge, d.Lifetime
		return e, false, true
	}
	// The variant keeps its place: same Vary list (a 304 does not change
	// what the body varies on), same request values, same index epoch.
	d.VaryNames = old.VaryNames
	if dec := c.storeEntry(ctx, m, e, d, onDone); dec != nil {
		return dec, true, true
	}
	return e, false, true // not stored: served this once
}
