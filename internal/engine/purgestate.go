package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/store"
)

// How purges work, on every store alike.
//
// A purge clock (the "sequence") only grows. Every lookup reads it along
// with the entry, and a fetch stores its response with the value it read
// before the handler ran (entry.seq). A purge of tag t (a URL is a tag too,
// and so is "everything") reads the clock (g), picks m = max(g+1, now in
// microseconds), advances t's marker to at least m (markers are counters
// too, so two purges of one tag racing leave the later one), and only then
// advances the clock to at least m. An entry carrying t that was fetched before the purge
// finished has seq < m and is never served again; one fetched after it has
// seq >= m. Hits that read a clock equal to their entry's seq need no more:
// no purge finished since. Others read their tags' markers (a second round
// trip, once per entry and purge: the result is memoised).
//
// The clock follows time so that losing it (a memcached eviction, a server
// restarting) cannot let a later purge write markers below the seq of
// entries stored before the loss: a missing clock is re-created at the
// current time, past every value it had (for clocks agreeing within the
// time between two purges).
//
// This holds whatever order writes land in: a response fetched before a
// purge and written after it (a slow background write, a command a timed-out
// client left on the wire) carries its old seq, and is refused. Deleting
// entries (the URL's primary key, a TagIndex's keys) only reclaims space.

// marker is a recorded purge of one tag: entries with a lower seq are
// purged. Its value is a purge clock reading, and so a time in Unix
// microseconds (or just above, when purges come faster than microseconds):
// a soft purge makes entries stale from then.
type marker uint64

// unixNano is when the purge happened, for soft purges.
func (m marker) unixNano() int64 { return int64(m) * 1000 }

// Implicit tags: every entry carries its URL's and the "everything" tag.
// They start with a NUL, which user tags cannot contain.
const (
	allTag       = "\x00all"
	urlTagPrefix = "\x00url\x00"
)

func urlTag(pk string) string { return urlTagPrefix + pk }

// purgeTags are the tags whose purge reaches e, read under primary key pk.
func purgeTags(e *entry.Entry, pk string) []string {
	tags := make([]string, 0, len(e.Tags)+2)
	tags = append(tags, allTag, urlTag(pk))
	return append(tags, e.Tags...)
}

// purges records and answers purges: in the store (shared by every process
// using it), or in this process for a local store.
type purges interface {
	// current returns the purge sequence.
	current(ctx context.Context) (uint64, error)
	// marks returns the hard and soft markers of tags (zero: none).
	marks(ctx context.Context, tags []string) (hard, soft []marker, err error)
	// record purges tags as described above, and returns the marker it
	// recorded: entries carrying one of tags with a lower seq are purged.
	record(ctx context.Context, tags []string, soft bool, now time.Time) (marker, error)
}

// localPurges keeps purges in process, for a local store that no other
// process reads. Its clock and markers follow the same rules as the shared
// ones; markers are forgotten once older than maxAge (no entry lives that
// long), so that the maps stay bounded. Every Cache on one store with one
// KeyPrefix shares one (see sharedLocalPurges).
type localPurges struct {
	seq    atomic.Uint64
	maxAge atomic.Int64 // a time.Duration
	mu     sync.RWMutex
	hard   map[string]marker
	soft   map[string]marker
	pruned time.Time
}

// localPurgesKey names the localPurges of a key prefix in a store.Local.
type localPurgesKey struct{ prefix string }

// sharedLocalPurges returns the purge records of the Caches using s
// with prefix, kept in the local store s so that a purge through one Cache
// reaches the others. maxAge is raised to the longest any of those Caches
// needs.
func sharedLocalPurges(s store.Local, prefix string, maxAge time.Duration) *localPurges {
	fresh := func() any { return new(localPurges) }
	l := s.LocalState(localPurgesKey{prefix}, fresh).(*localPurges)
	for {
		old := l.maxAge.Load()
		if int64(maxAge) <= old || l.maxAge.CompareAndSwap(old, int64(maxAge)) {
			return l
		}
	}
}

func (l *localPurges) current(context.Context) (uint64, error) { return l.seq.Load(), nil }

func (l *localPurges) marks(_ context.Context, tags []string) (hard, soft []marker, err error) {
	hard, soft = make([]marker, len(tags)), make([]marker, len(tags))
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i, t := range tags {
		hard[i], soft[i] = l.hard[t], l.soft[t]
	}
	return hard, soft, nil
}

func (l *localPurges) record(_ context.Context, tags []string, soft bool, now time.Time) (marker, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hard == nil {
		l.hard, l.soft = map[string]marker{}, map[string]marker{}
	}
	m := marker(max(l.seq.Load()+1, uint64(now.UnixMicro())))
	into := l.hard
	if soft {
		into = l.soft
	}
	for _, t := range tags {
		into[t] = max(into[t], m)
	}
	l.seq.Store(uint64(m))
	if now.Sub(l.pruned) > time.Duration(l.maxAge.Load())/16 {
		l.prune(now)
	}
	return m, nil
}

// prune forgets markers older than maxAge.
func (l *localPurges) prune(now time.Time) {
	oldest := marker(now.Add(-time.Duration(l.maxAge.Load())).UnixMicro())
	for _, m := range []map[string]marker{l.hard, l.soft} {
		for t, v := range m {
			if v < oldest {
				delete(m, t)
			}
		}
	}
	l.pruned = now
}

// storePurges keeps purges in a shared store with a Counter.
type storePurges struct {
	restarts    singleflight.Group // one restart of a missing clock at a time
	unsupported atomic.Bool        // the Counter turned out not to be one

	store   store.Store   // guarded: for lookups
	counter store.Counter // store's; nil: the store cannot take purges
	// shared is store's, when it keeps copies in each process: markers
	// are read past them (see marks).
	shared store.Replicated
	// admin is the store without the middleware's guard: a purge is not
	// on a request's path, so it is bounded by Options.PurgeTimeout and
	// its caller's context, not by the guard's timeout meant for lookups.
	admin        store.Store
	adminCounter store.Counter
	prefix       string // KeyPrefix + key version
	seqName      string // the clock's key
	ttl          time.Duration
	now          func() time.Time
	log          *slog.Logger
}

// errNoCounter is returned by purges on a shared store without a Counter.
var errNoCounter = errors.New("httpcache: the store has no atomic counter (Counter), so it cannot record purges")

func (s *storePurges) setPrefix(prefix string) {
	s.prefix, s.seqName = prefix, prefix+"purge:seq"
}

// seqKey is the purge clock's key, built once: every lookup reads it.
func (s *storePurges) seqKey() string { return s.seqName }

func (s *storePurges) markerKey(tag string, soft bool) string {
	sum := sha256.Sum256([]byte(tag))
	kind := "h:"
	if soft {
		kind = "s:"
	}
	return s.prefix + "purge:" + kind + hex.EncodeToString(sum[:16])
}

// parseSeq reads a stored purge sequence; a missing one is zero.
func parseSeq(v []byte, err error) (uint64, error) {
	if errors.Is(err, store.ErrNotFound) || (err == nil && v == nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64)
	if perr != nil {
		return 0, fmt.Errorf("%w: purge sequence %q", entry.ErrCorruptEntry, v)
	}
	return n, nil
}

func (s *storePurges) current(ctx context.Context) (uint64, error) {
	if !s.canPurge() {
		return 0, nil // no purges can have been recorded
	}
	v, err := s.store.Get(ctx, s.seqKey())
	return s.seqFrom(ctx, v, err)
}

// seqFrom takes the purge clock from v, as read by Get (err) or with an
// entry (err nil, v nil if missing): dropping it if it cannot be read, and
// re-creating it if it is missing.
func (s *storePurges) seqFrom(ctx context.Context, v []byte, err error) (uint64, error) {
	seq, err := parseSeq(v, err)
	if errors.Is(err, entry.ErrCorruptEntry) {
		err = s.dropCorrupt(ctx, s.store, err)
	}
	if err == nil && seq == 0 {
		return s.restart(ctx)
	}
	return seq, err
}

// dropCorrupt deletes from st a purge clock that cannot be read (err says
// why), so that it is re-created as if lost, at the current time: past
// every value it can have had. Otherwise every lookup would fail on it
// until someone repaired the key by hand. It returns nil once the clock is
// gone.
//
// Lookups that read the garbage at once share one deletion and one log
// line. One that read it earlier and deletes later removes a re-created
// clock: that is harmless, as it is re-created again at the then current
// time, past it too.
func (s *storePurges) dropCorrupt(ctx context.Context, st store.Store, err error) error {
	_, derr, _ := s.restarts.Do("drop", func() (any, error) {
		if derr := st.Delete(ctx, s.seqKey()); derr != nil {
			return nil, derr
		}
		s.log.Warn("httpcache: the purge clock in the store could not be read; re-created it", "error", err)
		return nil, nil
	})
	if derr != nil {
		return errors.Join(err, derr)
	}
	return nil
}

// restart re-creates a missing purge clock at the current time: it was
// never set, or it was lost, and then entries may hold any seq below now.
func (s *storePurges) restart(ctx context.Context) (uint64, error) {
	if !s.canPurge() {
		return 0, nil // no purges can have been recorded
	}
	v, err, _ := s.restarts.Do("", func() (any, error) {
		// A restart here or in another process may have re-created the
		// clock since the caller read it missing: it then stands. Moving
		// it on again would send every entry fetched since through a
		// marker check, and a cold start's burst of lookups would each
		// move it. A value read now is as safe as one read with the
		// entry: it is at least what the clock was then.
		if seq, err := parseSeq(s.store.Get(ctx, s.seqKey())); err == nil && seq != 0 {
			return int64(seq), nil
		}
		return s.counter.Advance(ctx, s.seqKey(), s.now().UnixMicro(), 0)
	})
	if errors.Is(err, errors.ErrUnsupported) {
		s.unsupported.Store(true) // a composite store whose back end has none
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return uint64(v.(int64)), nil
}

// canPurge reports whether purges can be recorded in the store.
func (s *storePurges) canPurge() bool { return s.counter != nil && !s.unsupported.Load() }

// marks is called after the clock was read, and must see every marker
// advanced before the clock reached the value read: a check is taken, and
// memoised, as good up to that value. With copies in each process
// (stores/tiered) a marker's copy can lag an advance another process made
// while the clock is read afresh (its copy expired, or was never made),
// and the memo of that check would outlive the copies, which
// DropLocalCopies clears before the purge returns. So markers are read
// from the shared store alone there: once per entry and purge (the memo).
func (s *storePurges) marks(ctx context.Context, tags []string) (hard, soft []marker, err error) {
	keys := make([]string, 0, 2*len(tags))
	for _, t := range tags {
		keys = append(keys, s.markerKey(t, false), s.markerKey(t, true))
	}
	var vals [][]byte
	if s.shared != nil {
		vals, err = getEach(ctx, s.shared.GetShared, keys)
	} else {
		vals, err = getAll(ctx, s.store, keys)
	}
	if err != nil {
		return nil, nil, err
	}
	hard, soft = make([]marker, len(tags)), make([]marker, len(tags))
	for i := range tags {
		for j, into := range [][]marker{hard, soft} {
			if v := vals[2*i+j]; v != nil {
				n, err := parseSeq(v, nil)
				if err != nil {
					// Unreadable: assume the worst, a purge just now.
					n = uint64(^marker(0) >> 1)
				}
				into[i] = marker(n)
			}
		}
	}
	return hard, soft, nil
}

// purgeCalls is how many store calls of one kind (marker advances, tag
// reclaims) a purge makes at a time.
const purgeCalls = 8

// inParallel calls fn for each item, purgeCalls at a time if parallel and
// there is more than one (a goroutine costs more than the call on a local
// store), and returns the first error once all calls have returned.
func inParallel(parallel bool, items []string, fn func(string) error) error {
	if !parallel || len(items) == 1 {
		var first error
		for _, it := range items {
			if err := fn(it); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	var eg errgroup.Group
	eg.SetLimit(purgeCalls)
	for _, it := range items {
		eg.Go(func() error { return fn(it) })
	}
	return eg.Wait()
}

func (s *storePurges) record(ctx context.Context, tags []string, soft bool, now time.Time) (marker, error) {
	if !s.canPurge() {
		return 0, errNoCounter
	}
	g, err := parseSeq(s.admin.Get(ctx, s.seqKey()))
	if errors.Is(err, entry.ErrCorruptEntry) {
		err = s.dropCorrupt(ctx, s.admin, err) // then g = 0: m is now
	}
	if err != nil {
		return 0, err
	}
	m := int64(max(g+1, uint64(now.UnixMicro())))
	// The markers are independent of each other: they are advanced in
	// parallel (a purge of many tags or URLs costs a few round trips, not
	// one per tag), and all of them before the clock.
	err = inParallel(true, tags, func(t string) error {
		_, err := s.adminCounter.Advance(ctx, s.markerKey(t, soft), m, s.ttl)
		return err
	})
	if err == nil {
		_, err = s.adminCounter.Advance(ctx, s.seqKey(), m, 0)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		s.unsupported.Store(true) // a composite store whose back end has none
		return 0, errNoCounter
	}
	if err != nil {
		return 0, err
	}
	return marker(m), nil
}

// getAll reads keys in one round trip when the store can, else one by one.
// A missing key gives a nil value.
func getAll(ctx context.Context, s store.Store, keys []string) ([][]byte, error) {
	if m := store.Probe(s).Multi; m != nil {
		return m.GetMulti(ctx, keys...)
	}
	return getEach(ctx, s.Get, keys)
}

// getEach reads keys one by one with get. A missing key gives a nil value.
func getEach(ctx context.Context, get func(context.Context, string) ([]byte, error), keys []string) ([][]byte, error) {
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := get(ctx, k)
		switch {
		case err == nil:
			vals[i] = v
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return vals, nil
}

// maxCheckMemo bounds the memo of entries found not purged.
const maxCheckMemo = 10000

// checkMemo remembers, per stored key, the purge sequence up to which its
// entry was found not purged, so that each entry costs the marker round
// trip once per purge, not on every hit.
type checkMemo struct{ cache *lru.Cache[string, checked] }

type checked struct {
	responseTime int64  // which entry was checked: a key stored anew is
	entrySeq     uint64 // checked anew
	seq          uint64 // no purge up to this sequence reaches it
	soft         int64  // soft-purged at (Unix ns), or 0
}

func (m *checkMemo) init() {
	c, err := lru.New[string, checked](maxCheckMemo)
	if err != nil {
		panic("httpcache: " + err.Error())
	}
	m.cache = c
}
