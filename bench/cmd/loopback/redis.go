package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// startRedis starts redis-server (bin) on addr, pinned to the CPUs in pin
// (taskset's arguments), without persistence (--save "", --appendonly no)
// and with its working directory in dir, and waits until it answers PING.
// It is stopped with the rest of procs.
func startRedis(ctx context.Context, procs *group, bin, dir, addr string, pin []string) (*proc, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	args := append(append([]string(nil), pin...), bin,
		"--port", port,
		"--bind", "127.0.0.1",
		"--protected-mode", "no", // loopback only, and no password
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "", // stdout, which goes to the log file
	)
	p, err := procs.start(ctx, "redis-server", filepath.Join(dir, "redis.log"), "taskset", args...)
	if err != nil {
		return nil, err
	}
	if err := waitListening(ctx, addr, p); err != nil {
		return nil, err
	}
	// Listening is not yet serving: PING until it answers PONG.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := redisPing(ctx, addr)
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("redis-server on %s does not answer PING: %w%s", addr, err, p.logTail())
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("redis-server exited: %v%s", p.err, p.logTail())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// redisPing sends PING to the Redis server at addr and expects PONG.
func redisPing(ctx context.Context, addr string) error {
	reply, err := redisCommand(ctx, addr, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING: %q, want PONG", reply)
	}
	return nil
}

// redisCommandsProcessed reads total_commands_processed from the INFO
// stats of the Redis server at addr. The INFO command itself is counted in
// the next reading, not in its own: a caller taking the difference of two
// readings subtracts 1 for the first INFO.
func redisCommandsProcessed(ctx context.Context, addr string) (int64, error) {
	info, err := redisCommand(ctx, addr, "INFO stats")
	if err != nil {
		return 0, err
	}
	return infoField(info, "total_commands_processed")
}

// infoField returns the integer field name of an INFO reply ("name:value"
// lines).
func infoField(info, name string) (int64, error) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("INFO has no %s field", name)
}

// redisCommand sends one inline command on a connection of its own and
// returns the reply: a simple string's or a bulk string's text. An error
// reply is an error.
func redisCommand(ctx context.Context, addr, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	if _, err := io.WriteString(conn, command+"\r\n"); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

// readReply reads a RESP simple string, error or bulk string.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 || n > 1<<20 {
			return "", fmt.Errorf("bulk reply of length %q", line[1:])
		}
		b := make([]byte, n+2) // and its \r\n
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
