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
		writeStoredFields(h, e, age, status, rfc9111.NotModifiedHeaders)
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
	writeStoredFields(h, e, age, status, nil)
}

// writeStoredFields is writeStoredHeader for e's fields named in only, or
// all of them if only is nil. A field without values (a suppressed Date)
// is set without values, as the handler set it.
func writeStoredFields(h http.Header, e *entry.Entry, age time.Duration, status, only []string) {
	all, k := ownedValues(e, status), 0
	for i := range e.Header {
		f := &e.Header[i]
		if only != nil && !slices.Contains(only, f.Name) {
			continue
		}
		if f.Values == nil {
			h[f.Name] = nil
			continue
		}
		start := k
		for _, v := range f.Values {
			all[k] = v
			k++
		}
		h[f.Name] = all[start:k:k]
	}
	finishHeader(h, e, age, status, all[k:])
}

// ownedValues returns room for the values of a response served from e:
// e's values, an Age and the Cache-Status members, in one array, so that a
// response costs one allocation however many fields it has. A served
// response's value slices must be its own: code further out may write into
// one (loc[0] = rewrite(loc[0])), as it may into any response's, and that
// must change neither the entry, which every request served from it
// shares, nor the Age and Cache-Status values every hit shares.
func ownedValues(e *entry.Entry, status []string) []string {
	n := 1 + len(status)
	for i := range e.Header {
		n += len(e.Header[i].Values)
	}
	return make([]string, n)
}

// finishHeader sets the Age (unless e must not have one) and Cache-Status
// fields of h, their values in room (see ownedValues).
func finishHeader(h http.Header, e *entry.Entry, age time.Duration, status, room []string) {
	if e.Flags&entry.FlagNoAge == 0 {
		room[0] = rfc9111.AgeValue(age)
		h["Age"] = room[0:1:1]
	}
	n := copy(room[1:], status)
	h["Cache-Status"] = room[1 : 1+n : 1+n]
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
