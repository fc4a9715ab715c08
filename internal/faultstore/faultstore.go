// Package faultstore is a store for tests of the guard and of what the
// middleware does when a store fails: it answers, fails with a chosen
// error, or hangs until its caller gives up, as a test scripts it.
package faultstore

import (
	"context"
	"sync/atomic"
	"time"
)

// Script answers Get with the error FailWith set (or a value when none is
// set), and blocks until its context ends while Hang is set. Set and Delete
// behave as Get does. It is safe for concurrent use.
type Script struct {
	Calls atomic.Int64 // operations so far
	Hang  atomic.Bool  // operations block until their context ends
	fail  atomic.Pointer[error]
}

// Get answers as the script says.
func (s *Script) Get(ctx context.Context, key string) ([]byte, error) {
	s.Calls.Add(1)
	if s.Hang.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := s.fail.Load(); err != nil {
		return nil, *err
	}
	return []byte("v"), nil
}

// Set answers as Get does.
func (s *Script) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	_, err := s.Get(ctx, key)
	return err
}

// Delete answers as Get does.
func (s *Script) Delete(ctx context.Context, keys ...string) error {
	_, err := s.Get(ctx, "")
	return err
}

// FailWith makes every operation fail with err from now on, or succeed
// again if err is nil.
func (s *Script) FailWith(err error) {
	if err == nil {
		s.fail.Store(nil)
		return
	}
	s.fail.Store(&err)
}
