package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testwait"
)

// TestBackgroundWaitsForWorkStartedBefore: a wait returns once the work
// counted before it is done, however much work starts after it began.
func TestBackgroundWaitsForWorkStartedBefore(t *testing.T) {
	var b background
	a := b.add()
	waited := make(chan error, 1)
	go func() { waited <- b.wait(context.Background()) }()
	// The wait has begun once it has closed a's epoch to new work.
	testwait.For(t, "the wait to begin", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.cur == nil
	})
	later := b.add() // started after the wait began
	if later == a {
		t.Fatal("work started after the wait was counted with the work before it")
	}
	select {
	case err := <-waited:
		t.Fatalf("the wait returned while earlier work ran: %v", err)
	default:
	}
	b.done(a)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a liveness bound, not a timing assertion
		t.Fatal("the wait is held by work started after it")
	}
	// A wait now waits for the later work, and gives up with its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with later work running and a done context: %v", err)
	}
	b.done(later)
	if err := b.wait(ctx); err != nil {
		t.Fatalf("wait with nothing running: %v", err)
	}
	if len(b.open) != 0 || b.cur != nil {
		t.Fatalf("epochs left: %d open", len(b.open))
	}
}
