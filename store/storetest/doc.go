// Package storetest is the conformance suite that every store.Store
// passes.
//
// It is an ordinary (non-test) package so that each store's own tests can
// run it:
//
//	func TestConformance(t *testing.T) {
//		clock := newFakeClock()
//		storetest.Run(t, func(t *testing.T) store.Store {
//			return memory.New(memory.Options{Clock: clock.Now})
//		}, storetest.Options{Advance: clock.Advance})
//	}
//
// A store backed by a shared server gives each call of newStore its own key
// space, for example with a key prefix made from t.Name() and a counter, and
// leaves Advance nil so that the TTL cases sleep for real (about 2 s in all
// for a store without counters; counters and tag records are checked during
// the same sleep, and it takes longer to see an Advance renew a counter:
// about 2 s in all, or 5 s with a one-second TTLGranularity).
//
// The suite checks the store alone and imports only package store. That
// purges through the middleware work on the store is checked by package
// github.com/seedcache/httpcache/purgetest, which runs httpcache on it: a
// store's conformance test runs both. It finds a store's optional
// interfaces as the middleware does, with store.Probe: "a store that
// implements" one below is a store Probe finds it on.
//
// # The contract the suite checks
//
//   - A miss is an error wrapping store.ErrNotFound.
//   - Set then Get returns the same bytes, including the empty value, binary
//     values of every byte value, and values of Options.MaxValueSize bytes.
//     Set does not keep the caller's slice.
//   - A value over the store's limit is either stored whole or refused with
//     an error wrapping store.ErrTooLarge; a refused Set stores nothing
//     new (the key keeps its old value, or loses it).
//   - Keys are arbitrary byte strings: long (10 KiB), with spaces, control
//     bytes, NUL, invalid UTF-8 or braces, and keys that differ only after
//     their 250th byte stay distinct.
//   - Delete removes every key it is given; missing keys, and no keys at all,
//     are not an error.
//   - A value lives for at least its ttl and at most ttl plus
//     Options.TTLGranularity; an overwrite replaces the ttl. A ttl <= 0 is
//     refused with an error wrapping store.ErrInvalidTTL and stores
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
//   - A store that implements store.ObjectStore returns the object stored
//     by SetObject with its value, nil for a value stored by Set, drops the
//     object when Set overwrites the value, and expires both together.
//   - A store that implements store.Counter advances a counter to the
//     larger of the floor and its value plus one, a missing counter counting
//     as 0 (Advance(name, floor) stands here for a call with ttl 0):
//     Advance(name, 0) of a name with no value returns 1, then 2, 3…;
//     Advance(name, 100) on 3 returns 100, and Advance(name, 50) on 100
//     returns 101, whatever the ttl. Get of the name returns the value as plain decimal
//     ASCII ("3": no sign, padding, spaces or exponent). Values up to 2^53
//     (and microsecond times, about 2^50) are kept exactly; past 2^53, where
//     double-precision arithmetic (Redis's Lua) stops holding every
//     integer, Advance may return an error, but never a wrong value. Names
//     are arbitrary byte strings, as keys are, and counters of different
//     names are independent. Concurrent Advance calls on one name never
//     return a value twice: with floor 0 they return every value from 1 up
//     exactly once; with mixed floors each returns at least its floor and
//     more than its goroutine's previous call, and the counter ends at the
//     largest value returned. A counter advanced with ttl 0 never expires
//     (checked 400 days on, and past any ttl it had: ttl 0 clears one).
//     One advanced with a ttl > 0 lives at least ttl after that Advance
//     and at most ttl plus Options.TTLGranularity, each Advance renewing it
//     with its own ttl; once it is gone, Get misses and the next
//     Advance(name, 0) returns 1, as after Delete, which removes any
//     counter. A negative ttl is refused with an error wrapping
//     store.ErrInvalidTTL and changes nothing. Called with a done
//     context, Advance returns an error wrapping ctx.Err() (the counter
//     then advanced once or not at all) or does what it does with a live
//     context.
//   - A store that implements store.TagIndex lists for a tag (TaggedKeys)
//     every key that AddTags recorded for it within that record's ttl, that
//     RemoveTags has not removed since and that the store holds a value
//     under, byte for byte as it was passed, and no key never recorded for
//     the tag. The suite stores each key before recording it, as the
//     middleware stores an entry before recording its tags, and never
//     overwrites it afterwards: a store may forget the records of a key it
//     does not hold (never stored, or deleted, expired or evicted since), at
//     any time, as store.TagIndex allows and the Redis store's pruning
//     of its tag sets does, but never those of a key it holds, however many
//     records come and go around them. Keys come in any order and may
//     come more than once: callers treat the list as a set (the middleware
//     deletes the keys, and Delete takes a key twice). An unknown tag lists
//     nothing, without an error. A record lasts at least its ttl and may
//     outlive it, so nothing checks that it goes; a later AddTags of the
//     same tag, for the same key or another, may extend it but never cuts
//     it short. Tags are arbitrary non-empty byte strings (spaces, braces,
//     NUL, invalid UTF-8, 1 KiB), names in the store's key space that the
//     suite keeps apart from its keys (store.TagIndex), and keys are
//     as for Get; AddTags of no tags and RemoveTags of no or unknown tags
//     do nothing and are not errors.
//     RemoveTags forgets every record of the tags given and no others.
//     Called with a done context, AddTags and RemoveTags return nil or an
//     error wrapping ctx.Err() having recorded (or removed) each tag whole
//     or not at all, and TaggedKeys returns such an error or the right keys.
//     Concurrent AddTags, TaggedKeys and RemoveTags are safe, and a
//     goroutine reads its own records of a tag no one else touches.
//
// The suite assumes that the store can hold its small working set (a few
// values of Options.MaxValueSize bytes and a few hundred small ones) without
// evicting it.
package storetest
