package tiered

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// Defaults for the zero values of Options.
const (
	// DefaultL1TTL is 2 s. It is the staleness bound whenever invalidations
	// cannot arrive: with no PubSub, and while a lost subscription is not
	// yet restored. Two seconds is short next to the freshness lifetimes
	// HTTP responses are cached for, and long enough that a hot key costs
	// each instance at most one L2 read every two seconds.
	DefaultL1TTL = 2 * time.Second

	// DefaultChannel is the Redis channel invalidations are published on.
	DefaultChannel = "httpcache:invalidate"

	// DefaultInstanceTTL is 10 s: a heartbeat every 2 s, and L1 in use
	// through up to 8 s without one (a Redis outage, a lost
	// subscription). An instance that ended without Close is waited for
	// by the others' DropLocalCopies for at most that long (and never
	// longer than L1TTL plus the guard's timeout).
	DefaultInstanceTTL = 10 * time.Second
)

// Options configures a Store. The zero value is ready to use: no
// cross-instance invalidation, L1 copies kept for DefaultL1TTL.
type Options struct {
	// L1TTL is the longest an L1 copy lives. Entries are written to L1 for
	// the smaller of their ttl and L1TTL, and fills from L2 for L1TTL.
	// If zero, DefaultL1TTL (2 s).
	L1TTL time.Duration

	// PubSub is the Redis client used to tell other instances about writes
	// and deletes, so that they drop their L1 copies at once, and to hear
	// theirs. It may be the client behind L2 or another one: single node,
	// Sentinel or Cluster. It is never closed by the Store. It also holds
	// the registry of the instances that use their L1, a sorted set named
	// Channel + ":instances", and the acknowledgements of
	// DropLocalCopies, in short-lived sets named Channel + ":acks:" + a
	// random id. With PubSub, an instance uses its L1 only while it is
	// registered, which takes its subscription working: until then (just
	// after New, or while Redis cannot be reached) it reads and writes L2
	// alone. See DropLocalCopies.
	// If nil, there is no cross-instance invalidation: another instance's
	// L1 copy of a key written or deleted here stays until its L1TTL ends,
	// and DropLocalCopies waits that long.
	PubSub goredis.UniversalClient

	// Channel is the Redis channel of invalidations; every instance that
	// shares L2 must use the same one, and the same version of this
	// package (an older one does not register, and would not be waited
	// for). It also names the registry and acknowledgement keys (see
	// PubSub), the only keys the Store writes itself, outside any Cache's
	// httpcache.Options.KeyPrefix. Applications sharing one Redis, each
	// under its own KeyPrefix, may share the channel too: their entries
	// stay apart, but a purge through one also clears the other's L1
	// copies (which it then reads again from L2) and waits for its
	// instances' acknowledgements. A channel each (such as the
	// application's KeyPrefix + "invalidate") keeps those apart as well.
	// If empty, DefaultChannel.
	Channel string

	// InstanceTTL is how long an instance's registration lasts without a
	// heartbeat, with PubSub. Heartbeats come every InstanceTTL/5; an
	// instance stops using its L1 InstanceTTL/5 before its registration
	// ends, and clears it before using it again. If zero,
	// DefaultInstanceTTL (10 s).
	InstanceTTL time.Duration

	// Guard bounds L2's operations with a timeout and a circuit breaker
	// (store.Guard), unless L2 is a store.GuardedStore already.
	// Its Timeout also bounds each publish of an invalidation, each
	// acknowledgement of DropLocalCopies and read of the registry or the
	// acknowledgements. (A heartbeat is bounded by InstanceTTL/5.)
	// The zero value is store.Guard's defaults.
	Guard store.GuardOptions

	// Logger receives subscription and registration changes and
	// malformed invalidation messages. If nil, slog.Default().
	Logger *slog.Logger
}

// Store is an store.Store with a small in-process L1 in front of a
// shared L2. It is safe for concurrent use. Create one with New.
type Store struct {
	l1          *memory.Store
	l2          store.Store    // guarded
	counter     store.Counter  // L2's, through its guard; nil if L2 has none
	tags        store.TagIndex // L2's, through its guard; nil if L2 has none
	leaser      store.Leaser   // L2's, through its guard; nil if L2 has none
	l1TTL       time.Duration
	fence       *fence
	member      *membership // whether L1 may be used now
	log         *slog.Logger
	id          string // this instance, in the messages it publishes and the registry
	pub         goredis.UniversalClient
	channel     string
	pubTimeout  time.Duration
	instanceTTL time.Duration

	closeOnce sync.Once
	stop      func() error  // ends the subscriber and the heartbeat; nil without PubSub
	done      chan struct{} // closed when the subscriber has returned
	hbDone    chan struct{} // closed when the heartbeat has returned

	// Heartbeats (see registry.go): kick asks for one at once, after a
	// subscription is confirmed; beatsSent numbers them; beatsHeard is
	// the latest the subscription delivered, written by the subscriber
	// alone, which then signals beatHeard.
	kick       chan struct{}
	beatsSent  atomic.Uint64
	beatsHeard atomic.Uint64
	beatHeard  chan struct{}

	// Counters for tests: subscriptions confirmed, invalidation messages
	// handled, heartbeats that renewed the registration.
	subscriptions atomic.Int64
	messages      atomic.Int64
	heartbeats    atomic.Int64
	// A test hook run by the subscriber on another instance's "drop all"
	// message before it clears L1 and acknowledges.
	onDropAll atomic.Pointer[func()]
}

var (
	_ store.ObjectStore  = (*Store)(nil)
	_ store.GuardedStore = (*Store)(nil)
	// Not a store.Local: writes go over the network, so the
	// middleware makes them in the background.
)

// New returns a Store that keeps copies in l1 and shares values through l2,
// and, if opts.PubSub is set, starts listening for invalidations and
// registering this instance. It never waits on the network: if Redis is
// down, the subscription and registration are made when it comes back, and
// until then L1 is not used. It panics if l1 or l2 is nil, or
// opts.L1TTL, opts.InstanceTTL or opts.Guard.Timeout is negative.
//
// l1 should be used by this Store alone: the Store clears it when it
// subscribes again after a gap, registers again after a lapse, and
// closes.
func New(l1 *memory.Store, l2 store.Store, opts Options) *Store {
	if l1 == nil || l2 == nil {
		panic("tiered: New called with a nil store")
	}
	if opts.L1TTL < 0 || opts.InstanceTTL < 0 || opts.Guard.Timeout < 0 {
		panic(fmt.Sprintf("tiered: negative L1TTL %v, InstanceTTL %v or Guard.Timeout %v",
			opts.L1TTL, opts.InstanceTTL, opts.Guard.Timeout))
	}
	if store.Probe(l2).Guarded == nil {
		l2 = store.Guard(l2, opts.Guard)
	}
	caps := store.Probe(l2) // the guard's: it reports what L2 has
	s := &Store{
		l1:          l1,
		l2:          l2,
		counter:     caps.Counter,
		tags:        caps.Tags,
		leaser:      caps.Leaser,
		l1TTL:       cmp.Or(opts.L1TTL, DefaultL1TTL),
		fence:       newFence(),
		member:      newMembership(opts.PubSub != nil),
		log:         cmp.Or(opts.Logger, slog.Default()),
		id:          rand.Text(),
		pub:         opts.PubSub,
		channel:     cmp.Or(opts.Channel, DefaultChannel),
		pubTimeout:  cmp.Or(opts.Guard.Timeout, store.DefaultGuardTimeout),
		instanceTTL: cmp.Or(opts.InstanceTTL, DefaultInstanceTTL),
	}
	if s.pub != nil {
		s.subscribe()
	}
	return s
}

// Close stops listening for invalidations and sending heartbeats, waits
// until both have returned, and removes this instance from the registry.
// It never closes l1, l2 or the PubSub client. The Store keeps working
// afterwards: with PubSub, on L2 alone (its L1 cleared and no longer
// used, since no invalidation can reach it); without, as before. Close is
// idempotent.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop == nil {
			return
		}
		// L1 goes out of use before the subscription stops, so that no
		// copy is used that an invalidation could no longer reach, and
		// it is cleared before the registration goes: a read that found
		// L1 in use just before end either read it before the clear, so
		// before any other instance can find this one gone, or finds it
		// empty, and then fills nothing.
		s.member.end()
		s.fence.invalidateAll(s.l1.Clear)
		err = s.stop()
		<-s.done
		<-s.hbDone // no heartbeat can register this instance again
		s.deregister()
	})
	return err
}

// Guarded reports true: the Store bounds its L2 calls itself, and L1 never
// waits or fails.
func (s *Store) Guarded() bool { return true }
