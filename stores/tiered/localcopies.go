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

// Polling of the acknowledgements starts after firstPoll and backs off to
// maxPoll: most acknowledgements come within a millisecond or two, and a
// slow one should not cost a busy Redis reads every millisecond.
const (
	firstPoll = time.Millisecond
	maxPoll   = 20 * time.Millisecond
)

// ackSlack is how long an acknowledgement set outlives the longest wait
// for it (settle), so that a set is never gone while its sender reads it.
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
// With PubSub it clears this instance's L1, reads the registry of
// instances (see Options.PubSub and registry.go), publishes a "drop all"
// message, and waits until each other registered instance has either
// cleared its L1 and acknowledged (by adding its id to a short-lived Redis
// set named after the message), or been found no longer registered. An
// instance that is not registered does not use its L1, and clears it
// before it uses it again, so it needs no message: PUBLISH's count of
// receivers plays no part. This costs a round trip to read the registry,
// one to publish, one per instance to acknowledge, and a few reads while
// the acknowledgements come in: a few milliseconds in all, unless an
// instance is slow.
//
// A registered instance that does not acknowledge — its subscription
// died, its process hangs — is waited for until its registration ends
// (within Options.InstanceTTL, as its heartbeats stop too) or until every
// copy taken before the call has expired (settle), whichever is first; the
// call then returns nil. The same wait for copies to expire is used when
// the message cannot be published.
func (s *Store) DropLocalCopies(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	settled := time.Now().Add(s.settle())
	s.fence.invalidateAll(s.l1.Clear)
	if s.pub == nil {
		return s.waitSettled(ctx, settled, nil)
	}
	ackID := rand.Text()
	w := &ackWait{key: s.ackKey(ackID)}
	// The registry is read before publishing, so that every instance
	// waited for was subscribed before the message went out (it registers
	// through its subscription). If the read fails, the wait reads it
	// again: any moment after the call began will do.
	w.readRegistry(ctx, s)
	pctx, cancel := context.WithTimeout(ctx, s.pubTimeout)
	err := s.pub.Publish(pctx, s.channel, encodeDropAll(s.id, ackID)).Err()
	cancel()
	if err != nil {
		return s.waitSettled(ctx, settled, fmt.Errorf("tiered: publish of drop-all message: %w", err))
	}
	return s.waitAcks(ctx, w, settled)
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

// ackWait is the state of one DropLocalCopies waiting for the registered
// instances.
type ackWait struct {
	key string // the acknowledgement set
	// pending are the instances registered when the registry was first
	// read, less this one, that have neither acknowledged nor been found
	// unregistered since; nil until the registry has been read.
	pending    map[string]bool
	registered int   // how many there were
	acked      int   // how many acknowledged
	lapsed     int   // how many were found unregistered
	err        error // the latest failure to read Redis
}

// done reports whether every registered instance is accounted for.
func (w *ackWait) done() bool { return w.pending != nil && len(w.pending) == 0 }

// readRegistry reads which other instances are registered, once: they are
// the ones to wait for. Any moment after the call began serves: an
// instance unregistered then may not use a copy taken before it (see
// registry.go).
func (w *ackWait) readRegistry(ctx context.Context, s *Store) {
	ctx, cancel := context.WithTimeout(ctx, s.pubTimeout)
	defer cancel()
	live, err := s.liveInstances(ctx)
	if err != nil {
		w.err = fmt.Errorf("tiered: read of the instance registry: %w", err)
		return
	}
	w.pending = make(map[string]bool, len(live))
	for _, id := range live {
		if id != s.id {
			w.pending[id] = true
		}
	}
	w.registered = len(w.pending)
}

// poll reads the registry if that has yet to succeed, then the
// acknowledgements, and then, if some instances have yet to acknowledge,
// the registry again to find those no longer registered.
func (w *ackWait) poll(ctx context.Context, s *Store) {
	if w.pending == nil {
		if w.readRegistry(ctx, s); w.pending == nil {
			return
		}
	}
	if w.done() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.pubTimeout)
	defer cancel()
	acks, err := s.pub.SMembers(ctx, w.key).Result()
	if err != nil {
		w.err = fmt.Errorf("tiered: read of acknowledgements: %w", err)
		return
	}
	for _, id := range acks {
		if w.pending[id] {
			delete(w.pending, id)
			w.acked++
		}
	}
	if w.done() {
		return
	}
	live, err := s.liveInstances(ctx)
	if err != nil {
		w.err = fmt.Errorf("tiered: read of the instance registry: %w", err)
		return
	}
	still := make(map[string]bool, len(live))
	for _, id := range live {
		still[id] = true
	}
	for id := range w.pending {
		if !still[id] {
			delete(w.pending, id)
			w.lapsed++
		}
	}
}

// String says how far the wait got, for errors and logs.
func (w *ackWait) String() string {
	if w.pending == nil {
		return "the instance registry could not be read"
	}
	return fmt.Sprintf("%d of %d other registered instances acknowledged dropping their L1 copies, %d stopped using L1, %d did neither",
		w.acked, w.registered, w.lapsed, len(w.pending))
}

// waitAcks waits until every other registered instance has acknowledged
// or left the registry, or until settled.
func (s *Store) waitAcks(ctx context.Context, w *ackWait, settled time.Time) error {
	if w.done() { // no other instance registered
		return nil
	}
	deadline := time.NewTimer(time.Until(settled))
	defer deadline.Stop()
	poll := time.NewTimer(firstPoll)
	defer poll.Stop()
	delay := firstPoll
	for {
		select {
		case <-poll.C:
			w.poll(ctx, s)
			if w.done() {
				return nil
			}
			delay = min(2*delay, maxPoll)
			poll.Reset(delay)
		case <-deadline.C:
			s.log.Warn("tiered: not every registered instance acknowledged dropping its L1 copies; waited until the copies had expired",
				slog.String("progress", w.String()), slog.Any("error", w.err))
			return nil
		case <-ctx.Done():
			err := fmt.Errorf("tiered: %v: %w", w, ctx.Err())
			return errors.Join(err, w.err)
		}
	}
}

// ackKey is the Redis set of the instances that acknowledged ackID.
func (s *Store) ackKey(ackID string) string { return s.channel + ":acks:" + ackID }

// receiveDropAll applies a "drop all" message.
func (s *Store) receiveDropAll(payload string) {
	id, ackID, err := decodeDropAll(payload)
	switch {
	case err != nil:
		s.dropAllMalformed(err)
	case id == s.id:
		// Our own: L1 was cleared before it was sent.
	default:
		if hook := s.onDropAll.Load(); hook != nil {
			(*hook)()
		}
		s.fence.invalidateAll(s.l1.Clear)
		s.ack(ackID)
	}
}

// ack tells the sender of ackID that this instance's L1 is clear, by adding
// its id to the set the sender reads. A failure is logged: the sender then
// waits until this instance's registration ends or its copies have
// expired.
func (s *Store) ack(ackID string) {
	if s.pub == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.pubTimeout)
	defer cancel()
	key := s.ackKey(ackID)
	_, err := s.pub.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, key, s.id)
		p.PExpire(ctx, key, s.settle()+ackSlack)
		return nil
	})
	if err != nil {
		s.log.Warn("tiered: cannot acknowledge a drop-all message; its sender waits until this instance's registration ends or L1 copies have expired",
			slog.String("key", key), slog.Any("error", err))
	}
}
