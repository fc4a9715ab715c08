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
}

// summarize takes the medians over the rounds of each target at each
// size, and their ratios to the origin's at that size.
func summarize(ms []measurement, sizes []int, targets []string) []row {
	var rows []row
	for _, size := range sizes {
		var base row
		for _, target := range targets {
			var rps []float64
			var cpu []time.Duration
			var sbusy, cbusy []float64
			r := row{size: size, target: target, checkedForOrigin: target != targetOrigin}
			for _, m := range ms {
				if m.size == size && m.target == target {
					rps = append(rps, m.rps)
					cpu = append(cpu, m.cpuPerReq)
					sbusy = append(sbusy, m.serverBusy)
					cbusy = append(cbusy, m.clientBusy)
					r.originRequests += m.originHit
				}
			}
			if len(rps) == 0 {
				continue
			}
			r.n = len(rps)
			r.rps, r.cpu = median(rps), median(cpu)
			r.serverBusy, r.clientBusy = median(sbusy), median(cbusy)
			r.minRPS, r.maxRPS = slices.Min(rps), slices.Max(rps)
			if target == targetOrigin {
				base = r
			}
			if base.rps > 0 {
				r.rpsRatio = r.rps / base.rps
			}
			if base.cpu > 0 {
				r.cpuRatio = float64(r.cpu) / float64(base.cpu)
			}
			rows = append(rows, r)
		}
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
	fmt.Fprintln(tw, "size\ttarget\treq/s (median)\tmin–max\t× origin\tCPU µs/req (median)\t× origin\tserver busy\twrk busy\torigin asked\t")
	for _, r := range rows {
		asked := "-"
		if r.checkedForOrigin {
			asked = fmt.Sprint(r.originRequests)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f–%.0f\t%.2f\t%.2f\t%.2f\t%.0f%%\t%.0f%%\t%s\t\n",
			sizeName(r.size), r.target, r.rps, r.minRPS, r.maxRPS, r.rpsRatio, micros(r.cpu), r.cpuRatio,
			100*r.serverBusy, 100*r.clientBusy, asked)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nmedians over the rounds; × origin: the median over the origin's median at the same size;")
	fmt.Fprintln(w, "CPU: utime+stime of the server's processes (nginx: master and workers) per request completed;")
	fmt.Fprintln(w, "busy: CPU time over wall time of the server's processes and of wrk (a server well under 100% was not")
	fmt.Fprintln(w, "the bottleneck: wrk was, or other work on the machine); origin asked: requests that reached the")
	fmt.Fprintln(w, "origin during a cached target's runs (0: all hits).")
}
