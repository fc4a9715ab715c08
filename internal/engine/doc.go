// Package engine is the cache behind package httpcache: the request's state
// machine (bypass, lookup, serving a hit, coalesced fetches and their
// waiters, storing, stale serving and revalidation, refreshes, leases,
// invalidation after unsafe methods) and purges across processes.
//
// It orchestrates the pure packages below it — rfc9111 for what may be
// stored and served, keys for what a request is stored under, header for
// header-field rules, tags for tag sets, store for the driver contract —
// and knows nothing of httpcache's application API: httpcache converts its
// Options and Policy into a Config and RouteConfig and wraps an Engine.
// Nothing here imports httpcache.
package engine
