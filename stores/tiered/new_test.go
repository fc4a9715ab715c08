package tiered

import (
	"bytes"
	"context"
	"errors"
	"github.com/seedcache/httpcache/internal/fakeclock"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

func TestNewPanics(t *testing.T) {
	l1, l2 := memory.New(memory.Options{}), memory.New(memory.Options{})
	tests := []struct {
		name string
		new  func()
	}{
		{"nil l1", func() { New(nil, l2, Options{}) }},
		{"nil l2", func() { New(l1, nil, Options{}) }},
		{"negative L1TTL", func() { New(l1, l2, Options{L1TTL: -time.Second}) }},
		{"negative InstanceTTL", func() { New(l1, l2, Options{InstanceTTL: -time.Second}) }},
		{"negative publish timeout", func() { New(l1, l2, Options{Guard: store.GuardOptions{Timeout: -1}}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "tiered: ") {
					t.Fatalf("panic %q; want one starting with %q", msg, "tiered: ")
				}
			}()
			tt.new()
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s := New(memory.New(memory.Options{}), memory.New(memory.Options{}), Options{})
	if s.l1TTL != DefaultL1TTL || s.channel != DefaultChannel || s.log != slog.Default() ||
		s.pubTimeout != store.DefaultGuardTimeout || s.instanceTTL != DefaultInstanceTTL || s.pub != nil || s.stop != nil {
		t.Fatalf("New with zero Options: L1TTL %v, channel %q, logger %p, publish timeout %v, instance ttl %v, pubsub %v, subscriber %v",
			s.l1TTL, s.channel, s.log, s.pubTimeout, s.instanceTTL, s.pub, s.stop != nil)
	}
	if !s.member.usable() {
		t.Fatal("without PubSub, L1 is not in use")
	}
}

func TestInterfaces(t *testing.T) {
	l2 := memory.New(memory.Options{}) // guarded already
	s := New(memory.New(memory.Options{}), l2, Options{})
	if _, ok := any(s).(store.Local); ok {
		t.Error("the Store is a store.Local; its writes go over the network")
	}
	if !s.Guarded() {
		t.Error("Guarded() = false")
	}
	if s.l2 != store.Store(l2) {
		t.Error("a GuardedStore L2 was guarded again")
	}
	unguarded := &counting{Store: l2}
	s = New(memory.New(memory.Options{}), unguarded, Options{})
	if g, ok := s.l2.(store.GuardedStore); !ok || !g.Guarded() || s.l2 == store.Store(unguarded) {
		t.Error("an unguarded L2 was not guarded")
	}
}

type fakeClock = fakeclock.Clock

// TestL1Lifetime: L1 keeps a written copy for the smaller of its ttl and
// L1TTL, and a filled one for L1TTL.
func TestL1Lifetime(t *testing.T) {
	ctx := context.Background()
	const l1TTL = time.Minute
	tests := []struct {
		name  string
		write func(s *Store, l2 store.Store) error
		life  time.Duration
	}{
		{"Set with a short ttl", func(s *Store, _ store.Store) error {
			return s.Set(ctx, "k", []byte("v"), 10*time.Second)
		}, 10 * time.Second},
		{"Set with a long ttl", func(s *Store, _ store.Store) error {
			return s.Set(ctx, "k", []byte("v"), time.Hour)
		}, l1TTL},
		{"SetObject with a short ttl", func(s *Store, _ store.Store) error {
			return s.SetObject(ctx, "k", []byte("v"), "obj", 10*time.Second)
		}, 10 * time.Second},
		{"fill from L2", func(s *Store, l2 store.Store) error {
			if err := l2.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
				return err
			}
			_, err := s.Get(ctx, "k")
			return err
		}, l1TTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New(time.Unix(0, 0))
			l1 := memory.New(memory.Options{Clock: clock.Now})
			l2 := memory.New(memory.Options{Clock: clock.Now})
			s := New(l1, l2, Options{L1TTL: l1TTL})
			if err := tt.write(s, l2); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.life - time.Millisecond)
			mustGet(t, l1, "k", "v")
			clock.Advance(time.Millisecond)
			mustMiss(t, l1, "k")
		})
	}
}

// TestRefusedValues: a value that L2 or L1 refuses as too large leaves no
// stale copy in L1.
func TestRefusedValues(t *testing.T) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), 4<<10)
	tests := []struct {
		name         string
		l1Max, l2Max int64
		wantErr      bool   // Set returns ErrTooLarge
		want         string // what the store holds afterwards
	}{
		{"L2 refuses", 64 << 10, 2 << 10, true, "old"},
		{"L1 refuses", 2 << 10, 64 << 10, false, string(big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l1 := memory.New(memory.Options{MaxBytes: tt.l1Max})
			l2 := memory.New(memory.Options{MaxBytes: tt.l2Max})
			s := New(l1, l2, Options{L1TTL: time.Hour})
			mustSet(t, s, "k", "old")
			mustGet(t, l1, "k", "old")
			err := s.Set(ctx, "k", big, time.Hour)
			if tt.wantErr != errors.Is(err, store.ErrTooLarge) || !tt.wantErr && err != nil {
				t.Fatalf("Set of %d bytes = %v; want ErrTooLarge: %v", len(big), err, tt.wantErr)
			}
			mustMiss(t, l1, "k") // the old copy is gone
			mustGet(t, s, "k", tt.want)
		})
	}
}
