// Package bench holds the comparison harnesses of httpcache: in-process
// benchmarks against other Go caching middleware (peers_test.go) and, in
// cmd/loopback, a loopback HTTP harness that compares a Go origin, the
// example proxy and nginx's proxy_cache with wrk. It is a module of its own
// so that the peers it imports never reach httpcache's go.mod; README.md
// gives the commands.
package bench
