package main

import (
	"crypto/subtle"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/seedcache/httpcache"
)

// newApp returns the demo application with cache in front of it;
// purgeToken guards the admin routes, which are not served at all when it
// is empty.
func newApp(cache *httpcache.Cache, purgeToken string) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(cache.Handler) // site-wide cache, under Options.Policy

	// Site-wide policy: no Cache-Control here, so the 10 s site TTL applies.
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Home", "Cached site-wide for 10 seconds (heuristic TTL).")
	})

	// cache_page: this route keeps its response for a minute even though
	// the response itself says max-age=5 (Django's semantics).
	// It is tagged "articles", so publishing can purge it (and every
	// other page showing articles) at once.
	r.With(cache.Page(time.Minute)).Get("/articles", func(w http.ResponseWriter, r *http.Request) {
		httpcache.Tag(r, "articles")
		w.Header().Set("Cache-Control", "public, max-age=5")
		page(w, "Articles", "Kept for 60 seconds by cache.Page, whatever max-age says; purged by tag on publish.")
	})

	// Vary: the page is negotiated on Accept-Language (the best-ranked
	// language it is written in), so each ranking of those languages is a
	// stored variant of its own (see Options.Languages in main.go).
	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=30")
		w.Header().Set("Vary", "Accept-Language")
		lang := negotiate(r.Header.Get("Accept-Language"))
		// The page shows what was negotiated, never the header itself:
		// requests that rank the languages alike share this response.
		page(w, greetings[lang], "Negotiated from your Accept-Language: "+lang+".")
	})

	// Private: personal pages are never stored.
	r.Get("/account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		page(w, "Your account", "Cache-Control: private — never stored by a shared cache.")
	})

	// A response that sets a cookie is not stored by default: storing it
	// would hand this visitor's session to the next.
	r.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: fmt.Sprint(time.Now().UnixNano()), HttpOnly: true, Path: "/"})
		w.Header().Set("Cache-Control", "max-age=60")
		page(w, "Logged in", "Set-Cookie — not stored.")
	})

	// Revalidation for free: http.ServeContent answers the cache's
	// conditional requests with 304, so once the 10 s are up the cache
	// asks "still this?" instead of fetching the file again. Up to a
	// minute past that, a stale copy is served at once while one
	// background request refreshes it, and for an hour it stands in for
	// errors.
	r.Get("/report.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60, stale-if-error=3600")
		w.Header().Set("Etag", `"report-v1"`)
		http.ServeContent(w, r, "report.txt", reportModTime, strings.NewReader(report))
	})

	// POST invalidates the stored /articles (RFC 9111 §4.4).
	r.Post("/articles", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})

	// chi routes only the methods it knows: registered either way, so
	// that PURGE /admin/purge without a token is a 404 like the rest.
	chi.RegisterMethod(httpcache.MethodPurge)
	if purgeToken == "" {
		return r // no token, no way to purge: there is no default token
	}
	// Admin: publishing purges every page tagged "articles", in every
	// process sharing the store; /admin/purge takes PURGE requests (a URL,
	// or tags in a Cache-Tag header). Both want the bearer token.
	r.Group(func(r chi.Router) {
		r.Use(bearer(purgeToken))
		r.Post("/admin/publish", func(w http.ResponseWriter, r *http.Request) {
			if err := cache.PurgeTags(r.Context(), "articles"); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "published; pages tagged \"articles\" purged")
		})
	})
	r.Method(httpcache.MethodPurge, "/admin/purge", cache.PurgeHandler(purgeToken))
	return r
}

// bearer admits requests with "Authorization: Bearer token".
func bearer(token string) func(http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

var reportModTime = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

const report = "Quarterly report: all systems nominal.\n"

// page writes a small HTML page stamped with when it was generated, so
// cached copies are easy to tell apart.
func page(w http.ResponseWriter, title, note string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	title, note = html.EscapeString(title), html.EscapeString(note)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p><p>Generated at %s.</p>\n",
		title, title, note, time.Now().UTC().Format(time.RFC3339Nano))
}

// languages are the languages /hello is written in, the first the default;
// greetings, what it says in each.
var (
	languages = []string{"en", "fr", "de", "es"}
	greetings = map[string]string{"en": "Hello", "fr": "Bonjour", "de": "Hallo", "es": "Hola"}
)

// negotiate picks the language of languages that the Accept-Language value
// accept ranks highest (RFC 4647 lookup: the first among equal q values, a
// range such as "fr-CA" matching its language "fr", q=0 never), or the
// default.
func negotiate(accept string) string {
	best, bestQ := languages[0], 0.0
	for _, item := range strings.Split(accept, ",") {
		rng, params, _ := strings.Cut(strings.TrimSpace(item), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(rng)), "-")
		if q > bestQ && slices.Contains(languages, primary) {
			best, bestQ = primary, q
		}
	}
	return best
}
