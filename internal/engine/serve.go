package engine

import (
	"net/http"
	"slices"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// serveHit writes a fresh stored response: its status, header and body, an
// Age and a Cache-Status, or a 304 when the request's validators match. HEAD
// gets the GET entry's header without the body.
//
// The response's value slices are its own (see ownedValues): code further
// out may write into them. The caller counts the request: not every
// response served from an entry is a hit (see Stats).
func (c *Engine) serveHit(w http.ResponseWriter, r *http.Request, e *entry.Entry, age time.Duration, status []string) {
	c.serveHitFields(w, r, requestFields(r.Header), e, age, status)
}

// serveHitFields is serveHit, given r's fields (requestFields).
func (c *Engine) serveHitFields(w http.ResponseWriter, r *http.Request, f reqFields, e *entry.Entry, age time.Duration, status []string) {
	if len(e.Tags) > 0 {
		if m := enclosingMiss(r, c); m != nil {
			m.addTags(e.Tags...) // another Cache stores this response too
		}
	}
	h := w.Header()
	if f&(fieldIfNoneMatch|fieldIfModifiedSince) != 0 && rfc9111.NotModified(r, e.Status, e.Header.Stored(), time.Unix(0, e.ResponseTime)) {
		vals := ownedValues(e, status)
		for _, f := range e.Header {
			if slices.Contains(rfc9111.NotModifiedHeaders, f.Name) {
				h[f.Name] = vals.take(f.Values)
			}
		}
		vals.finish(h, e, age, status)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if f&fieldRange != 0 && c.opts.RangeRequests && c.serveRange(w, r, e, age, status) {
		return
	}
	writeStoredHeader(h, e, age, status)
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead && bodyAllowed(e.Status) && len(e.Body) > 0 {
		// A failed write means the client went away; there is nobody
		// left to tell.
		_, _ = w.Write(e.Body)
	}
}

// writeStoredHeader puts e's stored header into h, with an Age (unless e
// must not have one) and this cache's Cache-Status member, in values of the
// response's own (see ownedValues).
func writeStoredHeader(h http.Header, e *entry.Entry, age time.Duration, status []string) {
	vals := ownedValues(e, status)
	for _, f := range e.Header {
		h[f.Name] = vals.take(f.Values)
	}
	vals.finish(h, e, age, status)
}

// values is room for the values of a response served from an entry: one
// array, so that a response costs one allocation however many fields it
// has. A served response's value slices must be its own: code further out
// may write into one (loc[0] = rewrite(loc[0])), as it may into any
// response's, and that must change neither the entry, which every request
// served from it shares, nor the Age and Cache-Status values every hit
// shares.
type values []string

// ownedValues returns room for e's values, an Age and status.
func ownedValues(e *entry.Entry, status []string) values {
	n := 1 + len(status)
	for i := range e.Header {
		n += len(e.Header[i].Values)
	}
	return make(values, 0, n)
}

// take returns a copy of vv in the room, capped (len == cap) so that an
// append copies again; nil for nil.
func (v *values) take(vv []string) []string {
	if vv == nil {
		return nil
	}
	n := len(*v)
	*v = append(*v, vv...)
	return (*v)[n:len(*v):len(*v)]
}

// finish sets the Age (unless e must not have one) and Cache-Status fields
// of h.
func (v *values) finish(h http.Header, e *entry.Entry, age time.Duration, status []string) {
	if e.Flags&entry.FlagNoAge == 0 {
		*v = append(*v, rfc9111.AgeValue(age))
		n := len(*v)
		h["Age"] = (*v)[n-1 : n : n]
	}
	h["Cache-Status"] = v.take(status)
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
