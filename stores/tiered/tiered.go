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

	"github.com/seedcache/httpcache"
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
)

// defaultPublishTimeout bounds a publish when Options.Guard.Timeout is
// zero; it is httpcache.GuardOptions' own default timeout.
const defaultPublishTimeout = 50 * time.Millisecond

// Options configures a Store. The zero value is ready to use: no
// cross-instance invalidation, L1 copies kept for DefaultL1TTL.
type Options struct {
	// L1TTL is the longest an L1 copy lives. Entries are written to L1 for
	// the smaller of their ttl and L1TTL, and fills from L2 for L1TTL.
	// If zero, DefaultL1TTL (2 s).
	L1TTL time.Duration

	// PubSub is the Redis client used to tell other instances about writes
	// and deletes, so that they drop their L1 copies at once, and to hear
	// theirs. It may be the client behind L2 or another one. It is never
	// closed by the Store. DropLocalCopies also counts acknowledgements
	// in it, in short-lived keys named Channel + ":ack:" + a random id;
	// that count is exact with a single-node or Sentinel client
	// (*redis.Client) only (see DropLocalCopies).
	// If nil, there is no cross-instance invalidation: another instance's
	// L1 copy of a key written or deleted here stays until its L1TTL ends,
	// and DropLocalCopies waits that long.
	PubSub goredis.UniversalClient

	// Channel is the Redis channel of invalidations; every instance that
	// shares L2 must use the same one. If empty, DefaultChannel.
	Channel string

	// Guard bounds L2's operations with a timeout and a circuit breaker
	// (httpcache.Guard), unless L2 is a httpcache.GuardedStore already.
	// Its Timeout also bounds each publish of an invalidation, each
	// acknowledgement of DropLocalCopies, and L2's counter and tag calls
	// if the guard does not pass them through. The zero value is
	// httpcache.Guard's defaults.
	Guard httpcache.GuardOptions

	// Logger receives subscription changes and malformed invalidation
	// messages. If nil, slog.Default().
	Logger *slog.Logger
}

// Store is an httpcache.Store with a small in-process L1 in front of a
// shared L2. It is safe for concurrent use. Create one with New.
type Store struct {
	l1         *memory.Store
	l2         httpcache.Store // guarded
	counter    optional[httpcache.Counter]
	tags       optional[httpcache.TagIndex]
	l1TTL      time.Duration
	fence      *fence
	log        *slog.Logger
	id         string // this instance, in the messages it publishes
	pub        goredis.UniversalClient
	channel    string
	pubTimeout time.Duration

	closeOnce sync.Once
	stop      func() error  // ends the subscriber; nil without PubSub
	done      chan struct{} // closed when the subscriber has returned

	// The DropLocalCopies calls of this instance waiting for their own
	// message to come back, by message id.
	dropsMu sync.Mutex
	drops   map[string]chan struct{}

	// Counters for tests: subscriptions confirmed, messages handled.
	subscriptions atomic.Int64
	messages      atomic.Int64
	// A test hook run by the subscriber on another instance's "drop all"
	// message before it clears L1 and acknowledges.
	onDropAll atomic.Pointer[func()]
}

var (
	_ httpcache.ObjectStore  = (*Store)(nil)
	_ httpcache.GuardedStore = (*Store)(nil)
	// Not a httpcache.LocalStore: writes go over the network, so the
	// middleware makes them in the background.
)

// New returns a Store that keeps copies in l1 and shares values through l2,
// and starts listening for invalidations if opts.PubSub is set. It never
// waits on the network: if Redis is down, the subscription is made when it
// comes back. It panics if l1 or l2 is nil, or opts.L1TTL or
// opts.Guard.Timeout is negative.
//
// l1 should be used by this Store alone: the Store clears it when it
// (re)subscribes.
func New(l1 *memory.Store, l2 httpcache.Store, opts Options) *Store {
	if l1 == nil || l2 == nil {
		panic("tiered: New called with a nil store")
	}
	if opts.L1TTL < 0 || opts.Guard.Timeout < 0 {
		panic(fmt.Sprintf("tiered: negative L1TTL %v or Guard.Timeout %v", opts.L1TTL, opts.Guard.Timeout))
	}
	given := l2
	if g, ok := l2.(httpcache.GuardedStore); !ok || !g.Guarded() {
		l2 = httpcache.Guard(l2, opts.Guard)
	}
	s := &Store{
		l1:         l1,
		l2:         l2,
		counter:    reach[httpcache.Counter](given, l2),
		tags:       reach[httpcache.TagIndex](given, l2),
		l1TTL:      cmp.Or(opts.L1TTL, DefaultL1TTL),
		fence:      newFence(),
		log:        cmp.Or(opts.Logger, slog.Default()),
		id:         rand.Text(),
		pub:        opts.PubSub,
		channel:    cmp.Or(opts.Channel, DefaultChannel),
		pubTimeout: cmp.Or(opts.Guard.Timeout, defaultPublishTimeout),
	}
	if s.pub != nil {
		s.subscribe()
	}
	return s
}

// Close stops listening for invalidations and waits until the subscriber
// has returned. It never closes l1, l2 or the PubSub client. The Store keeps
// working afterwards, as if it had no PubSub for receiving: its L1 copies
// then last until L1TTL whatever other instances do. Close is idempotent.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stop != nil {
			err = s.stop()
			<-s.done
		}
	})
	return err
}

// Guarded reports true: the Store bounds its L2 calls itself, and L1 never
// waits or fails.
func (s *Store) Guarded() bool { return true }
