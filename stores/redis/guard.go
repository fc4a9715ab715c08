package redis

import (
	"context"
	"slices"

	goredis "github.com/redis/go-redis/v9"
)

// exec sends cmds: one command with Process, several in one pipeline. It
// returns when they are done or, with ctx's error, as soon as ctx is done.
//
// go-redis bounds socket reads and writes by ctx's deadline only when the
// client was built with ContextTimeoutEnabled; otherwise it uses
// context.Background() for them (baseClient.context in go-redis's redis.go)
// and a hung server holds the call for the client's ReadTimeout, 5 s by
// default, far past the middleware's budget. Even with it, a cancellation
// is never noticed during a read, only the deadline (pool.Conn.deadline in
// internal/pool/conn.go). So, unless the client honours ctx's deadline
// (see guarded), the commands run in a goroutine of their own and exec
// stops waiting for it when ctx is done. The goroutine is left to finish
// within the client's own timeouts; only goroutines that already hold a
// connection can be left behind for long, since go-redis gives up waiting
// for a pooled connection, dialling and retrying when ctx is done, so there
// are at most as many as the client has connections.
//
// Callers must not touch cmds after exec returned an error, and must copy
// anything in the commands' arguments that they will change afterwards
// (see Set).
func (s *Store) exec(ctx context.Context, cmds ...goredis.Cmder) error {
	if !s.guarded(ctx) {
		return s.send(ctx, cmds)
	}
	// A copy for the goroutine, so that cmds itself does not escape and the
	// unguarded path does not allocate it.
	return s.execGuarded(ctx, slices.Clone(cmds))
}

// execGuarded is exec in a goroutine of its own.
func (s *Store) execGuarded(ctx context.Context, cmds []goredis.Cmder) error {
	done := make(chan error, 1)
	go func() { done <- s.send(ctx, cmds) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Both may be ready: prefer the result.
		select {
		case err := <-done:
			return err
		default:
			return ctx.Err()
		}
	}
}

// guarded reports whether exec runs commands for ctx in a goroutine of
// their own: whether ctx can ever be done, unless it has a deadline that
// the client honours itself. The goroutine costs little CPU, but the
// extra hand-off between goroutines adds latency on a busy machine (see
// BenchmarkGuard), so a client with ContextTimeoutEnabled skips it; a
// cancellation before the deadline is then noticed at the deadline.
func (s *Store) guarded(ctx context.Context) bool {
	if ctx.Done() == nil {
		return false
	}
	if s.honoursDeadlines {
		_, ok := ctx.Deadline()
		return !ok
	}
	return true
}

// honoursDeadlines reports whether client bounds its socket reads and writes
// by a context's deadline: whether it is one of go-redis's own clients,
// built with ContextTimeoutEnabled (which a Ring and a ClusterClient pass on
// to the clients of their shards).
func honoursDeadlines(client goredis.UniversalClient) bool {
	switch c := client.(type) {
	case *goredis.Client:
		return c.Options().ContextTimeoutEnabled
	case *goredis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *goredis.Ring:
		return c.Options().ContextTimeoutEnabled
	default:
		return false
	}
}

// send sends cmds and waits for their replies.
func (s *Store) send(ctx context.Context, cmds []goredis.Cmder) error {
	if len(cmds) == 1 {
		return s.client.Process(ctx, cmds[0])
	}
	pipe := s.client.Pipeline()
	for _, cmd := range cmds {
		_ = pipe.Process(ctx, cmd) // queues it; errors come from Exec
	}
	_, err := pipe.Exec(ctx)
	return err
}
