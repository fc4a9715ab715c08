// Package httpcache is response-caching middleware for net/http.
//
// A Cache wraps handlers (the standard library's mux, chi, or a reverse
// proxy), derives a key from each GET or HEAD request — method class,
// scheme, host, path and query, plus the request headers the response
// varies on — and stores whole responses in a Store (in memory, Redis or
// Memcached) for as long as the policy allows:
//
//	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
//	http.ListenAndServe(":8080", c.Handler(mux))
//
// or per route, in the spirit of Django's cache_page:
//
//	r.With(c.Page(5 * time.Minute)).Get("/articles", listArticles)
//
// # What is stored
//
// The policy is that of an RFC 9111 shared cache: a response is stored when
// its status is final (any but 206 and 304) and it states its freshness
// (s-maxage, max-age or Expires), or when Policy.Heuristic or Policy.TTL
// supplies one for the statuses the RFC calls heuristically cacheable. Never stored: no-store and private responses,
// no-cache ones without a validator (with one, they are revalidated on every
// use), Vary: *, responses to
// requests with Authorization unless the response says public, or says
// s-maxage or must-revalidate with an explicit lifetime (which no route TTL
// then overrides), responses that set cookies (unless Policy.StripSetCookie),
// text/event-stream, responses still streaming Options.MaxStreamDuration
// after the handler first flushed, hijacked responses, responses whose
// handler panicked or whose write failed, and bodies over
// Options.MaxBodySize. The client
// always receives the whole response either way: the middleware writes
// through as the handler writes, and only keeps a copy.
//
// # What is served
//
// A fresh entry is served with an Age header and a Cache-Status header
// (RFC 9211), and as 304 Not Modified when the request's If-None-Match or
// If-Modified-Since match it. HEAD requests are served from GET entries.
// Methods other than GET and HEAD are passed through, and a successful
// unsafe request (POST, PUT, DELETE, PATCH, …) invalidates the stored
// responses for its URI.
//
// # Stale responses
//
// Concurrent misses for one URL collapse into one handler call. Inside a
// stale-while-revalidate window a stale response is served at once while one
// background request refreshes it; inside a stale-if-error window it
// replaces a 500, 502, 503 or 504 or a panic; a stale response with
// validators is revalidated with a conditional request, and a 304 renews it.
//
// # Purging
//
// Handlers tag responses with Tag or a Cache-Tag header; Cache.Purge drops
// (or, softly, marks stale) responses by URL, key, tag or all at once, in
// every process sharing the store, and PurgeHandler takes purges over HTTP.
// A purge clock read with every entry, and per-tag markers, make purges
// immediate and total even for responses stored after the purge from a
// fetch that began before it.
//
// # Failure
//
// A store that fails never fails a request: the handler serves it, the
// error is counted in Stats and logged (at most once a second).
//
// # Operating it
//
// Cache.Stats gives the counters (hit ratio: Hits/(Hits+Misses)); every
// response carries a Cache-Status saying what happened; Options.OnEvent
// reports each request with its outcome, route, key digest, size, age and
// lookup time, and Options.OnStoreOp each store call — the modules
// github.com/seedcache/httpcache/contrib/prometheus and .../contrib/otel
// turn them into metrics. Cache.DebugHandler serves an operator's page:
// what is stored for a URL, hit ratio by route, purges by hand.
package httpcache
