package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/stores/redis"
)

// logHelperEnv, set in a child process of TestLoggerTakesGoRedisMessages,
// makes that test dial a closed port instead: "routed" with NewLogger set
// as go-redis's logger, "default" without.
const logHelperEnv = "HTTPCACHE_REDIS_LOG_HELPER"

// TestLoggerTakesGoRedisMessages: go-redis logs a dial that failed on its
// own, to standard error by default. With NewLogger set as its logger
// (redis.SetLogger), the message goes to the slog handler instead, and
// nothing to standard error. Each case runs in a process of its own, since
// go-redis's logger is process-wide and its default writes to the
// process's standard error.
func TestLoggerTakesGoRedisMessages(t *testing.T) {
	if mode := os.Getenv(logHelperEnv); mode != "" {
		dialClosedPort(t, mode == "routed")
		return
	}
	for _, mode := range []string{"default", "routed"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLoggerTakesGoRedisMessages$", "-test.count=1")
			cmd.Env = append(os.Environ(), logHelperEnv+"="+mode)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
			}
			const dialFailed = "failed to dial"
			inHandler := strings.Contains(stdout.String(), `"source":"go-redis"`) &&
				strings.Contains(stdout.String(), dialFailed)
			inStderr := strings.Contains(stderr.String(), dialFailed)
			if mode == "routed" && (!inHandler || inStderr) {
				t.Fatalf("with NewLogger: in the slog handler %v, on stderr %v; want the handler only\nstdout:\n%s\nstderr:\n%s",
					inHandler, inStderr, &stdout, &stderr)
			}
			if mode == "default" && (inHandler || !inStderr) {
				t.Fatalf("go-redis's own logger: in the slog handler %v, on stderr %v; want stderr (this test's premise)\nstdout:\n%s\nstderr:\n%s",
					inHandler, inStderr, &stdout, &stderr)
			}
		})
	}
}

// dialClosedPort makes a go-redis client dial a port nothing listens on,
// with go-redis logging through a JSON slog handler on standard output if
// routed.
func dialClosedPort(t *testing.T, routed bool) {
	if routed {
		goredis.SetLogger(redis.NewLogger(slog.New(slog.NewJSONHandler(os.Stdout, nil))))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := goredis.NewClient(&goredis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Get(ctx, "k").Err(); err == nil {
		t.Fatal("Get from a closed port succeeded")
	}
}

func TestNewLoggerPanicsOnNil(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewLogger(nil) did not panic")
		}
	}()
	redis.NewLogger(nil)
}
