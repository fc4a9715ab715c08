package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/faultstore"

	"github.com/seedcache/httpcache/internal/fakeclock"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// TestGuardTimeout: a store call that hangs is cut off by the guard's
// timeout with context.DeadlineExceeded.
func TestGuardTimeout(t *testing.T) {
	s := &faultstore.Script{}
	s.Hang.Store(true)
	g := store.Guard(s, store.GuardOptions{Timeout: 20 * time.Millisecond})
	done := make(chan error, 1)
	go func() { _, err := g.Get(context.Background(), "k"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a hanging store was not cut off by the timeout")
	}
}

// TestGuardBreaker: the guard's circuit opens after Failures failures in
// a row (misses and refusals are not failures), refuses calls while open,
// lets one probe through after Cooldown, and reports each change.
func TestGuardBreaker(t *testing.T) {
	clk := newClock()
	s := &faultstore.Script{}
	var changes []bool
	var mu sync.Mutex
	g := store.Guard(s, store.GuardOptions{
		Failures: 3, Cooldown: time.Second, Clock: clk.Now,
		OnStateChange: func(open bool) { mu.Lock(); changes = append(changes, open); mu.Unlock() },
	})
	ctx := context.Background()
	get := func() error { _, err := g.Get(ctx, "k"); return err }
	boom := errors.New("boom")

	// Misses and refusals are answers, not failures.
	for _, err := range []error{store.ErrNotFound, store.ErrTooLarge, store.ErrInvalidTTL} {
		s.FailWith(err)
		for range 5 {
			get()
		}
	}
	// A caller that gave up is not the store's fault either.
	s.FailWith(nil)
	s.Hang.Store(true)
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	for range 5 {
		g.Get(cctx, "k")
	}
	s.Hang.Store(false)
	if err := get(); err != nil {
		t.Fatalf("circuit opened on answers that are not failures: %v", err)
	}

	// Failures in a row open it; a success in between resets the count.
	s.FailWith(boom)
	get()
	get()
	s.FailWith(nil)
	get()
	s.FailWith(boom)
	get()
	get()
	if err := get(); !errors.Is(err, boom) {
		t.Fatalf("third failure in a row: %v", err)
	}
	before := s.Calls.Load()
	if err := get(); !errors.Is(err, store.ErrCircuitOpen) {
		t.Fatalf("open circuit: %v", err)
	}
	if s.Calls.Load() != before {
		t.Fatal("open circuit called the store")
	}

	// After the cooldown one probe goes; it fails, and the next goes one
	// cooldown later: the cooldown does not grow, so that caching resumes
	// within a cooldown of the store coming back, however long it was
	// down.
	for i := range 5 {
		clk.Advance(time.Second)
		if err := get(); !errors.Is(err, boom) {
			t.Fatalf("probe %d: %v", i, err)
		}
		clk.Advance(999 * time.Millisecond)
		if err := get(); !errors.Is(err, store.ErrCircuitOpen) {
			t.Fatalf("within the cooldown after probe %d: %v", i, err)
		}
		clk.Advance(-999 * time.Millisecond)
	}
	clk.Advance(time.Second)
	s.FailWith(nil)
	if err := get(); err != nil {
		t.Fatalf("successful probe: %v", err)
	}
	if err := get(); err != nil {
		t.Fatalf("closed again: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || !changes[0] || changes[1] {
		t.Fatalf("state changes %v, want [open closed]", changes)
	}
}

// TestGuardBurstOfTimeoutsKeepsCircuitClosed: a process starved of CPU
// (a loaded machine, a GC, go test -race) sees its store calls time out
// together, however healthy the store, and the next call succeeds. Such a
// burst of timeouts, far more than Failures of them, does not open the
// circuit, whether the store client gave up (a net.Error timeout) or the
// guard's own deadline passed; a store that keeps timing out does open it.
func TestGuardBurstOfTimeoutsKeepsCircuitClosed(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	clk := newClock()
	s := &faultstore.Script{}
	g := store.Guard(s, store.GuardOptions{Failures: 3, Timeout: time.Millisecond, Clock: clk.Now})
	ctx := context.Background()
	get := func() error { _, err := g.Get(ctx, "k"); return err }

	s.FailWith(timeout)
	for i := range 20 {
		if err := get(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("timeout %d of a burst: %v; want the store's timeout, the circuit closed", i, err)
		}
	}
	s.FailWith(nil)
	s.Hang.Store(true) // the guard's own deadline ends each call
	for i := range 20 {
		if err := get(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("guard timeout %d of a burst: %v; want the deadline's error, the circuit closed", i, err)
		}
	}
	s.Hang.Store(false)
	if err := get(); err != nil {
		t.Fatalf("after the burst: %v", err)
	}

	// Timeouts that go on, with no success between them, do open it.
	s.FailWith(timeout)
	get()
	clk.Advance(time.Second)
	get()
	get()
	before := s.Calls.Load()
	if err := get(); !errors.Is(err, store.ErrCircuitOpen) || s.Calls.Load() != before {
		t.Fatalf("after timeouts for 1 s: %v, %d calls; want the circuit open", err, s.Calls.Load()-before)
	}
}

// TestGuardTimeoutSpan: timeouts in a row open the circuit once the first
// of them is TimeoutSpan old, while a failure the store answers with (a
// refused connection) opens it as soon as Failures fail in a row, even
// after timeouts.
func TestGuardTimeoutSpan(t *testing.T) {
	timeout := fmt.Errorf("redis: %w", context.DeadlineExceeded)
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		errs []error         // failures in a row
		gaps []time.Duration // clock advanced before each
		open bool            // after the last
	}{
		{"timeouts within the span", []error{timeout, timeout, timeout, timeout},
			[]time.Duration{0, 5 * time.Second, 4 * time.Second, 999 * time.Millisecond}, false},
		{"timeouts for the span", []error{timeout, timeout, timeout},
			[]time.Duration{0, 5 * time.Second, 5 * time.Second}, true},
		{"timeouts, then a refusal", []error{timeout, timeout, refused},
			[]time.Duration{0, 0, 0}, true},
		{"refusals", []error{refused, refused, refused}, []time.Duration{0, 0, 0}, true},
		{"two refusals", []error{refused, refused}, []time.Duration{0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := &faultstore.Script{}
			g := store.Guard(s, store.GuardOptions{Failures: 3, TimeoutSpan: 10 * time.Second, Clock: clk.Now})
			for i, err := range tt.errs {
				clk.Advance(tt.gaps[i])
				s.FailWith(err)
				if _, got := g.Get(context.Background(), "k"); !errors.Is(got, err) {
					t.Fatalf("failure %d: %v; want %v", i, got, err)
				}
			}
			s.FailWith(nil)
			_, err := g.Get(context.Background(), "k")
			if open := errors.Is(err, store.ErrCircuitOpen); open != tt.open {
				t.Fatalf("next call: %v; want the circuit open: %v", err, tt.open)
			}
		})
	}
}

// TestGuardSingleProbe: while a probe is in flight, other operations fail
// fast instead of piling onto a store that may still be down.
func TestGuardSingleProbe(t *testing.T) {
	clk := newClock()
	s := &faultstore.Script{}
	g := store.Guard(s, store.GuardOptions{Failures: 1, Cooldown: time.Second, Clock: clk.Now, Timeout: time.Minute})
	s.FailWith(errors.New("down"))
	g.Get(context.Background(), "k")
	clk.Advance(time.Second)
	s.FailWith(nil)
	s.Hang.Store(true)
	probeCtx, cancel := context.WithCancel(context.Background())
	probeDone := make(chan struct{})
	go func() { g.Get(probeCtx, "probe"); close(probeDone) }()
	testwait.For(t, "the probe", func() bool { return s.Calls.Load() >= 2 })
	if _, err := g.Get(context.Background(), "k"); !errors.Is(err, store.ErrCircuitOpen) {
		t.Fatalf("second operation during the probe: %v", err)
	}
	cancel()
	<-probeDone
}

// TestGuardAbandonedProbe: a probe whose caller gave up proves nothing: the
// circuit stays open and the next operation probes.
func TestGuardAbandonedProbe(t *testing.T) {
	clk := newClock()
	s := &faultstore.Script{}
	g := store.Guard(s, store.GuardOptions{Failures: 1, Cooldown: time.Second, Clock: clk.Now, Timeout: time.Minute})
	s.FailWith(errors.New("down"))
	g.Get(context.Background(), "k")
	clk.Advance(time.Second)
	s.Hang.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for s.Calls.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := g.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned probe: %v", err)
	}
	s.Hang.Store(false)
	// Still down: the next operation is the probe, and fails.
	if _, err := g.Get(context.Background(), "k"); err == nil || errors.Is(err, store.ErrCircuitOpen) {
		t.Fatalf("after an abandoned probe, the next operation should probe the store: %v", err)
	}
	if _, err := g.Get(context.Background(), "k"); !errors.Is(err, store.ErrCircuitOpen) {
		t.Fatalf("a failed probe leaves the circuit open: %v", err)
	}
}
