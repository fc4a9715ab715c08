package tiered

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Polling of the acknowledgement count starts at firstPoll and backs off to
// maxPoll: most acknowledgements come within a millisecond or two, and a
// slow one should not cost a busy Redis a read every millisecond.
const (
	firstPoll = time.Millisecond
	maxPoll   = 20 * time.Millisecond
)

// ackSlack is how long an acknowledgement count outlives the longest wait
// for it (settle), so that a count is never gone while its sender reads it.
const ackSlack = time.Minute

// settle is how long after a call starts no instance can serve a copy taken
// before it, whether it heard of the call or not: an L1 copy lives at most
// L1TTL from when it lands, and it lands at most the guard's timeout after
// its L2 read began (the timeout bounds the read; with an L2 that came
// guarded already, its own timeout is assumed to be no longer).
func (s *Store) settle() time.Duration { return s.l1TTL + s.pubTimeout }

// DropLocalCopies clears every instance's L1, and returns once no instance
// can serve a copy taken before the call, or an error (wrapping ctx's) if
// ctx ends before it can make sure of that. The middleware calls it after
// every purge.
//
// Without PubSub it clears this instance's L1 and waits until the copies
// of the others have expired: L1TTL plus the guard's timeout (see settle),
// about 2 s by default.
//
// With PubSub it clears this instance's L1, publishes a "drop all"
// message, and waits until every other subscribed instance has cleared its
// L1 and acknowledged: PUBLISH returns how many subscriptions received the
// message, this instance's own among them, and each other instance
// increments a short-lived Redis key named after the message once its L1
// is clear. This costs one round trip to publish, one per instance to
// acknowledge, and a few reads of the count while they come in: a few
// milliseconds in all, unless an instance is slow. The call returns as
// soon as the count reaches the receivers less this instance, and this
// instance's own subscriber has received the message too, which proves it
// was among them (if it was not, because its subscription is down or the
// Store closed, the count would be one short). It also returns, without an
// error, once the time settle allows has passed: by then every copy taken
// before the call has expired, acknowledged or not, so a receiver that
// never acknowledges (an older instance, a stray subscriber of the
// channel) costs that wait, not a failure. The same wait is used when
// publishing fails, and with a Redis Cluster or Ring client, where
// PUBLISH counts the receivers of one node only.
//
// Instances that were not subscribed when the message went out (their
// subscription down, or not yet made just after New) are not counted. As
// with invalidations, the copies they hold then are bounded by L1TTL, and
// a subscription restored after a gap clears L1.
func (s *Store) DropLocalCopies(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	settled := time.Now().Add(s.settle())
	if s.pub == nil {
		s.fence.invalidateAll(s.l1.Clear)
		return s.waitSettled(ctx, settled, nil)
	}
	ackID := rand.Text()
	own := s.expectOwn(ackID)
	defer s.forgetOwn(ackID)
	s.fence.invalidateAll(s.l1.Clear)
	pctx, cancel := context.WithTimeout(ctx, s.pubTimeout)
	receivers, err := s.pub.Publish(pctx, s.channel, encodeDropAll(s.id, ackID)).Result()
	cancel()
	if err != nil {
		return s.waitSettled(ctx, settled, fmt.Errorf("tiered: publish of drop-all message: %w", err))
	}
	if _, ok := s.pub.(*goredis.Client); !ok {
		return s.waitSettled(ctx, settled, nil)
	}
	return s.waitAcks(ctx, ackID, own, receivers-1, settled)
}

// waitSettled waits until settled, when every copy taken before the call
// has expired. cause, if not nil, is why the call could not do better; it
// is logged if the wait completes, and returned with ctx's error if not.
func (s *Store) waitSettled(ctx context.Context, settled time.Time, cause error) error {
	t := time.NewTimer(time.Until(settled))
	defer t.Stop()
	select {
	case <-t.C:
		if cause != nil {
			s.log.Warn("tiered: could not tell other instances to drop their L1 copies; waited until the copies had expired",
				slog.Any("error", cause))
		}
		return nil
	case <-ctx.Done():
		return errors.Join(
			fmt.Errorf("tiered: other instances' L1 copies may be served until L1TTL has passed: %w", ctx.Err()),
			cause)
	}
}

// waitAcks waits until others instances have acknowledged ackID and own
// has been closed, or until settled.
func (s *Store) waitAcks(ctx context.Context, ackID string, own <-chan struct{}, others int64, settled time.Time) error {
	key := s.ackKey(ackID)
	deadline := time.NewTimer(time.Until(settled))
	defer deadline.Stop()
	poll := time.NewTimer(firstPoll)
	defer poll.Stop()
	delay := firstPoll
	var acked int64
	var readErr error
	for own != nil || acked < others {
		select {
		case <-own:
			own = nil
		case <-poll.C:
			rctx, cancel := context.WithTimeout(ctx, s.pubTimeout)
			n, err := s.pub.Get(rctx, key).Int64()
			cancel()
			switch {
			case err == nil:
				acked = n
			case !errors.Is(err, goredis.Nil):
				readErr = err
			}
			delay = min(2*delay, maxPoll)
			poll.Reset(delay)
		case <-deadline.C:
			s.log.Warn("tiered: not every instance acknowledged dropping its L1 copies; waited until the copies had expired",
				slog.Int64("acknowledged", acked), slog.Int64("instances", others),
				slog.Bool("own message received", own == nil), slog.Any("error", readErr))
			return nil
		case <-ctx.Done():
			err := fmt.Errorf("tiered: %d of %d other instances acknowledged dropping their L1 copies (own message received: %v): %w",
				acked, max(others, 0), own == nil, ctx.Err())
			return errors.Join(err, readErr)
		}
	}
	return nil
}

// ackKey is the Redis key that counts the acknowledgements of ackID.
func (s *Store) ackKey(ackID string) string { return s.channel + ":ack:" + ackID }

// expectOwn registers a call waiting for its own message, ackID, to come
// back, and returns the channel closed when it does.
func (s *Store) expectOwn(ackID string) <-chan struct{} {
	ch := make(chan struct{})
	s.dropsMu.Lock()
	defer s.dropsMu.Unlock()
	if s.drops == nil {
		s.drops = make(map[string]chan struct{})
	}
	s.drops[ackID] = ch
	return ch
}

func (s *Store) forgetOwn(ackID string) {
	s.dropsMu.Lock()
	defer s.dropsMu.Unlock()
	delete(s.drops, ackID)
}

// receiveDropAll applies a "drop all" message.
func (s *Store) receiveDropAll(payload string) {
	id, ackID, err := decodeDropAll(payload)
	switch {
	case err != nil:
		s.log.Warn("tiered: malformed message on the invalidation channel; cleared L1",
			slog.String("channel", s.channel), slog.Any("error", err))
		s.fence.invalidateAll(s.l1.Clear)
	case id == s.id:
		// Our own: L1 was cleared before it was sent. Its arrival shows
		// that this instance was among the receivers counted.
		s.dropsMu.Lock()
		if ch := s.drops[ackID]; ch != nil {
			close(ch)
			delete(s.drops, ackID)
		}
		s.dropsMu.Unlock()
	default:
		if hook := s.onDropAll.Load(); hook != nil {
			(*hook)()
		}
		s.fence.invalidateAll(s.l1.Clear)
		s.ack(ackID)
	}
}

// ack tells the sender of ackID that this instance's L1 is clear. A failure
// is logged: the sender then waits until every copy has expired.
func (s *Store) ack(ackID string) {
	if s.pub == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.pubTimeout)
	defer cancel()
	key := s.ackKey(ackID)
	_, err := s.pub.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Incr(ctx, key)
		p.PExpire(ctx, key, s.settle()+ackSlack)
		return nil
	})
	if err != nil {
		s.log.Warn("tiered: cannot acknowledge a drop-all message; its sender waits until L1 copies have expired",
			slog.String("key", key), slog.Any("error", err))
	}
}
