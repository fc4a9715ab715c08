// Package memcached is an store.Store on a gomemcache client, so that a
// pool of memcached servers can hold the cache.
//
// The store takes a *memcache.Client built by the caller (memcache.New with
// one or more servers, or memcache.NewFromSelector) and never closes it; it
// only drops its idle connections when a server turns out to have closed
// them (see Connections).
//
// # Keys
//
// Store keys are arbitrary byte strings; memcached keys are at most 250
// bytes with no spaces or control bytes. A key that is already legal and
// short enough is sent readable, as Options.KeyPrefix + "k:" + key. Any
// other key is sent as KeyPrefix + "h:" + the unpadded base64url SHA-256 of
// the key (43 bytes). The byte after the prefix tells the two forms apart,
// so a readable key can never equal a hashed one, even a readable key that
// starts with "h:"; two keys of one form collide only if SHA-256 does.
// Stores that share servers are kept apart by prefixes of which neither
// starts with the other.
//
// # Values
//
// memcached refuses an item whose key, value and per-item header together
// exceed its item size limit (its -I option, 1 MiB by default). The store
// checks this before sending anything: a value for which
//
//	len(mapped key) + len(value) + ItemOverhead > Options.MaxItemSize
//
// is refused with an error wrapping store.ErrTooLarge. It refuses such
// values rather than splitting them into chunks across several items:
// memcached evicts and expires each item on its own and has no transaction
// across items, so a chunked value could be read with a chunk missing or
// with chunks from two different writes, and every read would need a
// multi-get and checks to detect that. The middleware treats ErrTooLarge
// as "not stored", so an oversized response is simply served uncached.
// Should a server still refuse an item as too large (its -I is below
// MaxItemSize), that error wraps ErrTooLarge too.
//
// # Expiry
//
// memcached keeps time in whole seconds on a clock that ticks once a
// second, and an item set with an expiry of n seconds is gone at the n-th
// tick, which may come anywhere from n-1 to n seconds after the set. So
// that a value lives at least its ttl, as store.Store promises, the
// ttl is rounded up to whole seconds and one second is added: a 1 ms or
// 1 s ttl is sent as 2 and the value lives between 1 and 2 seconds. A ttl
// <= 0 is refused with store.ErrInvalidTTL before any command is sent.
// memcached reads an expiry over 30 days (2 592 000 s) as an absolute Unix
// time, so longer ttls are sent as Options.Clock() + ttl in Unix seconds
// (rounded up, plus the same second), clamped to the largest 32-bit time
// (January 2038); such expiries depend on the client's clock agreeing with
// the servers' to within a second or two.
//
// # Reads and deletes
//
// GetMulti is one client.GetMulti: one "gets" command, and so one round
// trip, to each server that any of the keys maps to, all servers asked in
// parallel (so two keys cost one round trip of latency either way).
// memcached has no multi-key delete, so Delete sends one "delete" per key,
// several at a time: at most the client's MaxIdleConns (2 by default) at
// once, so that a delete of many keys overlaps its round trips without
// making gomemcache dial connections beyond its idle pool and close them
// again (a TCP handshake each, and sockets left in TIME_WAIT). The keys the
// middleware deletes together are few (a URL and its Location), so more
// concurrency would buy nothing.
//
// # Counters, and no tag index
//
// The store is an store.Counter, in which the middleware keeps its
// purge clock. memcached has no command that sets a number to the larger
// of two, so Advance reads the counter with gets and writes the next value
// with cas, which the server refuses if anyone wrote the counter since the
// gets; it then reads it again, after a random pause that doubles each
// time (at most ten attempts, 51 ms of pauses in all, then an error). A
// missing counter is created with add; add never overwrites, so when
// several clients create a counter at once one add wins and the others
// advance it from there. The add or cas carries the counter's expiry: for
// a ttl > 0 the one Set would send for it (see Expiry), so that each
// Advance renews it and memcached drops it once it has passed, and for ttl
// 0 none (expiry 0, which memcached reads as "never expires"), which also
// clears one the counter had. The middleware keeps its purge clock in a
// counter with ttl 0 and its per-tag purge markers in counters with a ttl.
// Advance calls of one Store on a counter take turns, so a cas only ever
// loses to another process, and a call costs two round trips. The value is
// always written whole as plain decimal ("42"), which Get reads back as it
// is (memcached's incr and decr would rewrite a number in place, padded
// with spaces when it gets shorter). A counter, with or without an expiry,
// can still be evicted for space, like any item, and is lost with its
// server: the middleware reads its purge clock on every lookup, which keeps
// it at the busy end of memcached's LRU, and since every purge advances the
// counter to at least the current time, a counter lost with its server is
// re-created past every value it had.
//
// The store is not an store.TagIndex: memcached has no sets, and a tag
// index kept in plain items (a read-modify-write of a key list per tag)
// would lose records under concurrent writes and split across items as it
// grew. The middleware then relies on its purge markers alone, as it is
// designed to: purged entries are never served, and their space is
// reclaimed when they expire or are evicted rather than at once.
//
// # Connections
//
// gomemcache keeps up to MaxIdleConns idle connections per server and
// reuses them without checking them first. When a server restarts, every
// connection kept to it is dead, and each would fail one call in turn with
// EOF or a broken pipe: a pool of 64 is 64 failed calls, which the
// middleware's circuit breaker would take for the store being down. So a
// read, a Set or a Delete that fails on a connection the server closed
// (EOF, connection reset, broken pipe) drops all the client's idle
// connections, with Client.Close (which closes only those, and leaves the
// client usable), and runs once more on a new connection; only that second
// failure is returned. Advance repeats its gets the same way, not its cas
// or add, whose reply alone may have been lost. Caching thus resumes with
// the first call after a restart, whatever the pool size. Dropping the idle
// connections to every server of a pool costs one dial each on the next
// calls; a server that is really down fails the new connection too.
//
// # Contexts
//
// gomemcache takes no context: its own Client.Timeout (500 ms by default)
// bounds each step of a call (dialling, and waiting for each line of the
// reply). The middleware instead bounds each store call with a context
// deadline and relies on the store returning promptly once it passes. So
// every method returns an error wrapping ctx.Err() at once, without sending
// anything, when ctx is already done. When the client's own timeouts end a
// call before ctx's deadline (three Client.Timeout periods: dial, write,
// read), it runs on the caller's goroutine: set Client.Timeout to a little
// under a third of the middleware's Guard.Timeout (160 ms for the default
// 500 ms, as the example programs do) and no call pays for a goroutine.
// A call that fails because one of the client's timeouts passed returns an
// error that says so (a net.Error whose Timeout method reports true, or,
// for a dial, one wrapping os.ErrDeadlineExceeded), which the middleware's
// guard counts as a timeout rather than as the store refusing.
// Otherwise, when ctx can be done later, it runs the client call in a
// goroutine of its own and returns an error
// wrapping ctx.Err() as soon as ctx is done. The goroutine left behind
// finishes on its own within the client's timeouts: about one Timeout after
// a server stops answering, at once when it refuses connections. Until
// then it holds its connection (a Delete of several keys also holds up to
// MaxIdleConns workers), so a server that hangs costs one goroutine per
// call for a Timeout each, until the middleware's circuit breaker stops
// calling the store. Set copies the value before handing it to such a
// goroutine, so that the caller's slice is never read after Set returns. A
// context that can never be done (context.Background) costs no goroutine.
package memcached
