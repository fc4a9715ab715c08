package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that point the tests at servers that are already
// running instead of starting their own.
const (
	// EnvRedisURL is a redis:// URL used by Redis and SharedRedis.
	EnvRedisURL = "HTTPCACHE_REDIS_URL"
	// EnvMemcachedAddr is a comma-separated host:port list used by Memcached,
	// SharedMemcached and MemcachedPool.
	EnvMemcachedAddr = "HTTPCACHE_MEMCACHED_ADDR"
	// EnvRedisClusterAddrs is a comma-separated host:port list of cluster
	// nodes used by RedisCluster and SharedRedisCluster.
	EnvRedisClusterAddrs = "HTTPCACHE_REDIS_CLUSTER_ADDRS"
)

const installHint = "apt-get install -y redis-server memcached"

// Server is a Redis or Memcached server for tests: one this package started
// on a loopback port, or one named by an environment variable (external).
// Its methods are safe for concurrent use.
type Server struct {
	kind     string // "redis" or "memcached"
	addr     string // host:port; fixed once the server is returned
	url      string // redis only
	external string // the environment variable naming it; "" if we started it
	shared   bool   // handed out by a Shared… function

	spec *spec  // how to run it; nil if external
	dir  string // temporary directory: working directory and log
	log  string // path of the captured stdout and stderr

	mu     sync.Mutex
	owner  testing.TB // the test that created it, until its cleanup; nil if shared
	ports  []int      // ports[0] is the client port
	proc   *process   // nil while stopped
	closed bool
}

// spec says how to run one server program.
type spec struct {
	kind    string // "redis" or "memcached"
	program string // absolute path, resolved once so t.Setenv("PATH") later is harmless
	nports  int    // ports the program binds: the client port first
	args    func(dir string, ports []int) []string
	cred    *credential
	// probe checks once that the server at addr is ready and is process pid.
	probe func(ctx context.Context, addr string, pid int) error
	// pickPorts returns n free ports; tests replace it to force a conflict.
	pickPorts func(n int) ([]int, error)
}

// Addr returns the server's address as host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns a redis:// URL for a Redis server (the environment's URL for an
// external one), or "" for Memcached.
func (s *Server) URL() string { return s.url }

// External reports whether the server was named by an environment variable
// rather than started by this package; such a server cannot be stopped.
func (s *Server) External() bool { return s.external != "" }

// SkipIfExternal skips tb when s cannot be stopped and started: a server
// named by an environment variable, or a shared one. Tests that call Stop or
// Start should call it first.
func (s *Server) SkipIfExternal(tb testing.TB) {
	tb.Helper()
	if s.External() {
		tb.Skipf("testserver: this test stops and restarts its %s server, but %s is an external server from $%s; unset it to let the test start its own",
			s.kind, s.addr, s.external)
	}
	if s.shared {
		tb.Skipf("testserver: this test stops and restarts its %s server, but %s is shared by the whole test binary; use %s(t) for a server of its own",
			s.kind, s.addr, s.constructor())
	}
}

// constructor names the function that returns a server of this kind.
func (s *Server) constructor() string {
	if s.kind == "memcached" {
		return "Memcached"
	}
	return "Redis"
}

// Stop kills the server (SIGKILL, like a crash) and waits until it has exited.
// Its port stays the server's: Start binds it again. Stopping a stopped
// server does nothing. On an external server Stop skips the calling test; on
// a shared one it panics, because other tests rely on that server.
//
// Stop and Start skip or fail the test that created the server, so call
// them from that test's goroutine, not from a subtest or another goroutine
// (where a failure would end the wrong goroutine). After that test's
// cleanup they do nothing.
func (s *Server) Stop() {
	tb := s.control("Stop")
	if tb == nil {
		return
	}
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(); err != nil {
		tb.Fatalf("testserver: stop %s at %s: %v", s.kind, s.addr, err)
	}
}

// Start starts a stopped server again on the same port and waits until it
// answers; it fails the test if it cannot within a bounded time. Starting a
// running server does nothing. See Stop for external and shared servers.
func (s *Server) Start() {
	tb := s.control("Start")
	if tb == nil {
		return
	}
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return // the owning test's cleanup ran concurrently
	}
	if err := s.restartLocked(); err != nil {
		tb.Fatalf("testserver: restart %s: %v", s.kind, err)
	}
}

// control returns the test to report Stop or Start through, after skipping it
// for an external server. It returns nil once the owning test's cleanup has
// stopped the server for good: Stop and Start then do nothing.
func (s *Server) control(method string) testing.TB {
	if s.shared {
		panic(fmt.Sprintf("testserver: %s on a shared %s server; other tests use it — use %s(t) for a server of its own",
			method, s.kind, s.constructor()))
	}
	s.mu.Lock()
	tb := s.owner
	s.mu.Unlock()
	if tb != nil && s.External() {
		tb.Helper()
		s.SkipIfExternal(tb)
	}
	return tb
}

// stopLocked kills the running process, if any.
func (s *Server) stopLocked() error {
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	return p.kill()
}

// close stops the server for good and removes its directory. It is the
// cleanup of the test (or binary) that owns the server.
func (s *Server) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owner = nil
	if s.closed || s.External() {
		s.closed = true
		return nil
	}
	s.closed = true
	err := s.stopLocked()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}

// startFresh starts the server for the first time, on fresh ports, retrying
// on new ones when another process takes a port first.
func (s *Server) startFresh() error {
	var err error
	for range bindAttempts {
		if s.ports, err = s.spec.pickPorts(s.spec.nports); err != nil {
			return err
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports[0]))
		if s.spec.kind == "redis" {
			s.url = "redis://" + s.addr + "/0"
		}
		if err = s.launchLocked(); !errors.Is(err, errBindConflict) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d tries on fresh ports: %w", bindAttempts, err)
}

// restartLocked starts a stopped server again on its ports, retrying for a
// while if something else holds one.
func (s *Server) restartLocked() error {
	if s.proc != nil && !s.proc.hasExited() {
		return nil
	}
	if s.proc != nil {
		// It died on its own: reap it, then start a new one.
		if err := s.stopLocked(); err != nil {
			return err
		}
	}
	var err error
	for i := range restartAttempts {
		if err = s.launchLocked(); !errors.Is(err, errBindConflict) {
			return err
		}
		time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
	}
	return fmt.Errorf("gave up after %d tries on port %d: %w", restartAttempts, s.ports[0], err)
}

// launchLocked runs the program once on s.ports and waits until it is ready.
// A failure carries the end of the program's output.
func (s *Server) launchLocked() error {
	offset := fileSize(s.log)
	args := s.spec.args(s.dir, s.ports)
	p, err := launch(s.spec.program, args, s.log, s.spec.cred)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.spec.program, err)
	}
	err = waitReady(p, time.Now().Add(readyTimeout), func(ctx context.Context, pid int) error {
		return s.spec.probe(ctx, s.addr, pid)
	})
	if err == nil {
		s.proc = p
		return nil
	}
	killErr := p.kill()
	tail := logTail(s.log, offset)
	if isBindFailure(tail) {
		err = fmt.Errorf("%w: %v", errBindConflict, err)
	}
	if killErr != nil {
		err = fmt.Errorf("%w; %v", err, killErr)
	}
	return fmt.Errorf("%s on %s: %w\ncommand: %s %s\noutput (%s):\n%s",
		s.spec.kind, s.addr, err, s.spec.program, quoteArgs(args), s.log, tail)
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// startLocal creates and starts a server from sp in a new temporary
// directory.
func startLocal(sp *spec) (*Server, error) {
	dir, err := os.MkdirTemp("", "httpcache-"+sp.kind+"-*")
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	s := &Server{kind: sp.kind, spec: sp, dir: dir, log: filepath.Join(dir, sp.kind+".log")}
	if err := s.startFresh(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testserver: %w", err)
	}
	return s, nil
}

// unavailableError means a server cannot be had on this machine: the test
// skips, or fails under CI=true.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

// lookProgram resolves program on PATH, or explains how to get it.
func lookProgram(program, env string) (string, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return "", &unavailableError{fmt.Sprintf(
			"testserver: %s not found on PATH; install it with `%s` (Debian/Ubuntu), or set %s to use a running server",
			program, installHint, env)}
	}
	return path, nil
}

// failInsteadOfSkip reports whether a server that cannot be had fails the
// test rather than skipping it: under CI (CI=true), where the servers are
// part of the environment.
func failInsteadOfSkip() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// fail ends tb over err: a skip for an unavailable server outside CI, a
// failure otherwise.
func fail(tb testing.TB, err error) {
	tb.Helper()
	var u *unavailableError
	if errors.As(err, &u) {
		if !failInsteadOfSkip() {
			tb.Skip(err.Error())
		}
		tb.Fatal(err.Error() + " (CI=true: a missing server is a failure, not a skip)")
	}
	tb.Fatal(err.Error())
}

// own hands a started server to tb: tb's cleanup stops it.
func own(tb testing.TB, s *Server) *Server {
	tb.Helper()
	s.owner = tb
	tb.Cleanup(func() {
		if err := s.close(); err != nil {
			tb.Errorf("testserver: cleanup of %s at %s: %v", s.kind, s.addr, err)
		}
	})
	return s
}

// Redis returns a running Redis server that tb's cleanup stops: a new
// redis-server on a free loopback port without persistence, or the server
// named by HTTPCACHE_REDIS_URL. Without redis-server on PATH it skips tb
// (fails it under CI=true).
func Redis(tb testing.TB) *Server {
	tb.Helper()
	s, err := newRedis()
	if err != nil {
		fail(tb, err)
	}
	return own(tb, s)
}

func newRedis() (*Server, error) {
	if raw := os.Getenv(EnvRedisURL); raw != "" {
		return externalRedis(raw)
	}
	sp, err := redisSpec(EnvRedisURL)
	if err != nil {
		return nil, err
	}
	return startLocal(sp)
}

// redisSpec runs redis-server; env names the variable that could replace it
// in the message when redis-server is missing.
func redisSpec(env string) (*spec, error) {
	program, err := lookProgram("redis-server", env)
	if err != nil {
		return nil, err
	}
	return &spec{
		kind:    "redis",
		program: program,
		nports:  1,
		args: func(dir string, ports []int) []string {
			return []string{
				"--port", strconv.Itoa(ports[0]),
				"--bind", "127.0.0.1",
				"--protected-mode", "no", // loopback only, and no password to set
				"--save", "",
				"--appendonly", "no",
				"--dir", dir,
				"--daemonize", "no",
				"--logfile", "", // stdout, which goes to the log file
			}
		},
		probe: func(ctx context.Context, addr string, pid int) error {
			return probeRedis(ctx, addr, pid, nil)
		},
		pickPorts: freePorts,
	}, nil
}

// externalRedis checks that the server at raw answers and wraps it.
func externalRedis(raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, fmt.Errorf("testserver: %s=%q: want redis://[[user]:password@]host[:port][/db]", EnvRedisURL, raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	if u.Scheme == "redis" { // TLS is beyond this package's raw probe
		var auth []string
		if pw, ok := u.User.Password(); ok {
			if name := u.User.Username(); name != "" {
				auth = append(auth, name)
			}
			auth = append(auth, pw)
		}
		if err := waitProbe(externalTimeout, func() error { return probeRedis(context.Background(), addr, 0, auth) }); err != nil {
			return nil, fmt.Errorf("testserver: Redis from %s=%q does not answer PING: %v", EnvRedisURL, raw, err)
		}
	}
	return &Server{kind: "redis", addr: addr, url: raw, external: EnvRedisURL}, nil
}

// Memcached returns a running Memcached server that tb's cleanup stops: a
// new memcached on a free loopback port, or the first server named by
// HTTPCACHE_MEMCACHED_ADDR. Without memcached on PATH it skips tb (fails it
// under CI=true).
func Memcached(tb testing.TB) *Server {
	tb.Helper()
	return MemcachedPool(tb, 1)[0]
}

// MemcachedPool returns n running Memcached servers that tb's cleanup stops,
// or the first n servers named by HTTPCACHE_MEMCACHED_ADDR (skipping tb, or
// failing it under CI=true, if it names fewer).
func MemcachedPool(tb testing.TB, n int) []*Server {
	tb.Helper()
	if n < 1 {
		panic("testserver: MemcachedPool needs n >= 1")
	}
	servers, err := newMemcachedPool(n)
	if err != nil {
		for _, s := range servers {
			s.close()
		}
		fail(tb, err)
	}
	for _, s := range servers {
		own(tb, s)
	}
	return servers
}

func newMemcachedPool(n int) ([]*Server, error) {
	if raw := os.Getenv(EnvMemcachedAddr); raw != "" {
		addrs, err := splitAddrs(EnvMemcachedAddr, raw)
		if err != nil {
			return nil, err
		}
		if len(addrs) < n {
			return nil, &unavailableError{fmt.Sprintf(
				"testserver: the test needs %d memcached servers but %s lists %d", n, EnvMemcachedAddr, len(addrs))}
		}
		var servers []*Server
		for _, addr := range addrs[:n] {
			if err := waitProbe(externalTimeout, func() error { return probeMemcached(context.Background(), addr, 0) }); err != nil {
				return nil, fmt.Errorf("testserver: memcached %s from %s does not answer: %v", addr, EnvMemcachedAddr, err)
			}
			servers = append(servers, &Server{kind: "memcached", addr: addr, external: EnvMemcachedAddr})
		}
		return servers, nil
	}
	sp, err := memcachedSpec()
	if err != nil {
		return nil, err
	}
	var servers []*Server
	for range n {
		s, err := startLocal(sp)
		if err != nil {
			return servers, err
		}
		servers = append(servers, s)
	}
	return servers, nil
}

func memcachedSpec() (*spec, error) {
	program, err := lookProgram("memcached", EnvMemcachedAddr)
	if err != nil {
		return nil, err
	}
	return &spec{
		kind:    "memcached",
		program: program,
		nports:  1,
		args: func(_ string, ports []int) []string {
			// No "-u nobody": as root, dropRoot runs memcached as nobody
			// from the start (see dropRoot for why).
			return []string{"-l", "127.0.0.1", "-p", strconv.Itoa(ports[0]), "-U", "0", "-m", "64"}
		},
		cred: dropRoot(),
		probe: func(ctx context.Context, addr string, pid int) error {
			return probeMemcached(ctx, addr, pid)
		},
		pickPorts: freePorts,
	}, nil
}

// splitAddrs parses a comma-separated host:port list from env.
func splitAddrs(env, raw string) ([]string, error) {
	var addrs []string
	for a := range strings.SplitSeq(raw, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("testserver: %s=%q: %v", env, raw, err)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("testserver: %s=%q lists no host:port", env, raw)
	}
	return addrs, nil
}
