// Package redis is an store.Store on a go-redis client: a single node,
// a Sentinel-managed master (failover client), a Ring or a Redis Cluster.
//
// # Keys and values
//
// A value is stored as a Redis string under Options.KeyPrefix followed by
// the cache key, with SET key value PX ttl. The ttl is sent in whole
// milliseconds, rounded up: a value lives at least its ttl, and a ttl under
// a millisecond becomes 1 ms rather than 0, which Redis would refuse. A ttl
// <= 0 is refused with store.ErrInvalidTTL before any command is sent,
// since a SET without an expiry would keep the value forever. Values over
// Options.MaxValueSize are refused with an error wrapping
// store.ErrTooLarge, also before anything is sent.
//
// # Multi-key commands and Redis Cluster
//
// Delete and GetMulti never send a multi-key command whose keys hash to
// different slots, which a Cluster rejects with CROSSSLOT. On a
// *goredis.ClusterClient they group the keys by hash slot (CRC16 of the
// key's hash tag, as the Cluster specification defines it) and send one DEL
// or MGET per slot, all in one pipeline: one round trip to each node
// involved. On a *goredis.Ring, which picks a shard by a key's hash tag (or
// the whole key), they group keys by hash tag instead, the grouping that is
// correct for any sharding that honours hash tags; other clients that are
// not a *goredis.Client are treated the same way. A single-node or failover
// *goredis.Client gets one command. Keys that share a hash tag, as the
// middleware's GetMulti keys do, always make one command on one node.
// KeyPrefix should therefore contain no "{", or it takes the place of the
// keys' own hash tags.
//
// # Leases
//
// The store is an store.Leaser, for the middleware's optional
// cross-process fill lease (Options.Lease): before filling a key that other
// processes sharing the Redis may be filling too, the middleware takes a
// lease on it, so that one process runs the handler while the others wait
// for its result. Lease sends SET name token NX PX ttl (name under
// Options.KeyPrefix, like every key; ttl rounded up to a whole millisecond
// and refused when <= 0, before anything is sent); Release deletes the
// lease only if token still holds it, with a Lua script that compares and
// deletes in one step (EVALSHA, falling back to EVAL). Each touches one
// key, so both work on a Cluster, a Ring and a single node alike.
//
// A lease is only a hint, never a lock that correctness depends on: it
// expires by itself after its ttl, so a holder that crashed, hung or lost
// its connection before Release blocks nobody for longer than that, and a
// holder slower than its ttl may find that another process has taken the
// lease meanwhile (its Release then leaves the new holder's lease alone).
// Lease names share the keyspace with cache keys, so the caller keeps them
// apart.
//
// # Counters and tag sets
//
// The store is an store.Counter, in which the middleware keeps its
// purge clock (with ttl 0) and its per-tag purge markers (with a ttl):
// Advance runs a Lua script on the counter's one key under
// Options.KeyPrefix (EVALSHA, falling back to EVAL) that reads it, a
// missing one as 0, and SETs it to the larger of the floor and its value
// plus one, as a decimal integer that Get reads back ("42"): with PX and
// the ttl in whole milliseconds, rounded up, for a ttl > 0, so that each
// Advance renews the expiry; without PX for ttl 0, which leaves the
// counter without one (clearing any it had). A negative ttl is refused
// with store.ErrInvalidTTL before anything is sent. Lua's numbers are doubles, exact for integers up to 2^53
// (MaxCounter), which microsecond times stay below until the year 2255:
// Advance refuses a floor beyond it, and a counter at it or beyond, rather
// than count wrong. The script writes the value with string.format('%d'),
// since Lua's own conversion of a number to a string keeps 14 significant
// digits ("1.795e+15").
//
// It is an store.TagIndex too, with one Redis set per tag, named
// KeyPrefix + the tag, whose members are the keys recorded for the tag as
// the caller passed them (the prefix is in the set's name already). A tag
// is a name in the keyspace, as lease and counter names are, so that the
// caller's namespace covers its sets: the middleware names each tag under
// its own httpcache.Options.KeyPrefix, as that prefix + "v1:tag:{" + the
// first 128 bits of SHA-256 of the tag in hex + "}". It hashes the tag
// because tags may hold braces, which would end the Cluster hash tag early
// and pile families of tags ("{t}a", "{t}b") onto one slot; the hash
// spreads the sets evenly and keeps their names short and printable. Like
// lease names, set names share the keyspace with cache keys, which the
// middleware's keys never collide with. Every tag command touches one key,
// so none is ever a cross-slot command:
//
//   - AddTags sends, for each tag, PEXPIRE set ms GT, SADD set key,
//     PEXPIRE set ms NX and PEXPIRE set ms GT again, all in one pipeline
//     (on a Cluster, one per node involved). A set thus gets its first
//     expiry from NX, since GT never sets one on a set that has none (Redis
//     compares a missing expiry as an infinite one), and later calls only
//     extend it: a set lives as long as the longest ttl recorded in it, so
//     it expires with, or after, the entries it lists, and no record is cut
//     short by a later shorter one. The first GT extends a set that exists
//     before the SADD adds to it, so that it cannot expire between the two;
//     the last one covers another AddTags's NX landing first with a shorter
//     ttl. Only two such calls interleaving inside a pipeline that the server
//     reads in several parts, the other's ttl shorter than that gap, can
//     still lose a record: the middleware never depends on one (its purge
//     markers keep purged entries from being served; the index only
//     reclaims their space at once). A set left without an expiry, by a
//     connection lost between the SADD and the PEXPIRE NX, gets one from
//     the next AddTags of its tag.
//   - PEXPIRE NX and GT need Redis 7.0. An older server refuses them after
//     running the SADD, so AddTags then sends a plain PEXPIRE to each set it
//     added to, leaving none without an expiry, and returns an error: sets
//     there expire with the latest ttl given, which may cut older records
//     short.
//   - A set that is written all the time never expires, and would keep
//     every key ever recorded in it: a key stored again without the tag,
//     deleted, expired or evicted stays a member. So every
//     Options.TagPruneInterval-th AddTags call (32 by default) prunes one
//     of its tags' sets, the tags taking turns: its pipeline also sends
//     SRANDMEMBER set 100, then AddTags checks those members' keys with
//     one EXISTS each (single-key commands in one pipeline: the keys live
//     in other slots than the set, and go-redis splits the pipeline by
//     node on a Cluster or Ring) and removes the missing ones with one
//     SREM. Those it finds stored again when it checks them once more
//     after the SREM (a fill that stored and recorded the key in between)
//     it adds back. The work is bounded (100 members; one more round
//     trip, or three or four when it removes some; on one call in 32) and
//     stops when the call's context ends; its failures are not AddTags's. Pruning only forgets records
//     of keys the store no longer holds, which store.TagIndex allows.
//   - TaggedKeys sends SMEMBERS, RemoveTags one UNLINK per group of sets
//     that may share one (as Delete groups its DELs). UNLINK frees a large
//     set in the background rather than holding up the server.
//
// # Contexts
//
// go-redis ignores a context's deadline and cancellation during socket
// reads and writes unless the client was built with ContextTimeoutEnabled
// (see go-redis's baseClient.context); without it a call on a hung server
// blocks for the client's ReadTimeout (5 s by default), and even with it a
// cancellation goes unnoticed until the deadline. The store returns an
// error wrapping ctx.Err() as soon as the context is done all the same, by
// running each call whose context can end in a goroutine of its own,
// except when the context has a deadline and the client honours it
// (ContextTimeoutEnabled): then the call runs directly, and a cancellation
// before the deadline is noticed at the deadline. Build the client with
// ContextTimeoutEnabled: true where latency matters: the hand-off between
// goroutines adds latency on a busy machine (see BenchmarkGuard).
//
// A goroutine left behind by a call whose context ended finishes within
// the client's own timeouts (about its ReadTimeout for a server that
// stopped answering). Only goroutines that hold a connection can linger,
// because go-redis stops waiting for a pooled connection, dialling and
// retrying when the context ends, so there are at most as many as the
// client has connections. Set copies the value before handing it to such a
// goroutine, so the caller's slice is never read after Set returns.
//
// # Failures and logging
//
// go-redis checks an idle connection before reusing it and drops one the
// server closed, so a Redis restart costs no failed call. Its dialling does
// retry, though: 5 attempts 100 ms apart by default, so a Redis that is
// down (refusing connections) holds each call until the middleware's
// deadline, which then looks like a Redis that hangs. Build the client
// with DialerRetries: 1 and a refused connection fails the call at once;
// the middleware's circuit breaker does the retrying (see
// store.GuardOptions).
//
// go-redis logs some failures itself (a dial that failed, pool warnings),
// to standard error by default, through a logger that is process-wide.
// NewLogger adapts a *slog.Logger to it, for the application to set with
// redis.SetLogger; the store never sets it.
//
// # What the store never does
//
// It never closes the client, which stays the caller's; never stores
// anything without a ttl except the counters that Advance keeps with ttl
// 0, which store.Counter requires to live for ever (the middleware
// keeps one per cache); never scans or flushes the keyspace (pruning reads
// random members of one tag set); and never starts a goroutine that
// outlives the client's timeouts.
package redis
