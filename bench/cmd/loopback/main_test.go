package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
	c, err = parseFlags([]string{"-targets", "nginx,origin"}, io.Discard)
	if err != nil || strings.Join(c.targets, ",") != "origin,nginx" {
		t.Errorf("targets %v, %v; want origin first", c.targets, err)
	}
	for _, args := range [][]string{
		{"-targets", "proxy"},
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
// example/proxy and nginx, each measured for a second at each size. It
// needs nginx, wrk and two CPUs, so it runs only with
// HTTPCACHE_BENCH_HTTP=1.
func TestHarnessOverLoopback(t *testing.T) {
	if os.Getenv("HTTPCACHE_BENCH_HTTP") != "1" {
		t.Skip("set HTTPCACHE_BENCH_HTTP=1 to run the loopback harness (needs nginx, wrk, taskset)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	raw := filepath.Join(t.TempDir(), "raw.txt")
	var out, log bytes.Buffer
	if err := run(ctx, []string{"-rounds", "1", "-duration", "1s", "-warmup", "0s", "-raw", raw}, &out, &log); err != nil {
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
		for _, target := range allTargets {
			if want := "BenchmarkLoopback/size=" + size + "/target=" + target + " "; !strings.Contains(string(b), want) {
				t.Errorf("raw file has no %q line:\n%s", want, b)
			}
		}
	}
	if kids := children(os.Getpid()); len(kids) != 0 {
		t.Errorf("processes left running: %v", kids)
	}
}
