package httpcacheprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// statsDescs describe the metrics read from Stats at scrape time.
type statsDescs struct {
	lookups, revalidations, invalidations, purges, waiting *prometheus.Desc
	writes, skips, dropped, circuit                        *prometheus.Desc
	memEntries, memBytes, memEvictions                     *prometheus.Desc
}

func newStatsDescs(cache, withStore prometheus.Labels) statsDescs {
	return statsDescs{
		lookups: prometheus.NewDesc("httpcache_lookups_total",
			"GET and HEAD requests looked up, by result (Cache.Stats: Hits, Misses, Uncacheable): hit/(hit+miss) is the hit ratio of what could be served from cache. A stale response served is a hit here.",
			[]string{"result"}, cache),
		revalidations: prometheus.NewDesc("httpcache_revalidations_total",
			"Stale responses the handler confirmed with a 304, for a request or a background refresh (Cache.Stats: Revalidated).",
			nil, cache),
		invalidations: prometheus.NewDesc("httpcache_invalidations_total",
			"Invalidations after unsafe methods (Cache.Stats: Invalidated).",
			nil, cache),
		purges: prometheus.NewDesc("httpcache_purges_total",
			"Purges recorded (Cache.Stats: Purges).",
			nil, cache),
		waiting: prometheus.NewDesc("httpcache_waiting_requests",
			"Requests waiting now for another request's fetch of the same response (Cache.Stats: Waiting).",
			nil, cache),
		writes: prometheus.NewDesc("httpcache_store_writes_total",
			"Entries written to the store (Cache.Stats: Stores).",
			nil, withStore),
		skips: prometheus.NewDesc("httpcache_store_skips_total",
			"Store operations not tried because the store's circuit was open (Cache.Stats: StoreSkips).",
			nil, withStore),
		dropped: prometheus.NewDesc("httpcache_dropped_writes_total",
			"Background store writes dropped because too many were in flight (Cache.Stats: Dropped).",
			nil, withStore),
		circuit: prometheus.NewDesc("httpcache_circuit_open",
			"1 while the store's circuit breaker is open (requests skip the store), else 0 (Cache.Stats: CircuitOpen).",
			nil, withStore),
		memEntries: prometheus.NewDesc("httpcache_memory_entries",
			"Entries held by the memory store, expired ones not yet removed included.",
			nil, withStore),
		memBytes: prometheus.NewDesc("httpcache_memory_bytes",
			"Bytes held by the memory store, as its MaxBytes counts them.",
			nil, withStore),
		memEvictions: prometheus.NewDesc("httpcache_memory_evictions_total",
			"Entries the memory store evicted to stay within MaxBytes or MaxEntries.",
			nil, withStore),
	}
}

func (d *statsDescs) describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{
		d.lookups, d.revalidations, d.invalidations, d.purges, d.waiting,
		d.writes, d.skips, d.dropped, d.circuit,
		d.memEntries, d.memBytes, d.memEvictions,
	} {
		ch <- desc
	}
}

// collectCache sends s as const metrics: the Cache's own counters stay the
// source of truth, read as they are when Prometheus scrapes.
func (d *statsDescs) collectCache(ch chan<- prometheus.Metric, s httpcache.Stats) {
	counter := func(desc *prometheus.Desc, v uint64, lvs ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), lvs...)
	}
	counter(d.lookups, s.Hits, "hit")
	counter(d.lookups, s.Misses, "miss")
	counter(d.lookups, s.Uncacheable, "uncacheable")
	counter(d.revalidations, s.Revalidated)
	counter(d.invalidations, s.Invalidated)
	counter(d.purges, s.Purges)
	counter(d.writes, s.Stores)
	counter(d.skips, s.StoreSkips)
	counter(d.dropped, s.Dropped)
	ch <- prometheus.MustNewConstMetric(d.waiting, prometheus.GaugeValue, float64(s.Waiting))
	open := 0.0
	if s.CircuitOpen {
		open = 1
	}
	ch <- prometheus.MustNewConstMetric(d.circuit, prometheus.GaugeValue, open)
}

func (d *statsDescs) collectMemory(ch chan<- prometheus.Metric, s memory.Stats) {
	ch <- prometheus.MustNewConstMetric(d.memEntries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(d.memBytes, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(d.memEvictions, prometheus.CounterValue, float64(s.Evictions))
}
