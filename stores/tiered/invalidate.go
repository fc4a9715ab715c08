package tiered

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
)

// publish tells the other instances to drop keys from their L1s, after a
// write to L2 that ended with l2err. Nothing is published when the circuit
// breaker kept the write from L2, which then changed nothing; any other
// outcome may have changed L2.
func (s *Store) publish(ctx context.Context, l2err error, keys ...string) error {
	if s.pub == nil || errors.Is(l2err, store.ErrCircuitOpen) {
		return nil
	}
	// L2 has been written: publish even if the caller has gone, within the
	// guard's timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.pubTimeout)
	defer cancel()
	if err := s.pub.Publish(ctx, s.channel, encodeInvalidation(s.id, keys)).Err(); err != nil {
		return fmt.Errorf("tiered: publish invalidation of %d keys: %w", len(keys), err)
	}
	return nil
}

// subscribe starts the goroutines that apply the other instances'
// invalidations and renew this instance's registration; Close ends them.
func (s *Store) subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	ps := s.pub.Subscribe(ctx) // no channel yet: no network
	s.done = make(chan struct{})
	s.hbDone = make(chan struct{})
	s.kick = make(chan struct{}, 1)
	s.beatHeard = make(chan struct{}, 1)
	s.stop = func() error {
		cancel()
		return ps.Close()
	}
	go s.listen(ctx, ps)
	go s.heartbeat(ctx)
}

// listen applies invalidations until ps is closed.
//
// go-redis reconnects and subscribes again by itself when the connection
// drops, but messages published meanwhile are lost, and nothing says which.
// So L1 is cleared whenever the subscription is confirmed after a gap: on
// every confirmation but the first, and on the first too if Redis could not
// be reached at once (it may have been down for hours since New).
//
// A first subscription made at once leaves only the moment between New and
// Redis taking the SUBSCRIBE unheard. L1 is not used in that moment, as
// this instance is not registered until a heartbeat has come back through
// the subscription (see registry.go), and its first registration clears
// L1.
//
// The same subscription carries this instance's heartbeats, on a channel
// of its own: a beat comes back only while the subscription delivers
// messages and this loop reads them.
func (s *Store) listen(ctx context.Context, ps *goredis.PubSub) {
	defer close(s.done)
	// Subscribing here rather than in New keeps New off the network. If it
	// fails, go-redis keeps the channels and subscribes once it reconnects.
	gap := false
	beats := s.beatChannel()
	if err := ps.Subscribe(ctx, s.channel, beats); err != nil && ctx.Err() == nil {
		gap = true
		s.log.Warn("tiered: cannot subscribe to invalidations yet; L1 is not used until then",
			slog.String("channel", s.channel), slog.Any("error", err))
	}
	for m := range ps.ChannelWithSubscriptions() {
		switch m := m.(type) {
		case *goredis.Subscription:
			// One SUBSCRIBE names both channels, and Redis takes it
			// whole: the confirmation of the first means both.
			if m.Kind == "subscribe" && m.Channel == s.channel {
				s.subscribed(gap)
				gap = true // every later confirmation follows a reconnection
			}
		case *goredis.Message:
			if m.Channel == beats {
				s.receiveBeat(m.Payload)
			} else {
				s.receive(m.Payload)
			}
		}
	}
}

// subscribed notes a confirmed subscription, clearing L1 if it follows a
// gap in which invalidations may have been missed, and asks for a
// heartbeat at once.
func (s *Store) subscribed(afterGap bool) {
	if afterGap {
		s.fence.invalidateAll(s.l1.Clear)
		s.log.Info("tiered: subscribed to invalidations after a gap; cleared L1, which may have missed some",
			slog.String("channel", s.channel))
	}
	s.subscriptions.Add(1)
	if s.kick != nil {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// receive applies one message from the channel.
func (s *Store) receive(payload string) {
	defer s.messages.Add(1)
	if strings.HasPrefix(payload, dropAllPrefix) {
		s.receiveDropAll(payload)
		return
	}
	id, keys, err := decodeInvalidation(payload)
	switch {
	case err != nil:
		s.dropAllMalformed(err)
	case id == s.id:
		// Our own write: L1 is up to date already.
	default:
		s.drop(keys)
	}
}

// dropAllMalformed clears L1 on a message that could not be read: which
// keys it meant cannot be told, so every copy goes.
func (s *Store) dropAllMalformed(err error) {
	s.log.Warn("tiered: malformed message on the invalidation channel; cleared L1",
		slog.String("channel", s.channel), slog.Any("error", err))
	s.fence.invalidateAll(s.l1.Clear)
}
