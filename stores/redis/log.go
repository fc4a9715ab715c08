package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Logger adapts a *slog.Logger to go-redis's logger, so that what go-redis
// logs on its own (a dial that failed, a connection pool warning) goes
// where the application's logs go instead of to standard error:
//
//	goredis.SetLogger(redisstore.NewLogger(logger))
//
// go-redis has one logger per process, which redis.SetLogger replaces for
// every client; choosing it is the application's call, so neither New nor
// the Store ever sets it.
type Logger struct {
	logger *slog.Logger
}

// NewLogger returns a Logger that writes go-redis's messages to logger at
// slog.LevelWarn. It panics if logger is nil.
func NewLogger(logger *slog.Logger) *Logger {
	if logger == nil {
		panic("redis: NewLogger called with a nil *slog.Logger")
	}
	return &Logger{logger: logger}
}

// Printf logs one message of go-redis's, formatted as fmt.Sprintf does, at
// slog.LevelWarn with the attribute source=go-redis. It is the method
// go-redis's logger interface asks for.
func (l *Logger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	if !l.logger.Enabled(ctx, slog.LevelWarn) {
		return
	}
	msg := strings.TrimSuffix(fmt.Sprintf(format, v...), "\n")
	l.logger.Log(ctx, slog.LevelWarn, msg, "source", "go-redis")
}
