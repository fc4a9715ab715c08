package memcached

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/store"
)

// Advance sets the counter called name (mapped like every key) to the
// larger of floor and its value plus one, a missing counter counting as 0,
// and returns the new value. memcached has no command for that, so Advance
// reads the counter with gets and writes the new value with cas, which
// fails if anyone wrote the counter in between, and then tries again after
// a short random pause; a missing counter is created with add, which never
// overwrites (see the package documentation). The Advance calls of one
// Store on one counter take turns, so that only other processes' writes
// can make a cas fail. The cas or add sets the counter's expiry: with
// ttl > 0 the same as Set gives a value of that ttl (rounded up to whole
// seconds plus one, an absolute time past 30 days), so that each Advance
// renews it; with ttl 0 none, which memcached reads as "never expires". A
// negative ttl is refused with an error wrapping store.ErrInvalidTTL,
// before anything is sent. The counter reads back with Get as plain
// decimal ("42"). A counter holding anything but a decimal integer is an
// error, and is left as it was. Once ctx is done no further attempt
// starts; the counter advanced once or not at all.
func (s *Store) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, fmt.Errorf("memcached: advance with ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	key := s.key(name)
	turn := s.advancing[maphash.String(s.seed, key)%uint64(len(s.advancing))]
	n, err := call(ctx, s.client, advanceArgs{ctx, key, floor, ttl, s.clock, turn}, advance)
	if err != nil {
		return 0, fmt.Errorf("memcached: advance: %w", err)
	}
	return n, nil
}

// advanceTurns is how many turns a Store keeps for Advance. Counters whose
// keys hash alike share one, which costs nothing but a wait: the
// middleware keeps one counter per cache and advances it only on a purge.
const advanceTurns = 16

// advanceAttempts bounds how many times advance reads and writes the
// counter: each attempt after the first follows a write that lost to
// another client's (cas on a changed counter, or add of one created
// meanwhile), and with the Store's calls taking turns only another
// process's write can cause that.
const advanceAttempts = 10

// advanceBackoff is the first window of the pause after a cas lost: a
// pause drawn at random below it, then below twice it, and so on (25.6 ms
// before the last attempt, 51 ms in all at most), so that processes that
// advance one counter at once stop retrying in step.
const advanceBackoff = 100 * time.Microsecond

// advanceArgs are Advance's arguments, for call.
type advanceArgs struct {
	ctx   context.Context
	key   string
	floor int64
	ttl   time.Duration // 0: never expires
	clock func() time.Time
	turn  chan struct{} // holds a token while a call of the Store advances key
}

// expiration returns the expiry to send for the counter: computed at each
// attempt, so that one that waited for its turn, or retried, still gives
// the counter its whole ttl where the expiry is an absolute time.
func (a advanceArgs) expiration() int32 {
	if a.ttl == 0 {
		// gomemcache sends 0 as it is, and memcached reads it as
		// "never expires".
		return 0
	}
	return expiration(a.ttl, a.clock)
}

// advance advances the counter a.key to at least a.floor, as Advance
// describes: one gets and one cas (or add) per attempt, once it has its
// turn. A call that Advance abandoned keeps its turn until it stops, after
// the attempt under way.
func advance(c *memcache.Client, a advanceArgs) (int64, error) {
	select {
	case a.turn <- struct{}{}:
	case <-a.ctx.Done():
		return 0, ctxError(a.ctx)
	}
	defer func() { <-a.turn }()
	conflicts := 0
	for attempt := range advanceAttempts {
		if attempt > 0 && a.ctx.Err() != nil { // Advance has returned
			return 0, ctxError(a.ctx)
		}
		if conflicts > 0 {
			if err := pause(a.ctx, rand.N(advanceBackoff<<(conflicts-1))); err != nil {
				return 0, err
			}
		}
		// The gets may run twice (see again); the add and the cas
		// never do: one whose reply was lost may have been applied.
		it, err := get(c, a.key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			// ErrNotStored means another client created the counter
			// first: advance theirs.
			n := max(a.floor, 1)
			err = c.Add(&memcache.Item{Key: a.key, Value: strconv.AppendInt(nil, n, 10), Expiration: a.expiration()})
			if err == nil {
				return n, nil
			}
			if errors.Is(err, memcache.ErrNotStored) {
				continue
			}
			return 0, timeoutError(err)
		}
		if err != nil {
			return 0, err
		}
		cur, err := parseCounter(it.Value)
		if err != nil {
			return 0, fmt.Errorf("counter %s: %w", a.key, err)
		}
		n := max(cur+1, a.floor)
		// The item keeps its flags and cas id; the value is ours to
		// reuse, since gomemcache reads each into a fresh slice.
		it.Value = strconv.AppendInt(it.Value[:0], n, 10)
		it.Expiration = a.expiration() // replaces the one it had: renewed, or cleared by 0
		err = c.CompareAndSwap(it)
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, memcache.ErrCASConflict): // written meanwhile
			conflicts++
		case errors.Is(err, memcache.ErrCacheMiss), // deleted or evicted meanwhile
			errors.Is(err, memcache.ErrNotStored):
		default:
			return 0, timeoutError(err)
		}
	}
	return 0, fmt.Errorf("counter %s changed under each of %d attempts to advance it", a.key, advanceAttempts)
}

// pause returns nil after d, or an error wrapping ctx.Err() as soon as ctx
// is done.
func pause(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctxError(ctx)
	}
}

// parseCounter returns the value of a counter: a decimal integer, with an
// optional minus sign, that an int64 holds and can add one to. Anything
// else (spaces, a plus sign, a fraction, an exponent) is an error rather
// than a count, so that Advance never overwrites a value it did not write.
func parseCounter(v []byte) (int64, error) {
	if len(v) == 0 || v[0] == '+' {
		return 0, fmt.Errorf("value %.20q is not a decimal integer", v)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("value %.20q is beyond an int64", v)
		}
		return 0, fmt.Errorf("value %.20q is not a decimal integer", v)
	}
	if n == math.MaxInt64 {
		return 0, fmt.Errorf("value %d cannot be advanced within an int64", n)
	}
	return n, nil
}
