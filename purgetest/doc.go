// Package purgetest checks that purges through the httpcache middleware
// work on a store: the part of a store's conformance that needs the
// middleware itself, and so lives beside it rather than in
// store/storetest, which imports only the store contract.
//
// A store's conformance test runs it after storetest.Run, with the same
// newStore:
//
//	func TestConformance(t *testing.T) {
//		newStore := func(t *testing.T) store.Store { return memory.New(memory.Options{}) }
//		storetest.Run(t, newStore, storetest.Options{})
//		t.Run("Purge", func(t *testing.T) { purgetest.Run(t, newStore) })
//	}
//
// # The contract the cases check
//
// Purges work through the middleware on the store: two httpcache.Caches
// sharing one store (as two processes share a server) store and serve each
// other's responses, and once Purge returns through one of them the other
// serves nothing purged — by a tag given in the tag header or with
// httpcache.Tag, by URL (every Vary variant, GET and HEAD), or everything —
// and nothing else is purged; a soft purge makes stale-while-revalidate
// serve the old response once while one refresh replaces it; an entry
// stored again with other tags answers to its new tags only; and a
// response fetched before a purge and stored after it is never served. A
// local store shares the middleware's purge records between Caches through
// store.Local (its LocalState). A shared store
// without store.Counter cannot record purges, and the cases skip.
//
// The cases use what the middleware uses — Get, Set, Delete, and Counter,
// TagIndex, MultiGetter and Replicated where the store has them — so a
// store that passes storetest and these can carry purges.
package purgetest
