// Command loopback measures, over loopback HTTP with wrk, servers
// answering GETs for N-byte bodies that carry "Cache-Control: public,
// max-age=3600":
//
//   - origin: a Go net/http origin serving the bytes itself;
//   - proxy: example/proxy (memory store) in front of that origin, every
//     request a hit;
//   - proxy-redis: example/proxy on a Redis store, every request a hit read
//     from Redis (not measured unless asked for with -targets);
//   - proxy-tiered: example/proxy on the tiered store (an in-process L1 in
//     front of Redis), every request an L1 hit (not measured unless asked
//     for);
//   - nginx: Debian's nginx with proxy_cache in front of that origin (one
//     worker, keep-alive upstream, access log off), every request a hit.
//
// wrk runs pinned to one core and the servers to another (taskset). With a
// Redis target, the harness starts its own redis-server, without
// persistence, pinned to the servers' core too: the proxy and Redis share
// it, as they would on a host running both. The targets are measured in
// interleaved rounds, each for a bounded time; the report gives, per body
// size and target, the median requests per second, the median CPU time the
// server's processes spent per request (utime and stime from
// /proc/PID/stat), for a Redis target also with redis-server's, and both as
// ratios to the origin's and to the memory-store proxy's.
//
//	cd bench && go run ./cmd/loopback -rounds 5 -duration 5s
//
// Everything listens on 127.0.0.1 on free ports; nginx's configuration,
// cache, pid file and logs live in a temporary directory removed at the
// end. Every process started is stopped at the end, on an error, and on
// SIGINT or SIGTERM.
//
// With "origin" as its first argument the command is the origin alone
// (the harness starts itself that way):
//
//	loopback origin -listen 127.0.0.1:9000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "origin" {
		if err := serveOrigin(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "loopback origin: %v\n", err)
			os.Exit(1)
		}
		return
	}
	// SIGINT or SIGTERM ends the context: run then stops what it started.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "loopback: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// Target names, in the order they are measured in each round.
const (
	targetOrigin      = "origin"
	targetProxy       = "proxy"
	targetProxyRedis  = "proxy-redis"
	targetProxyTiered = "proxy-tiered"
	targetNginx       = "nginx"
)

// allTargets is every target, in the order of a round; defaultTargets
// those -targets names by default.
var (
	allTargets     = []string{targetOrigin, targetProxy, targetProxyRedis, targetProxyTiered, targetNginx}
	defaultTargets = []string{targetOrigin, targetProxy, targetNginx}
)

// redisTargets are the targets whose proxy uses the harness's
// redis-server.
var redisTargets = []string{targetProxyRedis, targetProxyTiered}

// config is what the flags say.
type config struct {
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	sizes       []int
	targets     []string
	connections int
	threads     int
	clientCPU   int
	serverCPU   int
	root        string
	nginx       string
	wrk         string
	redis       string // redis-server binary
	raw         string
	timeout     time.Duration
	keep        bool
	tmp         string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loopback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.IntVar(&c.rounds, "rounds", 5, "rounds; each measures every target at every size once, in turn (1 to 100)")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "duration of one measurement, in whole seconds (1s to 5m)")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "duration of one warm-up run of every target at every size before the first round, in whole seconds; 0 for none")
	sizes := fs.String("sizes", "1024,65536", "comma-separated body sizes in bytes (1 to 16777216)")
	targets := fs.String("targets", strings.Join(defaultTargets, ","), "comma-separated targets: origin (required, the baseline), proxy, proxy-redis, proxy-tiered, nginx")
	fs.IntVar(&c.connections, "connections", 16, "wrk's keep-alive connections (-c)")
	fs.IntVar(&c.threads, "threads", 1, "wrk's threads (-t)")
	fs.IntVar(&c.clientCPU, "client-cpu", 0, "the CPU wrk is pinned to")
	fs.IntVar(&c.serverCPU, "server-cpu", 1, "the CPU the origin, the proxies, redis-server and nginx are pinned to")
	fs.StringVar(&c.root, "root", "", "directory of the httpcache module, to build example/proxy from; if empty, the nearest parent of the working directory holding it")
	fs.StringVar(&c.nginx, "nginx", "nginx", "nginx binary")
	fs.StringVar(&c.wrk, "wrk", "wrk", "wrk binary")
	fs.StringVar(&c.redis, "redis-server", "redis-server", "redis-server binary, started for the proxy-redis and proxy-tiered targets")
	fs.StringVar(&c.raw, "raw", "", "if set, also write each measurement to this file in Go benchmark format, for benchstat -col /target")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (nginx.conf, logs) and print its path")
	fs.StringVar(&c.tmp, "tmp", "", "directory to make the temporary directory in, which holds nginx's cache (e.g. /dev/shm for tmpfs); if empty, $TMPDIR or /tmp")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.rounds < 1 || c.rounds > 100 {
		return nil, fmt.Errorf("-rounds %d: want 1 to 100", c.rounds)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
		min  time.Duration
	}{{"-duration", c.duration, time.Second}, {"-warmup", c.warmup, 0}} {
		if d.d < d.min || d.d > 5*time.Minute || d.d%time.Second != 0 {
			return nil, fmt.Errorf("%s %v: want whole seconds, %v to 5m", d.name, d.d, d.min)
		}
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > maxBody {
			return nil, fmt.Errorf("-sizes: %q is not a size from 1 to %d", s, maxBody)
		}
		c.sizes = append(c.sizes, n)
	}
	seen := map[string]bool{}
	for _, t := range strings.Split(*targets, ",") {
		t = strings.TrimSpace(t)
		switch {
		case !contains(allTargets, t):
			return nil, fmt.Errorf("-targets: unknown target %q", t)
		case seen[t]:
			return nil, fmt.Errorf("-targets: %q twice", t)
		}
		seen[t] = true
	}
	if !seen[targetOrigin] {
		return nil, errors.New("-targets: origin is required: it is the baseline")
	}
	for _, t := range allTargets { // the order of a round is fixed
		if seen[t] {
			c.targets = append(c.targets, t)
		}
	}
	if c.connections < 1 || c.connections > 1000 || c.threads < 1 || c.threads > c.connections {
		return nil, fmt.Errorf("-connections %d, -threads %d: want 1 ≤ threads ≤ connections ≤ 1000", c.connections, c.threads)
	}
	if c.clientCPU < 0 || c.serverCPU < 0 || c.clientCPU == c.serverCPU {
		return nil, fmt.Errorf("-client-cpu %d, -server-cpu %d: want two different CPUs", c.clientCPU, c.serverCPU)
	}
	runs := c.rounds*len(c.sizes)*len(c.targets)*int(c.duration/time.Second) + len(c.sizes)*len(c.targets)*int(c.warmup/time.Second)
	if need := time.Duration(runs)*time.Second + time.Minute; need > c.timeout {
		return nil, fmt.Errorf("the runs take about %v, more than -timeout %v", need, c.timeout)
	}
	return c, nil
}

// needsRedis reports whether a target uses the harness's redis-server.
func (c *config) needsRedis() bool {
	for _, t := range redisTargets {
		if contains(c.targets, t) {
			return true
		}
	}
	return false
}

// proxyStoreArgs returns example/proxy's store flags for target, with
// redis-server on redisAddr, or nil if target is not example/proxy. The
// tiered proxy uses database 1 and the Redis one database 0, so that
// neither finds the other's entries: each target's first request is a miss
// of its own, stored through its own store.
func proxyStoreArgs(target, redisAddr string) []string {
	switch target {
	case targetProxy:
		return []string{"-store", "memory"}
	case targetProxyRedis:
		return []string{"-store", "redis", "-redis", "redis://" + redisAddr + "/0"}
	case targetProxyTiered:
		return []string{"-store", "tiered", "-redis", "redis://" + redisAddr + "/1"}
	}
	return nil
}

// server is one target: the URL wrk asks and the processes whose CPU time
// is counted.
type server struct {
	name   string
	base   string // http://127.0.0.1:port
	proc   *proc
	cached bool // every request should be a hit: the origin must not be asked
	// store is the redis-server the target's proxy uses, or nil; its
	// CPU time is counted apart, and its commands counted.
	store     *proc
	storeAddr string
	// localHits: every hit should be served from the proxy's memory (the
	// tiered store's L1), without a Redis command.
	localHits bool
}

// measurement is one wrk run against one target at one size.
type measurement struct {
	target    string
	size      int
	round     int
	requests  int64
	rps       float64
	cpuPerReq time.Duration // server CPU per request
	// With a store (redis-server): the server's and the store's CPU per
	// request, and the commands the store processed per request.
	hasStore           bool
	cpuWithStorePerReq time.Duration
	storeCmdsPerReq    float64
	// serverBusy and clientBusy are the CPU time of the server's
	// processes (and its store's, which shares its CPU) and of wrk over
	// the run's wall time: a server well below 1 was not the bottleneck
	// (wrk was, or the machine's other work).
	serverBusy, clientBusy float64
	originHit              int64 // origin requests during a cached target's run
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	for _, tool := range []string{"taskset", c.wrk} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s: %w (Debian: apt-get install -y wrk util-linux)", tool, err)
		}
	}
	if contains(c.targets, targetNginx) {
		if _, err := exec.LookPath(c.nginx); err != nil {
			return fmt.Errorf("%s: %w (Debian: apt-get install -y nginx)", c.nginx, err)
		}
	}
	if c.needsRedis() {
		if _, err := exec.LookPath(c.redis); err != nil {
			return fmt.Errorf("%s: %w (Debian: apt-get install -y redis-server)", c.redis, err)
		}
	}
	tick, err := clockTick()
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp(c.tmp, "httpcache-loopback-")
	if err != nil {
		return err
	}
	if c.keep {
		fmt.Fprintf(stderr, "temporary directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	procs := &group{stderr: stderr}
	defer procs.stopAll()

	addrs, err := freeAddrs(6)
	if err != nil {
		return err
	}
	originAddr, nginxAddr, redisAddr := addrs[0], addrs[1], addrs[2]
	proxyAddrs := map[string]string{targetProxy: addrs[3], targetProxyRedis: addrs[4], targetProxyTiered: addrs[5]}
	pin := []string{"-c", strconv.Itoa(c.serverCPU)}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	origin, err := procs.start(ctx, "origin", filepath.Join(dir, "origin.log"), "taskset", append(pin, self, "origin", "-listen", originAddr)...)
	if err != nil {
		return err
	}
	if err := waitListening(ctx, originAddr, origin); err != nil {
		return err
	}
	servers := []*server{{name: targetOrigin, base: "http://" + originAddr, proc: origin}}

	var redis *proc
	if c.needsRedis() {
		if redis, err = startRedis(ctx, procs, c.redis, dir, redisAddr, pin); err != nil {
			return err
		}
	}
	var proxyBin string
	for _, t := range c.targets {
		storeArgs := proxyStoreArgs(t, redisAddr)
		if storeArgs == nil {
			continue // not a proxy
		}
		if proxyBin == "" {
			proxyBin = filepath.Join(dir, "proxy")
			if err := buildProxy(ctx, c.root, proxyBin, stderr); err != nil {
				return err
			}
		}
		addr := proxyAddrs[t]
		args := append(append([]string(nil), pin...), proxyBin, "-listen", addr, "-origin", "http://"+originAddr)
		p, err := procs.start(ctx, t, filepath.Join(dir, t+".log"), "taskset", append(args, storeArgs...)...)
		if err != nil {
			return err
		}
		if err := waitListening(ctx, addr, p); err != nil {
			return err
		}
		s := &server{name: t, base: "http://" + addr, proc: p, cached: true}
		if contains(redisTargets, t) {
			s.store, s.storeAddr = redis, redisAddr
			s.localHits = t == targetProxyTiered
		}
		servers = append(servers, s)
	}
	if contains(c.targets, targetNginx) {
		conf, err := writeNginxConf(dir, nginxAddr, originAddr)
		if err != nil {
			return err
		}
		p, err := procs.start(ctx, "nginx", filepath.Join(dir, "nginx.out"), "taskset",
			append(pin, c.nginx, "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", conf)...)
		if err != nil {
			return err
		}
		if err := waitListening(ctx, nginxAddr, p); err != nil {
			return errors.Join(err, fileTail(filepath.Join(dir, "error.log")))
		}
		servers = append(servers, &server{name: targetNginx, base: "http://" + nginxAddr, proc: p, cached: true})
	}

	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	counter := "http://" + originAddr + countPath
	for _, size := range c.sizes {
		for _, s := range servers {
			if err := checkServes(ctx, client, s, size, counter); err != nil {
				return err
			}
		}
	}

	w := &wrk{bin: c.wrk, cpu: c.clientCPU, connections: c.connections, threads: c.threads}
	if c.warmup > 0 {
		for _, size := range c.sizes {
			for _, s := range servers {
				if _, err := w.run(ctx, bodyURL(s.base, size), c.warmup); err != nil {
					return fmt.Errorf("warm-up of %s at %d bytes: %w", s.name, size, err)
				}
			}
		}
	}

	var raw io.Writer = io.Discard
	if c.raw != "" {
		f, err := os.Create(c.raw)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		raw = f
		fmt.Fprintf(raw, "goos: linux\ngoarch: %s\n", runtime.GOARCH)
	}
	var results []measurement
	for round := 1; round <= c.rounds; round++ {
		for _, size := range c.sizes {
			for _, s := range servers {
				m, err := measure(ctx, w, client, s, size, counter, c.duration, tick)
				if err != nil {
					return fmt.Errorf("round %d, %s at %d bytes: %w", round, s.name, size, err)
				}
				m.round = round
				results = append(results, m)
				fmt.Fprintln(stderr, progressLine(round, c.rounds, s.cached, m))
				if m.originHit > 0 {
					fmt.Fprintf(stderr, "  warning: %s asked the origin %d times: not every request was a hit\n", s.name, m.originHit)
				}
				fmt.Fprintln(raw, rawLine(m))
			}
		}
	}
	fmt.Fprintf(stdout, "%d round(s) of %v per target and size; wrk -t%d -c%d on CPU %d, servers on CPU %d\n\n",
		c.rounds, c.duration, c.threads, c.connections, c.clientCPU, c.serverCPU)
	writeSummary(stdout, summarize(results, c.sizes, c.targets))
	return nil
}

// measure runs wrk against s for d and reads the CPU time s's processes
// (and its store's) spent meanwhile, and the commands its store processed.
func measure(ctx context.Context, w *wrk, client *http.Client, s *server, size int, counter string, d time.Duration, tick time.Duration) (measurement, error) {
	m := measurement{target: s.name, size: size, hasStore: s.store != nil}
	pids := s.proc.pids()
	var storePids []int
	if s.store != nil {
		storePids = s.store.pids()
	}
	take := func() (snapshot, error) { return s.snapshot(ctx, client, counter, pids, storePids, tick) }
	before, err := take()
	if err != nil {
		return m, err
	}
	res, err := w.run(ctx, bodyURL(s.base, size), d)
	if err != nil {
		return m, err
	}
	after, err := take()
	if err != nil {
		return m, err
	}
	if res.requests == 0 {
		return m, errors.New("wrk completed no request")
	}
	cpu := cpuSpent(before.cpu, after.cpu)
	busy := cpu
	m.requests, m.rps = res.requests, res.rps
	m.cpuPerReq = cpu / time.Duration(res.requests)
	if s.store != nil {
		withStore := cpu + cpuSpent(before.storeCPU, after.storeCPU)
		busy = withStore
		m.cpuWithStorePerReq = withStore / time.Duration(res.requests)
		// The first INFO shows up in the second reading.
		m.storeCmdsPerReq = float64(after.storeCmds-before.storeCmds-1) / float64(res.requests)
	}
	m.serverBusy = float64(busy) / float64(res.wall)
	m.clientBusy = float64(res.cpu) / float64(res.wall)
	if s.cached {
		m.originHit = after.origin - before.origin
	}
	return m, nil
}

// cpuSpent sums, over the processes in both readings, the CPU time spent
// between them; a process started meanwhile is not counted.
func cpuSpent(before, after map[int]time.Duration) time.Duration {
	var cpu time.Duration
	for pid, t := range after {
		if t0, ok := before[pid]; ok {
			cpu += t - t0
		}
	}
	return cpu
}

// checkServes asks s for a body of size bytes until it answers without
// asking the origin (for a cached target: a hit), a bounded number of
// times, and checks the status and the length.
func checkServes(ctx context.Context, client *http.Client, s *server, size int, counter string) error {
	url := bodyURL(s.base, size)
	for try := 0; try < 40; try++ {
		before, err := originCount(ctx, client, counter)
		if err != nil {
			return err
		}
		n, err := get(ctx, client, url)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if n != size {
			return fmt.Errorf("%s: GET %s: %d bytes, want %d", s.name, url, n, size)
		}
		after, err := originCount(ctx, client, counter)
		if err != nil {
			return err
		}
		if !s.cached || after == before {
			if s.localHits {
				return waitLocalHits(ctx, client, s, url)
			}
			return nil
		}
		// The proxy stores in the background: give it a moment.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: GET %s still reaches the origin after 40 requests: not cached", s.name, url)
}

// localHitWait bounds how long waitLocalHits waits for the tiered store
// to use its L1: it does once its instance is registered in Redis, which
// takes its subscription working.
const localHitWait = 20 * time.Second

// waitLocalHits GETs url, a hit, until one is served without a command to
// s's Redis: then s's hits come from its L1, which the tiered store uses
// only once it has registered (until then it reads Redis alone), and
// fills with the copy read from Redis by the first hit after that.
func waitLocalHits(ctx context.Context, client *http.Client, s *server, url string) error {
	deadline := time.Now().Add(localHitWait)
	for {
		before, err := redisCommandsProcessed(ctx, s.storeAddr)
		if err != nil {
			return err
		}
		if _, err := get(ctx, client, url); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		after, err := redisCommandsProcessed(ctx, s.storeAddr)
		if err != nil {
			return err
		}
		if after-before-1 == 0 { // the first INFO shows up in the second reading
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: GET %s still sends commands to Redis after %v: its hits are not served from L1", s.name, url, localHitWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// get fetches url and returns the body's length; any status but 200 is an
// error.
func get(ctx context.Context, client *http.Client, url string) (int, error) {
	resp, err := send(ctx, client, url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return int(n), nil
}

// originCount reads how many body requests the origin has answered.
func originCount(ctx context.Context, client *http.Client, counter string) (int64, error) {
	resp, err := send(ctx, client, counter)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// send GETs url with ctx.
func send(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

// buildProxy builds example/proxy from the httpcache module at root (or
// the nearest parent of the working directory holding it) into bin.
func buildProxy(ctx context.Context, root, bin string, stderr io.Writer) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./example/proxy")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building example/proxy in %s: %w", root, err)
	}
	return nil
}

const rootModule = "module github.com/seedcache/httpcache"

// findRoot returns the nearest directory, from the working directory up,
// whose go.mod declares the httpcache module itself (not bench's).
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 32 {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(line) == rootModule {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no parent directory holds the httpcache module: give -root")
}

// freeAddrs returns n distinct free loopback addresses: all are held open
// together, then released for the servers to take.
func freeAddrs(n int) ([]string, error) {
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// waitListening waits, at most 15 s, until addr accepts connections, or
// p exits.
func waitListening(ctx context.Context, addr string, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening on %s: %v%s", p.name, addr, p.err, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s is not listening on %s: %w%s", p.name, addr, ctx.Err(), p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func bodyURL(base string, size int) string { return base + bodyPath + strconv.Itoa(size) }

// sizeName is 1KiB for 1024, 64KiB for 65536, 1000B for 1000.
func sizeName(n int) string {
	if n%1024 == 0 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fileTail returns the end of a log file as an error, or nil if it is
// empty or missing.
func fileTail(path string) error {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Errorf("%s:\n%s", path, b)
}

// snapshot is what a target has spent at one instant: the CPU time of its
// processes and, for a Redis-backed one, of its redis-server's and the
// commands redis-server processed; and the requests the origin has had.
type snapshot struct {
	cpu, storeCPU map[int]time.Duration
	storeCmds     int64
	origin        int64
}

// snapshot takes one of s, whose processes are pids and whose
// redis-server's are storePids (none for a target without one).
func (s *server) snapshot(ctx context.Context, client *http.Client, counter string, pids, storePids []int, tick time.Duration) (snapshot, error) {
	var snap snapshot
	var err error
	if snap.cpu, err = cpuTimes(pids, tick); err != nil {
		return snap, err
	}
	if s.store != nil {
		if snap.storeCPU, err = cpuTimes(storePids, tick); err != nil {
			return snap, err
		}
		if snap.storeCmds, err = redisCommandsProcessed(ctx, s.storeAddr); err != nil {
			return snap, err
		}
	}
	snap.origin, err = originCount(ctx, client, counter)
	return snap, err
}
