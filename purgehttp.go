package httpcache

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/tags"
)

// MethodPurge is the request method PurgeHandler answers.
const MethodPurge = "PURGE"

// PurgeHandler returns a handler that takes purges over HTTP, for the user to
// mount: for the PURGE method in front of a proxy, or at a path of its own
// behind http.StripPrefix, so that what follows the prefix is the URL to
// purge (mux.Handle("/_purge/", http.StripPrefix("/_purge", h)) purges
// /articles/42 for "PURGE /_purge/articles/42"):
//
//	PURGE /articles/42 HTTP/1.1            purge that URL (with this request's scheme and host)
//	PURGE http://example.com/a HTTP/1.1    purge that absolute URL
//	PURGE / HTTP/1.1 + Cache-Tag: a, b     purge the tags instead (the header named by Options.TagHeader)
//	Purge-Mode: soft                       mark stale instead of dropping
//
// Every request must carry "Authorization: Bearer <token>"; the token is
// compared in constant time, and without it (or with another) the answer is
// 401 and nothing is purged. Other methods get 405. A request naming more
// than Options.MaxPurgeTags tags gets 400 and purges nothing. A purge the
// store did not record within Options.PurgeTimeout is 503, with the reason
// (this process refuses what it purges meanwhile, and retries it). It
// panics if token is empty: an open purge endpoint lets anyone empty the
// cache.
func (c *Cache) PurgeHandler(token string) http.Handler {
	if token == "" {
		panic("httpcache: PurgeHandler needs a token")
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != MethodPurge {
			w.Header().Set("Allow", MethodPurge)
			http.Error(w, "use the PURGE method", http.StatusMethodNotAllowed)
			return
		}
		if !bearerMatches(r.Header.Get("Authorization"), want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="httpcache purge"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		p := Purge{Soft: strings.EqualFold(r.Header.Get("Purge-Mode"), "soft")}
		if lines := r.Header.Values(c.e.TagHeader()); len(lines) > 0 {
			named := tags.Split(lines)
			if len(named) == 0 {
				http.Error(w, "the "+c.e.TagHeader()+" header names no tags", http.StatusBadRequest)
				return
			}
			p.Tags = named
		} else {
			p.URLs = purgeURLs(r)
		}
		if err := c.Purge(r.Context(), p); err != nil {
			status := http.StatusServiceUnavailable
			if errors.Is(err, ErrInvalidPurge) {
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
		if p.Tags != nil {
			fmt.Fprintf(w, "%s tags %q\n", mode, p.Tags)
		} else {
			fmt.Fprintf(w, "%s URL %s\n", mode, strings.Join(p.URLs, " and "))
		}
	})
}

// purgeURLs are the URLs a PURGE request names: its own target when
// absolute (a proxy request); else its path on its Host, for both http and
// https — a PURGE sent over one must not leave the other cached.
func purgeURLs(r *http.Request) []string {
	if r.URL.IsAbs() {
		return []string{r.URL.String()}
	}
	host := keys.RequestHost(r)
	return []string{"http://" + host + r.URL.RequestURI(), "https://" + host + r.URL.RequestURI()}
}

// bearerMatches reports whether an Authorization header carries the token
// whose SHA-256 digest is want, with the Bearer scheme (whose name is
// case-insensitive, RFC 9110 §11.1). Digests of the same size are compared
// in constant time, so that neither the token's bytes nor its length show
// in how long a refusal takes.
func bearerMatches(header string, want [sha256.Size]byte) bool {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(cred))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
