package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the origin process, as the harness
// starts its own executable with "origin" as the first argument.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "origin" {
		if err := serveOrigin(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

func TestOriginServesShareableBodies(t *testing.T) {
	srv := httptest.NewServer(newOrigin())
	defer srv.Close()
	for _, size := range []int{1, 1024, 65536} {
		resp, err := http.Get(bodyURL(srv.URL, size))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, bytes.Repeat([]byte("x"), size)) {
			t.Errorf("size %d: status %d, %d bytes", size, resp.StatusCode, len(body))
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
			t.Errorf("size %d: Cache-Control %q", size, got)
		}
	}
	for _, path := range []string{"/", "/bytes/", "/bytes/0", "/bytes/x", "/bytes/99999999", "/other/12"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
	n, err := originCount(context.Background(), srv.Client(), srv.URL+countPath)
	if err != nil || n != 3 {
		t.Errorf("count %d, %v; want 3 (the bodies served, not the 404s)", n, err)
	}
}

const wrkReport = `Running 2s test @ http://127.0.0.1:40001/bytes/1024
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms    0.50ms  10.00ms   90.00%
    Req/Sec    13.50k     1.00k   15.00k    70.00%
  27000 requests in 2.00s, 30.00MB read
Requests/sec:  13500.25
Transfer/sec:     15.00MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil || r.requests != 27000 || r.rps != 13500.25 {
		t.Errorf("parseWrk = %+v, %v; want 27000 requests, 13500.25/s", r, err)
	}
	for name, report := range map[string]string{
		"non-2xx":       strings.Replace(wrkReport, "Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec", 1),
		"socket errors": strings.Replace(wrkReport, "Requests/sec", "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec", 1),
		"no rate":       "unable to connect to 127.0.0.1:1 Connection refused\n",
	} {
		if _, err := parseWrk(report); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCPUTimeSkipsTheCommandName(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime ...; the name may hold ") ".
	stat := "4242 (nginx: a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10\n"
	got, err := cpuTime(stat, 10*time.Millisecond)
	if err != nil || got != 3*time.Second {
		t.Errorf("cpuTime = %v, %v; want 3s (300 ticks of 10ms)", got, err)
	}
	fields, err := statFields(stat)
	if err != nil || fields[1] != "1" {
		t.Errorf("ppid field %q, %v; want 1", fields[1], err)
	}
	if _, err := cpuTime("4242 (x) S 1 2", 10*time.Millisecond); err == nil {
		t.Error("a short stat line parsed")
	}
}

func TestSummarizeTakesMediansAndRatiosToTheOrigin(t *testing.T) {
	var ms []measurement
	for i, rps := range []float64{100, 300, 200} {
		ms = append(ms,
			measurement{target: targetOrigin, size: 1024, round: i + 1, rps: rps, cpuPerReq: 10 * time.Microsecond},
			measurement{target: targetProxy, size: 1024, round: i + 1, rps: rps / 2, cpuPerReq: 20 * time.Microsecond, originHit: int64(i)})
	}
	rows := summarize(ms, []int{1024}, []string{targetOrigin, targetProxy})
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	o, p := rows[0], rows[1]
	if o.rps != 200 || o.minRPS != 100 || o.maxRPS != 300 || o.rpsRatio != 1 {
		t.Errorf("origin row %+v", o)
	}
	if p.rps != 100 || p.rpsRatio != 0.5 || p.cpu != 20*time.Microsecond || p.cpuRatio != 2 || p.originRequests != 3 {
		t.Errorf("proxy row %+v", p)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", got)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.rounds != 5 || c.duration != 5*time.Second || len(c.sizes) != 2 || strings.Join(c.targets, ",") != "origin,proxy,nginx" {
		t.Errorf("defaults %+v", c)
	}
	if c.redis != "redis-server" || c.needsRedis() {
		t.Errorf("defaults: redis-server %q, needs Redis %v; want redis-server, false", c.redis, c.needsRedis())
	}
	c, err = parseFlags([]string{"-targets", "nginx,origin"}, io.Discard)
	if err != nil || strings.Join(c.targets, ",") != "origin,nginx" {
		t.Errorf("targets %v, %v; want origin first", c.targets, err)
	}
	for _, tc := range []struct {
		targets, want string
	}{
		{"proxy-tiered, nginx,origin,proxy-redis", "origin,proxy-redis,proxy-tiered,nginx"},
		{"origin,proxy-redis", "origin,proxy-redis"},
		{"proxy-tiered,origin", "origin,proxy-tiered"},
		{"proxy,proxy-tiered,origin,proxy-redis", "origin,proxy,proxy-redis,proxy-tiered"},
	} {
		c, err := parseFlags([]string{"-targets", tc.targets, "-redis-server", "/opt/redis/bin/redis-server"}, io.Discard)
		if err != nil || strings.Join(c.targets, ",") != tc.want || !c.needsRedis() || c.redis != "/opt/redis/bin/redis-server" {
			t.Errorf("-targets %q: %+v, %v; want %s in that order, needing Redis", tc.targets, c, err, tc.want)
		}
	}
	for _, args := range [][]string{
		{"-targets", "proxy"},
		{"-targets", "proxy-redis"},
		{"-targets", "origin,redis"},
		{"-targets", "origin,proxy-memcached"},
		{"-targets", "origin,proxy-redis,proxy-redis"},
		{"-targets", "origin,varnish"},
		{"-targets", "origin,origin"},
		{"-client-cpu", "1", "-server-cpu", "1"},
		{"-duration", "1500ms"},
		{"-duration", "0s"},
		{"-rounds", "0"},
		{"-sizes", "0"},
		{"-rounds", "100", "-duration", "5m", "-timeout", "1h"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestProxyStoreArgs(t *testing.T) {
	for target, want := range map[string]string{
		targetProxy:       "-store memory",
		targetProxyRedis:  "-store redis -redis redis://127.0.0.1:7000/0",
		targetProxyTiered: "-store tiered -redis redis://127.0.0.1:7000/1",
	} {
		if got := strings.Join(proxyStoreArgs(target, "127.0.0.1:7000"), " "); got != want {
			t.Errorf("%s: %q, want %q", target, got, want)
		}
	}
	for _, target := range []string{targetOrigin, targetNginx} {
		if got := proxyStoreArgs(target, "127.0.0.1:7000"); got != nil {
			t.Errorf("%s is not a proxy, but has store flags %q", target, got)
		}
	}
}

func TestSummarizeReportsTheStoreApartAndRatiosToTheProxy(t *testing.T) {
	var ms []measurement
	for i := range 3 {
		us := time.Duration(i) * time.Microsecond // 0, 1, 2: medians of 10, 20, 40 … are the middle run's
		ms = append(ms,
			measurement{target: targetOrigin, size: 1024, round: i + 1, rps: 100, cpuPerReq: 10*time.Microsecond + us},
			measurement{target: targetProxy, size: 1024, round: i + 1, rps: 200, cpuPerReq: 20*time.Microsecond + us},
			measurement{target: targetProxyRedis, size: 1024, round: i + 1, rps: 50, cpuPerReq: 40*time.Microsecond + us,
				hasStore: true, cpuWithStorePerReq: 60*time.Microsecond + us, storeCmdsPerReq: float64(i)},
			measurement{target: targetProxyTiered, size: 1024, round: i + 1, rps: 190, cpuPerReq: 21*time.Microsecond + us,
				hasStore: true, cpuWithStorePerReq: 21*time.Microsecond + us},
			measurement{target: targetNginx, size: 1024, round: i + 1, rps: 150, cpuPerReq: 30*time.Microsecond + us})
	}
	rows := summarize(ms, []int{1024}, allTargets)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	o, p, r, ti, n := rows[0], rows[1], rows[2], rows[3], rows[4]
	if o.hasStore || o.cpuVsProxy != 0 || o.cpuRatio != 1 {
		t.Errorf("origin row %+v: want no store and no ratio to the proxy", o)
	}
	if p.hasStore || p.cpuVsProxy != 1 || p.cpuWithStoreVsProxy != 0 {
		t.Errorf("proxy row %+v", p)
	}
	if !r.hasStore || r.cpu != 41*time.Microsecond || r.cpuWithStore != 61*time.Microsecond || r.storeCmds != 1 ||
		r.cpuVsProxy != 41.0/21 || r.cpuWithStoreVsProxy != 61.0/21 || r.rpsRatio != 0.5 {
		t.Errorf("proxy-redis row %+v", r)
	}
	if !ti.hasStore || ti.cpuWithStore != 22*time.Microsecond || ti.storeCmds != 0 || ti.cpuWithStoreVsProxy != 22.0/21 {
		t.Errorf("proxy-tiered row %+v", ti)
	}
	if n.hasStore || n.cpuVsProxy != 31.0/21 {
		t.Errorf("nginx row %+v", n)
	}

	// Without the memory-store proxy there is no ratio to it.
	rows = summarize(ms, []int{1024}, []string{targetOrigin, targetProxyRedis})
	if len(rows) != 2 || rows[1].cpuVsProxy != 0 || rows[1].cpuWithStoreVsProxy != 0 || rows[1].cpuRatio != 41.0/11 {
		t.Errorf("rows without the proxy %+v", rows)
	}
}

func TestSummaryShowsTheStoreColumnsForRedisTargetsOnly(t *testing.T) {
	rows := []row{
		{size: 1024, target: targetOrigin, n: 1, rps: 100, minRPS: 100, maxRPS: 100, rpsRatio: 1, cpu: 10 * time.Microsecond, cpuRatio: 1},
		{size: 1024, target: targetProxy, n: 1, rps: 200, minRPS: 200, maxRPS: 200, rpsRatio: 2, cpu: 20 * time.Microsecond, cpuRatio: 2,
			cpuVsProxy: 1, checkedForOrigin: true},
		{size: 1024, target: targetProxyRedis, n: 1, rps: 50, minRPS: 50, maxRPS: 50, rpsRatio: 0.5, cpu: 40 * time.Microsecond, cpuRatio: 4,
			cpuVsProxy: 2, hasStore: true, cpuWithStore: 55 * time.Microsecond, cpuWithStoreVsProxy: 2.75, storeCmds: 1, checkedForOrigin: true, originRequests: 3},
	}
	var b bytes.Buffer
	writeSummary(&b, rows)
	lines := strings.Split(b.String(), "\n")
	for i, want := range [][]string{
		{"size", "target", "CPU µs/req (median)", "× proxy", "with store µs/req", "store cmds/req", "origin asked"},
		{"1KiB", "origin", "100", "1.00", "10.00", "-", "-", "-", "-", "-"},
		{"1KiB", "proxy", "200", "2.00", "20.00", "1.00", "-", "-", "-", "0"},
		{"1KiB", "proxy-redis", "50", "0.50", "40.00", "4.00", "2.00", "55.00", "2.75", "1.00", "3"},
	} {
		if i >= len(lines) {
			t.Fatalf("no line %d in:\n%s", i, b.String())
		}
		if !inOrder(lines[i], want) {
			t.Errorf("line %d %q: want %q in that order", i, lines[i], want)
		}
	}
	if got := strings.Count(lines[1], " -"); got != 5 {
		t.Errorf("origin line %q: %d dashes, want 5 (× proxy, with store, its × proxy, store cmds, origin asked)", lines[1], got)
	}
	if got := strings.Count(lines[2], " -"); got != 3 {
		t.Errorf("proxy line %q: %d dashes, want 3 (with store, its × proxy, store cmds)", lines[2], got)
	}
}

// inOrder reports whether line holds the fields of want in that order,
// each a whole space-separated field or run of fields.
func inOrder(line string, want []string) bool {
	rest := " " + line + " "
	for _, w := range want {
		i := strings.Index(rest, " "+w+" ")
		if i < 0 {
			return false
		}
		rest = rest[i+len(w)+1:]
	}
	return true
}

func TestRunLinesCarryTheStoreForRedisTargets(t *testing.T) {
	mem := measurement{target: targetProxy, size: 1024, requests: 1000, rps: 500, cpuPerReq: 20 * time.Microsecond, serverBusy: 1, clientBusy: 0.5}
	red := measurement{target: targetProxyRedis, size: 65536, requests: 1000, rps: 250, cpuPerReq: 40 * time.Microsecond,
		hasStore: true, cpuWithStorePerReq: 55500 * time.Nanosecond, storeCmdsPerReq: 1.0004, originHit: 2}
	for _, tc := range []struct {
		name, got, want string
	}{
		{"raw memory", rawLine(mem), "BenchmarkLoopback/size=1KiB/target=proxy 1000 500.0 req/s 20.000 cpu-us/req"},
		{"raw redis", rawLine(red), "BenchmarkLoopback/size=64KiB/target=proxy-redis 1000 250.0 req/s 40.000 cpu-us/req 55.500 cpu-with-store-us/req 1.0004 store-cmds/req"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, tc.got, tc.want)
		}
	}
	if got := progressLine(1, 5, true, mem); strings.Contains(got, "store") || !strings.HasSuffix(got, "origin asked 0") {
		t.Errorf("memory proxy's progress line %q", got)
	}
	if got := progressLine(2, 5, true, red); !strings.Contains(got, " 55.50 µs with store   1.00 store cmds/req") || !strings.HasSuffix(got, "origin asked 2") {
		t.Errorf("proxy-redis's progress line %q", got)
	}
	if got := progressLine(1, 5, false, measurement{target: targetOrigin, size: 1024}); strings.Contains(got, "origin asked") {
		t.Errorf("the origin's progress line %q tells whether it asked itself", got)
	}
}

func TestReadReplyAndInfoField(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            bool
	}{
		{"simple", "+PONG\r\n", "PONG", false},
		{"bulk", "$12\r\nhello\r\nworld\r\n", "hello\r\nworld", false},
		{"error", "-ERR unknown command\r\n", "", true},
		{"integer", ":1\r\n", "", true},
		{"short bulk", "$10\r\nabc\r\n", "", true},
		{"empty", "", "", true},
	} {
		got, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%s: %q, %v; want %q, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	info := "# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:42\r\ninstantaneous_ops_per_sec:0\r\n"
	if n, err := infoField(info, "total_commands_processed"); err != nil || n != 42 {
		t.Errorf("total_commands_processed = %d, %v; want 42", n, err)
	}
	if _, err := infoField(info, "total_commands"); err == nil {
		t.Error("a field found by its prefix")
	}
}

// TestRedisServerStartsCountsAndStops starts the harness's redis-server,
// reads its command count twice, and stops it.
func TestRedisServerStartsCountsAndStops(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (apt-get install -y redis-server)")
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("taskset is not installed (apt-get install -y util-linux)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addrs, err := freeAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	procs := &group{stderr: &log}
	stopped := false
	defer func() {
		if !stopped {
			procs.stopAll()
		}
	}()
	p, err := startRedis(ctx, procs, "redis-server", t.TempDir(), addrs[0], []string{"-c", "0"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := redisCommandsProcessed(ctx, addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := redisPing(ctx, addrs[0]); err != nil {
		t.Fatal(err)
	}
	second, err := redisCommandsProcessed(ctx, addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	if second-first-1 != 1 {
		t.Errorf("commands between two readings around one PING: %d, want 1 (%d, then %d)", second-first-1, first, second)
	}
	if _, err := cpuTimes(p.pids(), 10*time.Millisecond); err != nil {
		t.Errorf("redis-server's CPU time: %v", err)
	}
	procs.stopAll()
	stopped = true
	select {
	case <-p.done:
	default:
		t.Error("redis-server still runs after stopAll")
	}
	if kids := children(os.Getpid()); len(kids) != 0 {
		t.Errorf("processes left running: %v\n%s", kids, log.String())
	}
}

// TestNginxAcceptsTheConfiguration runs nginx -t on the generated
// configuration, where nginx is installed.
func TestNginxAcceptsTheConfiguration(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skip("nginx is not installed")
	}
	dir := t.TempDir()
	conf, err := writeNginxConf(dir, "127.0.0.1:1", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nginx", "-t", "-p", dir+"/", "-e", filepath.Join(dir, "error.log"), "-c", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// TestHarnessOverLoopback runs the whole harness briefly: the origin,
// example/proxy (on the memory store, and where redis-server is installed
// on Redis and on the tiered store too) and nginx, each measured for a
// second at each size. It needs nginx, wrk and two CPUs, so it runs only
// with HTTPCACHE_BENCH_HTTP=1.
func TestHarnessOverLoopback(t *testing.T) {
	if os.Getenv("HTTPCACHE_BENCH_HTTP") != "1" {
		t.Skip("set HTTPCACHE_BENCH_HTTP=1 to run the loopback harness (needs nginx, wrk, taskset)")
	}
	targets := allTargets
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Log("redis-server is not installed: proxy-redis and proxy-tiered are not measured")
		targets = defaultTargets
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	raw := filepath.Join(t.TempDir(), "raw.txt")
	var out, log bytes.Buffer
	args := []string{"-rounds", "1", "-duration", "1s", "-warmup", "0s", "-raw", raw, "-targets", strings.Join(targets, ",")}
	if err := run(ctx, args, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("\n%s%s", log.String(), out.String())
	if strings.Contains(log.String(), "warning") {
		t.Error("a cached target asked the origin")
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []string{"1KiB", "64KiB"} {
		for _, target := range targets {
			want := "BenchmarkLoopback/size=" + size + "/target=" + target + " "
			if contains(redisTargets, target) {
				want = `(?m)^` + want + `\d+ [0-9.]+ req/s [0-9.]+ cpu-us/req [0-9.]+ cpu-with-store-us/req [0-9.]+ store-cmds/req$`
			} else {
				want = `(?m)^` + want + `\d+ [0-9.]+ req/s [0-9.]+ cpu-us/req$`
			}
			if !regexp.MustCompile(want).Match(b) {
				t.Errorf("raw file has no line matching %q:\n%s", want, b)
			}
		}
	}
	if kids := children(os.Getpid()); len(kids) != 0 {
		t.Errorf("processes left running: %v", kids)
	}
}
