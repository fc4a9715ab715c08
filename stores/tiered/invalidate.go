package tiered

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
)

// publish tells the other instances to drop keys from their L1s, after a
// write to L2 that ended with l2err. Nothing is published when the circuit
// breaker kept the write from L2, which then changed nothing; any other
// outcome may have changed L2.
func (s *Store) publish(ctx context.Context, l2err error, keys ...string) error {
	if s.pub == nil || errors.Is(l2err, httpcache.ErrCircuitOpen) {
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

// subscribe starts the goroutine that applies the other instances'
// invalidations; Close ends it.
func (s *Store) subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	ps := s.pub.Subscribe(ctx) // no channel yet: no network
	s.done = make(chan struct{})
	s.stop = func() error {
		cancel()
		return ps.Close()
	}
	go s.listen(ctx, ps)
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
// Redis taking the SUBSCRIBE unheard: a copy made then is stale at most
// L1TTL, the bound that holds without pub/sub. Clearing L1 at the first
// confirmation would close that moment, but would also drop what the first
// requests stored, objects included, for a gap of microseconds.
func (s *Store) listen(ctx context.Context, ps *goredis.PubSub) {
	defer close(s.done)
	// Subscribing here rather than in New keeps New off the network. If it
	// fails, go-redis keeps the channel and subscribes once it reconnects.
	gap := false
	if err := ps.Subscribe(ctx, s.channel); err != nil && ctx.Err() == nil {
		gap = true
		s.log.Warn("tiered: cannot subscribe to invalidations yet; L1 copies live up to L1TTL until then",
			slog.String("channel", s.channel), slog.Any("error", err))
	}
	for m := range ps.ChannelWithSubscriptions() {
		switch m := m.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				s.subscribed(gap)
				gap = true // every later confirmation follows a reconnection
			}
		case *goredis.Message:
			s.receive(m.Payload)
		}
	}
}

// subscribed notes a confirmed subscription, clearing L1 if it follows a
// gap in which invalidations may have been missed.
func (s *Store) subscribed(afterGap bool) {
	if afterGap {
		s.fence.invalidateAll(s.l1.Clear)
		s.log.Info("tiered: subscribed to invalidations after a gap; cleared L1, which may have missed some",
			slog.String("channel", s.channel))
	}
	s.subscriptions.Add(1)
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
		// Which keys it meant cannot be told: every copy goes.
		s.log.Warn("tiered: malformed message on the invalidation channel; cleared L1",
			slog.String("channel", s.channel), slog.Any("error", err))
		s.fence.invalidateAll(s.l1.Clear)
	case id == s.id:
		// Our own write: L1 is up to date already.
	default:
		s.drop(keys)
	}
}
