package httpcache

import (
	"net/http"
	"strconv"
	"time"
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
func (c *Cache) serveHit(w http.ResponseWriter, r *http.Request, e *entry, age time.Duration, status []string) {
	if len(e.tags) > 0 {
		if m := enclosingMiss(r, c); m != nil {
			m.addTags(e.tags...) // another Cache stores this response too
		}
	}
	h := w.Header()
	if notModified(r, e) {
		for _, name := range notModifiedHeaders {
			if v, ok := e.header[name]; ok {
				h[name] = v
			}
		}
		if e.flags&flagNoAge == 0 {
			h["Age"] = ageValue(age)
		}
		h["Cache-Status"] = status
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for name, v := range e.header {
		h[name] = v
	}
	if e.flags&flagNoAge == 0 {
		h["Age"] = ageValue(age)
	}
	h["Cache-Status"] = status
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && bodyAllowed(e.status) && len(e.body) > 0 {
		// A failed write means the client went away; there is nobody
		// left to tell.
		_, _ = w.Write(e.body)
	}
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// smallAges holds ready-made Age values for the first ten minutes, so that
// most hits allocate none. Read-only and capped.
var smallAges = func() [][]string {
	a := make([][]string, 600)
	for i := range a {
		a[i] = []string{strconv.Itoa(i)}[:1:1]
	}
	return a
}()

// ageValue formats an Age header value: whole seconds, rounded down, at most
// 2^31 (RFC 9111 §5.1).
func ageValue(age time.Duration) []string {
	secs := int64(age / time.Second)
	switch {
	case secs < 0:
		secs = 0
	case secs > maxDelta:
		secs = maxDelta
	}
	if secs < int64(len(smallAges)) {
		return smallAges[secs]
	}
	return []string{strconv.FormatInt(secs, 10)}
}
