package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
)

// TestGoRedisContextDeadline records what guard.go works around: whether
// go-redis (v9.23.0) itself ends a command blocked on a socket read when
// its context ends. It runs a raw client, warmed up so the command's own
// read is what blocks, against a blackholed server.
//
// Found: with default options it does not. Reads and writes get a deadline
// from the client's ReadTimeout and WriteTimeout only, because
// baseClient.context (redis.go) hands them context.Background() unless
// ContextTimeoutEnabled is set, so the call takes the full ReadTimeout
// (5 s). With ContextTimeoutEnabled, the context's deadline becomes the
// socket deadline (pool.Conn.deadline in internal/pool/conn.go), but a
// cancellation without a deadline still goes unnoticed.
//
// If this test fails after a go-redis upgrade, go-redis has changed how it
// treats contexts: revisit guard.go and the package documentation.
func TestGoRedisContextDeadline(t *testing.T) {
	const (
		deadline = 50 * time.Millisecond
		waited   = time.Second // far past the deadline, far short of ReadTimeout
	)
	tests := []struct {
		name            string
		opts            goredis.Options
		withDeadline    bool
		returnsPromptly bool
		wantErrIfPrompt error
	}{
		{"default options, deadline", goredis.Options{}, true, false, nil},
		{"default options, canceled", goredis.Options{}, false, false, nil},
		{"ContextTimeoutEnabled, deadline", goredis.Options{ContextTimeoutEnabled: true}, true, true, context.DeadlineExceeded},
		{"ContextTimeoutEnabled, canceled", goredis.Options{ContextTimeoutEnabled: true}, false, false, nil},
	}
	srv := testserver.SharedRedis(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxy := testserver.NewProxy(t, srv.Addr())
			opts := tt.opts
			opts.Addr = proxy.Addr()
			client := goredis.NewClient(&opts)
			defer client.Close()
			if err := client.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}

			proxy.Block()
			ctx, cancel := context.WithCancel(context.Background())
			if tt.withDeadline {
				ctx, cancel = context.WithTimeout(context.Background(), deadline)
			} else {
				time.AfterFunc(deadline, cancel)
			}
			defer cancel()
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- client.Get(ctx, "k").Err() }()

			select {
			case err := <-done:
				t.Logf("returned after %v: %v", time.Since(start), err)
				if !tt.returnsPromptly {
					t.Fatalf("go-redis now returns %v after its context ended (%v): the store's guard goroutine may be unnecessary", time.Since(start), err)
				}
				if !errors.Is(err, tt.wantErrIfPrompt) {
					t.Errorf("error = %v; want one wrapping %v", err, tt.wantErrIfPrompt)
				}
			case <-time.After(waited):
				if tt.returnsPromptly {
					t.Fatalf("go-redis did not return %v after its context ended", waited)
				}
				t.Logf("still blocked %v after its context ended", waited)
				proxy.CloseAll() // end the read now rather than at ReadTimeout
				select {
				case err := <-done:
					t.Logf("returned after the connection closed: %v", err)
				case <-time.After(guard):
					t.Fatalf("the call did not end after its connection was closed")
				}
			}
		})
	}
}
