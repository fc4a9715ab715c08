package engine

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/seedcache/httpcache/internal/header"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/ranges"
	"github.com/seedcache/httpcache/internal/rfc9111"
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
	if ifr := r.Header["If-Range"]; len(ifr) > 0 && !ranges.IfRange(ifr, e.Header, strictDate) {
		return false
	}
	size := int64(len(e.Body))
	answer, rg := ranges.Parse(r.Header["Range"], size)
	h := w.Header()
	switch answer {
	case ranges.Full:
		return false
	case ranges.Unsatisfiable:
		h["Content-Range"] = []string{ranges.Unsatisfied(size)}
		h["Cache-Status"] = status
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return true
	}
	for name, v := range e.Header {
		h[name] = v
	}
	h["Content-Length"] = []string{strconv.FormatInt(rg.Length, 10)}
	h["Content-Range"] = []string{rg.ContentRange(size)}
	if e.Flags&entry.FlagNoAge == 0 {
		h["Age"] = rfc9111.AgeValue(age)
	}
	h["Cache-Status"] = status
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(e.Body[rg.Start : rg.Start+rg.Length])
	return true
}

// strictDate reads an HTTP-date as every other date the cache reads
// (header.ParseHTTPDate): a date that is not one of RFC 9110's three forms
// makes If-Range fail, and the whole response is sent.
func strictDate(s string) (time.Time, error) {
	t, ok := header.ParseHTTPDate(s, time.Now())
	if !ok {
		return time.Time{}, errNotADate
	}
	return t, nil
}

var errNotADate = errors.New("not an HTTP-date")
