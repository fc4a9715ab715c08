package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrk runs wrk pinned to one CPU.
type wrk struct {
	bin         string
	cpu         int
	connections int
	threads     int
}

// wrkResult is what one wrk run reports.
type wrkResult struct {
	requests int64
	rps      float64
	cpu      time.Duration // wrk's own CPU time (user and system)
	wall     time.Duration // from start to exit
}

// run runs wrk against url for d (whole seconds) and parses its report.
// The run is killed if it takes 30 s longer than d. Responses other than
// 2xx and 3xx, and socket errors, are errors.
func (w *wrk) run(ctx context.Context, url string, d time.Duration) (wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "taskset", "-c", strconv.Itoa(w.cpu), w.bin,
		"-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.connections),
		"-d", strconv.Itoa(int(d/time.Second))+"s", "--timeout", "5s", url)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if ctx.Err() != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: stopped: %w", url, context.Cause(ctx))
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	r, err := parseWrk(string(out))
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	r.wall = wall
	return r, err
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: (.*)$`)
)

// parseWrk reads the request count and rate from wrk's report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("wrk: %s responses other than 2xx or 3xx:\n%s", m[1], out)
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("wrk: socket errors: %s:\n%s", strings.TrimSpace(m[1]), out)
	}
	m := wrkRequests.FindStringSubmatch(out)
	rate := wrkRate.FindStringSubmatch(out)
	if m == nil || rate == nil {
		return r, fmt.Errorf("wrk: no request count or rate in:\n%s", out)
	}
	var err error
	if r.requests, err = strconv.ParseInt(m[1], 10, 64); err != nil {
		return r, err
	}
	if r.rps, err = strconv.ParseFloat(rate[1], 64); err != nil {
		return r, err
	}
	return r, nil
}
