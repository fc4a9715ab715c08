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
// The stored header's value slices are shared with the entry, not copied:
// they are capped (len == cap) so an append by code further out copies, and
// net/http only reads them. This is what keeps a hit nearly free. The
// caller counts the request: not every response served from an entry is a
// hit (see Stats).
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
		for _, f := range e.Header {
			if slices.Contains(rfc9111.NotModifiedHeaders, f.Name) {
				h[f.Name] = f.Values
			}
		}
		if e.Flags&entry.FlagNoAge == 0 {
			h["Age"] = rfc9111.AgeValue(age)
		}
		h["Cache-Status"] = status
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
// must not have one) and this cache's Cache-Status member.
func writeStoredHeader(h http.Header, e *entry.Entry, age time.Duration, status []string) {
	e.Header.CopyTo(h)
	if e.Flags&entry.FlagNoAge == 0 {
		h["Age"] = rfc9111.AgeValue(age)
	}
	h["Cache-Status"] = status
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
