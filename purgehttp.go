package httpcache

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MethodPurge is the request method PurgeHandler answers.
const MethodPurge = "PURGE"

// PurgeHandler returns a handler that takes purges over HTTP, for the user to
// mount (at a path of its own, or for the PURGE method in front of a proxy):
//
//	PURGE /articles/42 HTTP/1.1            purge that URL (with this request's scheme and host)
//	PURGE http://example.com/a HTTP/1.1    purge that absolute URL
//	PURGE / HTTP/1.1 + Cache-Tag: a, b     purge the tags instead (the header named by Options.TagHeader)
//	Purge-Mode: soft                       mark stale instead of dropping
//
// Every request must carry "Authorization: Bearer <token>"; the token is
// compared in constant time, and without it (or with another) the answer is
// 401 and nothing is purged. Other methods get 405. A purge that fails is
// 503, with the reason. It panics if token is empty: an open purge endpoint
// lets anyone empty the cache.
func (c *Cache) PurgeHandler(token string) http.Handler {
	if token == "" {
		panic("httpcache: PurgeHandler needs a token")
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != MethodPurge {
			w.Header().Set("Allow", MethodPurge)
			http.Error(w, "use the PURGE method", http.StatusMethodNotAllowed)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="httpcache purge"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		p := Purge{Soft: strings.EqualFold(r.Header.Get("Purge-Mode"), "soft")}
		var tagLines tagSet
		tagLines.parseHeader(r.Header.Values(c.opts.TagHeader))
		what := ""
		if len(tagLines.tags) > 0 {
			p.Tags = tagLines.tags
			what = fmt.Sprintf("tags %q", p.Tags)
		} else {
			target := c.site.absoluteURL(r)
			p.URLs = []string{target}
			what = "URL " + target
		}
		if err := c.Purge(r.Context(), p); err != nil {
			status := http.StatusServiceUnavailable
			var bad badPurge
			if errors.As(err, &bad) {
				status = http.StatusBadRequest
			}
			http.Error(w, err.Error(), status)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		mode := "purged"
		if p.Soft {
			mode = "soft-purged"
		}
		fmt.Fprintf(w, "%s %s\n", mode, what)
	})
}

// absoluteURL is the URL a request names: its own when absolute (a proxy
// request), else built from its scheme, as the keys see it, and Host.
func (rt *route) absoluteURL(r *http.Request) string {
	if r.URL.IsAbs() {
		return r.URL.String()
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return rt.keys.scheme(r) + "://" + host + r.URL.RequestURI()
}
