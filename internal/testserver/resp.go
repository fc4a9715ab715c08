package testserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// respConn is the smallest RESP2 client that readiness checks and this
// package's tests need. It is not safe for concurrent use.
type respConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// respError is an error reply ("-ERR ...") from Redis.
type respError string

func (e respError) Error() string { return "redis: " + string(e) }

func dialRESP(addr string, timeout time.Duration) (*respConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &respConn{c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}, nil
}

// dialProbe dials addr for one probe. Once ctx ends the connection's
// deadline is moved to the past, failing any read or write in progress; the
// caller must call stop when done.
func dialProbe(ctx context.Context, addr string) (c net.Conn, stop func() bool, err error) {
	d := net.Dialer{Timeout: probeTimeout}
	if c, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, nil, err
	}
	stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return c, stop, nil
}

func (c *respConn) Close() error { return c.c.Close() }

// do sends one command and reads its reply within timeout. Replies are
// string (simple and bulk strings), int64, nil (null), []any, or a
// respError returned as the error.
func (c *respConn) do(timeout time.Duration, args ...string) (any, error) {
	if err := c.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	v, err := readRESP(c.r)
	if err != nil {
		return nil, err
	}
	if e, ok := v.(respError); ok {
		return nil, e
	}
	return v, nil
}

// doString is do for commands whose reply is a string.
func (c *respConn) doString(timeout time.Duration, args ...string) (string, error) {
	v, err := c.do(timeout, args...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: unexpected reply %#v", args[0], v)
	}
	return s, nil
}

func readRESP(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("resp: malformed line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("resp: bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("resp: bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		arr := make([]any, n)
		for i := range arr {
			if arr[i], err = readRESP(r); err != nil {
				return nil, err
			}
		}
		return arr, nil
	}
	return nil, fmt.Errorf("resp: unknown reply type %q", line)
}

// infoField returns the value of field in an INFO or CLUSTER INFO reply.
func infoField(info, field string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), field+":"); ok {
			return v
		}
	}
	return ""
}

// probeRedis checks that the Redis at addr answers PING and, when pid is not
// zero, that it is the process with that pid: a port lost to another Redis
// in the free-port race must not pass for ours.
func probeRedis(ctx context.Context, addr string, pid int, auth []string) error {
	nc, stop, err := dialProbe(ctx, addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	defer stop()
	c := &respConn{c: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	if len(auth) > 0 {
		if _, err := c.do(probeTimeout, append([]string{"AUTH"}, auth...)...); err != nil {
			return err
		}
	}
	pong, err := c.doString(probeTimeout, "PING")
	if err != nil {
		return err
	}
	if pong != "PONG" {
		return fmt.Errorf("PING answered %q", pong)
	}
	if pid == 0 {
		return nil
	}
	info, err := c.doString(probeTimeout, "INFO", "server")
	if err != nil {
		return err
	}
	if got := infoField(info, "process_id"); got != strconv.Itoa(pid) {
		return fmt.Errorf("%s is served by another redis-server (pid %s, ours is %d)", addr, got, pid)
	}
	return nil
}

// probeMemcached checks that the memcached at addr answers "version" and,
// when pid is not zero, that "stats" reports that pid.
func probeMemcached(ctx context.Context, addr string, pid int) error {
	c, stop, err := dialProbe(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	defer stop()
	if err := c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, "version\r\n"); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("version answered %q", line)
	}
	if pid == 0 {
		return nil
	}
	if _, err := io.WriteString(c, "stats\r\n"); err != nil {
		return err
	}
	var got string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT pid "); ok {
			got = v
		}
	}
	if got != strconv.Itoa(pid) {
		return fmt.Errorf("%s is served by another memcached (pid %s, ours is %d)", addr, got, pid)
	}
	return nil
}

// waitProbe retries probe until it succeeds or timeout passes.
func waitProbe(timeout time.Duration, probe func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
