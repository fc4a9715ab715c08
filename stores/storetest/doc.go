// Package storetest is the conformance suite that every httpcache.Store
// passes.
//
// It is an ordinary (non-test) package so that each store's own tests can
// run it:
//
//	func TestConformance(t *testing.T) {
//		clock := newFakeClock()
//		storetest.Run(t, func(t *testing.T) httpcache.Store {
//			return memory.New(memory.Options{Clock: clock.Now})
//		}, storetest.Options{Advance: clock.Advance})
//	}
//
// A store backed by a shared server gives each call of newStore its own key
// space, for example with a key prefix made from t.Name() and a counter, and
// leaves Advance nil so that the TTL cases sleep for real (about 2 s in all).
//
// # The contract the suite checks
//
//   - A miss is an error wrapping httpcache.ErrNotFound.
//   - Set then Get returns the same bytes, including the empty value, binary
//     values of every byte value, and values of Options.MaxValueSize bytes.
//     Set does not keep the caller's slice.
//   - A value over the store's limit is either stored whole or refused with
//     an error wrapping httpcache.ErrTooLarge; a refused Set stores nothing
//     new (the key keeps its old value, or loses it).
//   - Keys are arbitrary byte strings: long (10 KiB), with spaces, control
//     bytes, NUL, invalid UTF-8 or braces, and keys that differ only after
//     their 250th byte stay distinct.
//   - Delete removes every key it is given; missing keys, and no keys at all,
//     are not an error.
//   - A value lives for at least its ttl and at most ttl plus
//     Options.TTLGranularity; an overwrite replaces the ttl. A ttl <= 0 is
//     refused with an error wrapping httpcache.ErrInvalidTTL and stores
//     nothing. Long ttls (over 30 days, which memcached reads as absolute
//     Unix times) mean what they say.
//   - Called with a context that is already done, Get, Set and Delete return
//     within seconds either an error for which errors.Is(err, ctx.Err())
//     holds, or exactly what they return with a live context. When they
//     return the context's error, Set and Delete may or may not have taken
//     effect, but never partly: the key holds its old value, the new one, or
//     (for Delete) nothing. They never return another error and never hang.
//   - Concurrent Set, Get and Delete are safe (run the suite under -race),
//     and every Get returns one whole value written to that key, never a mix.
//     A goroutine reads its own writes on keys no one else writes.
//   - A store that implements httpcache.ObjectStore returns the object stored
//     by SetObject with its value, nil for a value stored by Set, drops the
//     object when Set overwrites the value, and expires both together.
//
// The suite assumes that the store can hold its small working set (a few
// values of Options.MaxValueSize bytes and a few hundred small ones) without
// evicting it.
package storetest
