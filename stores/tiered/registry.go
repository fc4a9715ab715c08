package tiered

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The instance registry
//
// DropLocalCopies has to know every instance that may serve an L1 copy, so
// that it can wait for each of them. PUBLISH's count of receivers cannot
// tell it: an instance whose subscription is down, not made yet, or dead
// without anyone noticing is not counted, and would go on serving its
// copies. So the instances say it themselves, in a registry every instance
// can read, and an instance that is not in it does not use its L1.
//
// The registry is one sorted set in the PubSub Redis, named Channel +
// ":instances" (one key, so one slot in a Redis Cluster): member an
// instance's id, score the end of its registration, in microseconds on the
// Redis server's clock. Every InstanceTTL/5 an instance sends a heartbeat:
// it publishes a beat on a channel of its own (Channel + ":beat:" + id)
// that only its own subscription hears, waits for its subscription to
// deliver it, and then runs registerScript, which sets its score to the
// server's time plus InstanceTTL. The beat makes the registry say "this
// instance is listening", not merely "this instance can reach Redis": a
// subscription that has died, or whose messages this Store no longer
// reads, stops the heartbeats. Close removes the member.
//
// An instance uses its L1 — reads it, fills it, writes it — only until
// sent + InstanceTTL - InstanceTTL/5 on its own monotonic clock, where sent
// is when its last successful heartbeat began (membership.usable). Outside
// that time it reads and writes L2 alone. When it comes back after any
// moment of not using L1 (its first registration included), it clears L1
// under the fence before using it again (membership.renewed).
//
// Why that is enough. Let DropLocalCopies begin at c, and read the
// registry at a moment q >= c (a Redis time). Take any other instance B.
//
//   - B's score at q is at most q: B is left out. Every heartbeat of B that
//     reached Redis before q ended its registration by q; one that B sent
//     at sent and Redis ran at r >= sent ended at r + InstanceTTL <= q, and
//     B stopped using L1 at sent + InstanceTTL - InstanceTTL/5, before q.
//     (A heartbeat that B saw succeed before q reached Redis before q.) So
//     B was not using L1 at q; if it uses L1 again, it first clears it,
//     after q, and fills begun before that clear cannot land after it (the
//     fence). No copy of B's taken before c is served after q.
//   - B is in the registry at q. DropLocalCopies then waits until B has
//     acknowledged (it cleared its L1 under the fence after the message
//     arrived, so after c), or B's score is found to be past at a later
//     read (the first case, at that read), or every copy taken before c
//     has expired anyway (settle), whichever comes first. That last wait
//     needs no InstanceTTL added to it: a copy lives at most L1TTL whether
//     its instance stays registered or not, and an instance that comes
//     back to L1 clears it first.
//
// The argument compares B's own clock only with itself, and Redis's clock
// only with itself: instances' clocks need not agree. The InstanceTTL/5 B
// gives up before its registration ends covers a gap between B's check of
// its membership and its read of L1 (a preempted goroutine, a GC pause),
// and its clock running slow against Redis's, by up to 25%. It assumes that
// the Redis server's clock does not jump forward by more than that, and
// that the registry stays on one server (a failover to a replica that had
// not yet received the latest heartbeats would drop them, and brings
// another clock; see also fence on L2's linearizability).

// registerScript sets ARGV[1]'s registration in the registry KEYS[1] to
// end ARGV[2] microseconds from now on the server's clock, forgets
// registrations that have ended, and keeps the key (a second longer than)
// as long as the longest registration in it. TIME before writes needs
// Redis 5 (effects replication).
var registerScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local keep = math.ceil((tonumber(last[2]) - now) / 1000) + 1000
if redis.call('PTTL', KEYS[1]) < keep then
	redis.call('PEXPIRE', KEYS[1], keep)
end
return 1`)

// liveScript returns the instances whose registration in KEYS[1] has not
// ended on the server's clock. Scores are whole microseconds, so "after
// now" is "at least now + 1".
var liveScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZRANGEBYSCORE', KEYS[1], now + 1, '+inf')`)

// registryKey is the sorted set of registered instances.
func (s *Store) registryKey() string { return s.channel + ":instances" }

// beatChannel is the channel of this instance's heartbeats: its own
// subscription alone hears them.
func (s *Store) beatChannel() string { return s.channel + ":beat:" + s.id }

// heartbeatPeriod is how often an instance renews its registration, and
// the time it gives up using L1 before its registration ends.
func (s *Store) heartbeatPeriod() time.Duration { return s.instanceTTL / 5 }

// Special values of membership.until: always without PubSub (L1 is always
// used), ended after Close (never again).
const (
	always = math.MaxInt64
	ended  = -1
)

// membership says whether this instance may use its L1 (see the comment
// at the top of this file).
type membership struct {
	// now is a monotonic clock, in nanoseconds from some origin.
	now func() int64
	// until is the time of now until which L1 may be used: always without
	// PubSub, 0 before the first registration, ended after Close. The
	// heartbeat goroutine renews it, and Close ends it.
	until atomic.Int64
}

func newMembership(pubsub bool) *membership {
	start := time.Now()
	m := &membership{now: func() int64 { return int64(time.Since(start)) }}
	if !pubsub {
		m.until.Store(always)
	}
	return m
}

// usable reports whether L1 may be used now.
func (m *membership) usable() bool {
	u := m.until.Load()
	return u == always || m.now() < u
}

// renewed records a registration that lasts valid from sent, a time of now
// taken before the heartbeat that made it began. If L1 has gone unused at
// any moment since the last one (or there was none), it first runs clear,
// which must empty L1 under the fence, and reports true. It is called once
// the heartbeat is known to have succeeded, so that now() here is later
// than the moment Redis renewed the registration: if L1 was in use then,
// the registration had not ended either, and its renewal leaves no moment
// at which another instance could have found it ended.
func (m *membership) renewed(sent, valid int64, clear func()) (cleared bool) {
	u := m.until.Load()
	if u == ended {
		return false
	}
	if m.now() >= u {
		clear()
		cleared = true
	}
	// Fails only if end came meanwhile, which must stay.
	m.until.CompareAndSwap(u, max(u, sent+valid))
	return cleared
}

// end stops the use of L1 for good: later renewals change nothing.
func (m *membership) end() { m.until.Store(ended) }

// heartbeat renews this instance's registration every heartbeatPeriod,
// and at once whenever the subscription is (re)confirmed, until ctx ends.
// Nothing is sent before the first confirmation: a beat could not come
// back.
func (s *Store) heartbeat(ctx context.Context) {
	defer close(s.hbDone)
	period := s.heartbeatPeriod()
	t := time.NewTimer(period)
	t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
		err := s.beat(ctx, period)
		t.Reset(period)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			s.log.Warn("tiered: cannot renew this instance's registration; unless a later heartbeat succeeds, it stops using L1 and reads L2 alone",
				slog.String("registry", s.registryKey()), slog.Any("error", err))
		case err == nil && failing:
			failing = false
			s.log.Info("tiered: renewed this instance's registration", slog.String("registry", s.registryKey()))
		}
	}
}

// beat makes one heartbeat, within timeout.
func (s *Store) beat(ctx context.Context, timeout time.Duration) error {
	sent := s.member.now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n := s.beatsSent.Add(1)
	if err := s.pub.Publish(ctx, s.beatChannel(), strconv.FormatUint(n, 10)).Err(); err != nil {
		return err
	}
	if !s.waitBeat(ctx, n) {
		return fmt.Errorf("tiered: this instance's subscription did not deliver its heartbeat within %v", timeout)
	}
	if err := registerScript.Run(ctx, s.pub, []string{s.registryKey()}, s.id, s.instanceTTL.Microseconds()).Err(); err != nil {
		return err
	}
	valid := int64(s.instanceTTL - s.heartbeatPeriod())
	if s.member.renewed(sent, valid, func() { s.fence.invalidateAll(s.l1.Clear) }) {
		s.log.Debug("tiered: registered; L1 cleared and in use", slog.String("registry", s.registryKey()))
	}
	s.heartbeats.Add(1)
	return nil
}

// waitBeat waits until the subscription has delivered beat n, or ctx
// ends.
func (s *Store) waitBeat(ctx context.Context, n uint64) bool {
	for s.beatsHeard.Load() < n {
		select {
		case <-s.beatHeard:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// receiveBeat notes a beat delivered by the subscription.
func (s *Store) receiveBeat(payload string) {
	n, err := strconv.ParseUint(payload, 10, 64)
	if err != nil {
		s.log.Warn("tiered: malformed message on this instance's heartbeat channel",
			slog.String("channel", s.beatChannel()), slog.Any("error", err))
		return
	}
	if n > s.beatsHeard.Load() { // only the subscriber writes it
		s.beatsHeard.Store(n)
	}
	select {
	case s.beatHeard <- struct{}{}:
	default:
	}
}

// liveInstances returns the ids of the instances registered now.
func (s *Store) liveInstances(ctx context.Context) ([]string, error) {
	return liveScript.Run(ctx, s.pub, []string{s.registryKey()}).StringSlice()
}

// deregister removes this instance from the registry. A failure is
// logged: the registration then ends by itself within InstanceTTL, and
// other instances' DropLocalCopies may wait for it until then.
func (s *Store) deregister() {
	ctx, cancel := context.WithTimeout(context.Background(), s.pubTimeout)
	defer cancel()
	if err := s.pub.ZRem(ctx, s.registryKey(), s.id).Err(); err != nil {
		s.log.Warn("tiered: cannot remove this instance from the registry; its registration ends by itself within InstanceTTL",
			slog.String("registry", s.registryKey()), slog.Any("error", err))
	}
}
