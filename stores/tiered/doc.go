// Package tiered is an store.Store with a small in-process L1
// (stores/memory) in front of a shared L2 (Redis, Memcached): hot entries
// cost no network round trip, and every instance still shares one cache.
//
// Reads try L1 first. An L1 miss reads L2 and, on a hit, keeps a copy in L1
// for Options.L1TTL. Writes go to L2 and then to L1, deletes to L2 and then
// L1. L2 is guarded (a timeout and a circuit breaker, store.Guard), and
// its failures are returned but never stop L1: during an L2 outage, L1 hits
// are still served (with PubSub in the same Redis, for up to 4/5 of
// Options.InstanceTTL, until the registration described below lapses) and
// L1 misses fail within the guard's timeout.
//
// # Staleness
//
// An L1 copy can fall behind L2 when another instance writes or deletes the
// key. How long it can serve the old value depends on Options.PubSub:
//
//   - With PubSub, each write and delete is published on a Redis channel,
//     and every other instance drops its copies of the keys as soon as the
//     message arrives, one Redis hop after the write. An instance uses its
//     L1 only while it is registered in Redis as listening (see
//     Options.PubSub and Options.InstanceTTL): its heartbeats go round
//     through its own subscription, so one whose subscription is not made
//     yet (just after New, or with Redis down since) reads and writes L2
//     alone, and one whose subscription dies stops using L1 within
//     InstanceTTL. Messages published while an instance's subscription is
//     down (Redis unreachable, the connection being re-established) are
//     lost to it, so until then its copies can be stale for up to L1TTL;
//     and when the subscription is restored, or the instance registers
//     again, L1 is cleared, so that no copy from before the gap outlives
//     it. A copy made while a write that timed out in L2 (and whose
//     invalidation went out) had yet to land there is bounded by L1TTL
//     too.
//   - Without PubSub, other instances keep their copies until L1TTL
//     (DefaultL1TTL, 2 s) has passed since they were made.
//
// Either way, the instance that wrote sees its own write at once, and a
// fill from L2 that races with an invalidation never brings the old value
// back (see the fence type in the source).
//
// Because a Redis GET does not return the remaining ttl, a copy filled from
// L2 lives for L1TTL even if the value expires in L2 sooner: Get can return
// a value up to L1TTL past its ttl. The middleware keeps each entry's own
// freshness in the entry and checks it before serving, so this only delays
// the moment an expired entry is noticed; it never serves one as fresh.
//
// # Purges
//
// Counters (store.Counter) and the tag index (store.TagIndex) are
// L2's: the Store passes them through, and without them in L2 its methods
// fail with errors.ErrUnsupported. A counter reads back with Get like any
// value, so an instance may read it from its L1 copy; the middleware's
// purge sequence changes only in a purge, and the middleware ends every
// purge with DropLocalCopies (store.Replicated), which returns once
// no instance can serve a copy taken before it: with PubSub, as soon as
// every registered instance has acknowledged clearing its L1 (a few
// milliseconds) or stopped being registered; without, after L1TTL. See
// DropLocalCopies for what it guarantees and what it costs, and the
// comment at the top of registry.go for why it holds.
//
// The Store is a store.ObjectStore (decoded entries are kept with L1
// copies) and a store.GuardedStore, but not a store.Local: its
// writes cross the network, so the middleware makes them in the
// background.
package tiered
