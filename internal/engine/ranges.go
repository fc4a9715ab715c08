package engine

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/ranges"
)

// serveRange answers a GET with a Range header from e, a stored complete
// response (Config.RangeRequests), and reports whether it did: with a 206
// for a single satisfiable range, a 416 for an unsatisfiable one. It does
// not when e is not a 200, the If-Range precondition fails, or the Range
// is one the whole response answers (several ranges, another unit, a
// syntax error): the caller then serves e whole.
func (c *Engine) serveRange(w http.ResponseWriter, r *http.Request, e *entry.Entry, age time.Duration, status []string) bool {
	if r.Method != http.MethodGet || e.Status != http.StatusOK {
		return false
	}
	if ifr := r.Header["If-Range"]; len(ifr) > 0 {
		s := e.Header.Stored()
		if !ranges.IfRange(ifr, firstValue(s.ETag), firstValue(s.LastModified), firstValue(s.Date), time.Now()) {
			return false
		}
	}
	size := int64(len(e.Body))
	answer, rg := ranges.Parse(r.Header["Range"], size)
	h := w.Header()
	switch answer {
	case ranges.Full:
		return false
	case ranges.Unsatisfiable:
		h["Content-Range"] = []string{ranges.Unsatisfied(size)}
		h["Cache-Status"] = slices.Clone(status) // the response's own
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return true
	}
	writeStoredHeader(h, e, age, status)
	h["Content-Length"] = []string{strconv.FormatInt(rg.Length, 10)}
	h["Content-Range"] = []string{rg.ContentRange(size)}
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(e.Body[rg.Start : rg.Start+rg.Length])
	return true
}

// firstValue is v's first value, or "".
func firstValue(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
