package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// row is the summary of one target at one size over the rounds.
type row struct {
	size             int
	target           string
	n                int
	rps, minRPS      float64 // median and minimum
	maxRPS           float64
	cpu              time.Duration // median CPU per request
	rpsRatio         float64       // rps / origin's rps, at the same size
	cpuRatio         float64       // cpu / origin's cpu
	serverBusy       float64       // median
	clientBusy       float64       // median
	originRequests   int64         // summed over the rounds: hits only if 0
	checkedForOrigin bool
	// With a store (redis-server): the median CPU per request of the
	// server and the store together, and of the store's commands per
	// request.
	hasStore     bool
	cpuWithStore time.Duration
	storeCmds    float64
	// cpu and cpuWithStore over the memory-store proxy's cpu at the same
	// size; 0 when the proxy was not measured, and for the origin.
	cpuVsProxy, cpuWithStoreVsProxy float64
}

// summarize takes the medians over the rounds of each target at each
// size, and their ratios to the origin's and to the memory-store proxy's
// at that size.
func summarize(ms []measurement, sizes []int, targets []string) []row {
	var rows []row
	for _, size := range sizes {
		var sized []row
		var base, proxy row
		for _, target := range targets {
			var rps []float64
			var cpu, cpuWithStore []time.Duration
			var sbusy, cbusy, cmds []float64
			r := row{size: size, target: target, checkedForOrigin: target != targetOrigin}
			for _, m := range ms {
				if m.size == size && m.target == target {
					rps = append(rps, m.rps)
					cpu = append(cpu, m.cpuPerReq)
					sbusy = append(sbusy, m.serverBusy)
					cbusy = append(cbusy, m.clientBusy)
					r.originRequests += m.originHit
					if m.hasStore {
						cpuWithStore = append(cpuWithStore, m.cpuWithStorePerReq)
						cmds = append(cmds, m.storeCmdsPerReq)
					}
				}
			}
			if len(rps) == 0 {
				continue
			}
			r.n = len(rps)
			r.rps, r.cpu = median(rps), median(cpu)
			r.serverBusy, r.clientBusy = median(sbusy), median(cbusy)
			r.minRPS, r.maxRPS = slices.Min(rps), slices.Max(rps)
			if len(cpuWithStore) > 0 {
				r.hasStore = true
				r.cpuWithStore, r.storeCmds = median(cpuWithStore), median(cmds)
			}
			switch target {
			case targetOrigin:
				base = r
			case targetProxy:
				proxy = r
			}
			sized = append(sized, r)
		}
		// The ratios once every base is known, whatever the order.
		for i := range sized {
			r := &sized[i]
			if base.rps > 0 {
				r.rpsRatio = r.rps / base.rps
			}
			if base.cpu > 0 {
				r.cpuRatio = float64(r.cpu) / float64(base.cpu)
			}
			if proxy.cpu > 0 && r.target != targetOrigin {
				r.cpuVsProxy = float64(r.cpu) / float64(proxy.cpu)
				if r.hasStore {
					r.cpuWithStoreVsProxy = float64(r.cpuWithStore) / float64(proxy.cpu)
				}
			}
		}
		rows = append(rows, sized...)
	}
	return rows
}

// median of a non-empty list: the mean of the middle two for an even count.
func median[T float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func writeSummary(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\ttarget\treq/s (median)\tmin–max\t× origin\tCPU µs/req (median)\t× origin\t× proxy\t"+
		"with store µs/req\t× proxy\tstore cmds/req\tserver busy\twrk busy\torigin asked\t")
	for _, r := range rows {
		asked := "-"
		if r.checkedForOrigin {
			asked = fmt.Sprint(r.originRequests)
		}
		withStore, withStoreVsProxy, cmds := "-", "-", "-"
		if r.hasStore {
			withStore = fmt.Sprintf("%.2f", micros(r.cpuWithStore))
			withStoreVsProxy = ratio(r.cpuWithStoreVsProxy)
			cmds = fmt.Sprintf("%.2f", r.storeCmds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f–%.0f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%.0f%%\t%.0f%%\t%s\t\n",
			sizeName(r.size), r.target, r.rps, r.minRPS, r.maxRPS, r.rpsRatio, micros(r.cpu), r.cpuRatio,
			ratio(r.cpuVsProxy), withStore, withStoreVsProxy, cmds, 100*r.serverBusy, 100*r.clientBusy, asked)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nmedians over the rounds; × origin, × proxy: the median over the origin's, the memory-store proxy's")
	fmt.Fprintln(w, "median CPU at the same size;")
	fmt.Fprintln(w, "CPU: utime+stime of the server's processes (nginx: master and workers) per request completed;")
	fmt.Fprintln(w, "with store: that and redis-server's, which shares the server CPU (proxy-redis, proxy-tiered);")
	fmt.Fprintln(w, "store cmds/req: commands redis-server processed per request (from INFO stats);")
	fmt.Fprintln(w, "busy: CPU time over wall time of the server's processes (with redis-server's) and of wrk (a server")
	fmt.Fprintln(w, "well under 100% was not the bottleneck: wrk was, or other work on the machine); origin asked:")
	fmt.Fprintln(w, "requests that reached the origin during a cached target's runs (0: all hits).")
}

// ratio is r with two decimals, or "-" if it is 0 (not available).
func ratio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", r)
}

// progressLine is the line written to stderr after each run; a cached
// target's tells how many requests reached the origin.
func progressLine(round, rounds int, cached bool, m measurement) string {
	line := fmt.Sprintf("round %d/%d  %-6s %-12s %10.0f req/s  %6.2f µs CPU/req",
		round, rounds, sizeName(m.size), m.target, m.rps, micros(m.cpuPerReq))
	if m.hasStore {
		line += fmt.Sprintf("  %6.2f µs with store  %5.2f store cmds/req", micros(m.cpuWithStorePerReq), m.storeCmdsPerReq)
	}
	line += fmt.Sprintf("  server busy %3.0f%%  wrk busy %3.0f%%", 100*m.serverBusy, 100*m.clientBusy)
	if cached {
		line += fmt.Sprintf("  origin asked %d", m.originHit)
	}
	return line
}

// rawLine is a run in Go benchmark format, for benchstat: requests per
// second and CPU per request, and with a store the CPU per request with
// the store's and the store's commands per request.
func rawLine(m measurement) string {
	line := fmt.Sprintf("BenchmarkLoopback/size=%s/target=%s %d %.1f req/s %.3f cpu-us/req",
		sizeName(m.size), m.target, m.requests, m.rps, micros(m.cpuPerReq))
	if m.hasStore {
		line += fmt.Sprintf(" %.3f cpu-with-store-us/req %.4f store-cmds/req", micros(m.cpuWithStorePerReq), m.storeCmdsPerReq)
	}
	return line
}
