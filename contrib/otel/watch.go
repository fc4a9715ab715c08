package httpcacheotel

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// observables holds the instruments read at collection, and what they are
// read from. One callback, registered while anything is watched, reads
// every watched Cache and store: the values of Caches watched through one
// Observer add up, as they share its attributes (two callbacks reporting
// one attribute set would not).
type observables struct {
	waiting       metric.Int64ObservableUpDownCounter
	circuitOpen   metric.Int64ObservableGauge
	coalesced     metric.Int64ObservableCounter
	stale         metric.Int64ObservableCounter
	revalidations metric.Int64ObservableCounter
	invalidations metric.Int64ObservableCounter
	purges        metric.Int64ObservableCounter
	writes        metric.Int64ObservableCounter
	skips         metric.Int64ObservableCounter
	dropped       metric.Int64ObservableCounter
	memEntries    metric.Int64ObservableUpDownCounter
	memSize       metric.Int64ObservableUpDownCounter
	memEvictions  metric.Int64ObservableCounter

	cacheOpts []metric.ObserveOption // Options.Attributes
	storeOpts []metric.ObserveOption // and the store's name

	// regMu serializes Watch and Unregister; mu guards watched, for the
	// callback too. The meter's own lock is held around the callback, so
	// it is never taken under mu: registering under mu could deadlock
	// with a collection.
	regMu   sync.Mutex
	reg     metric.Registration // the callback's, while watched is not empty
	mu      sync.Mutex
	watched map[*registration]struct{}
}

func (ob *observables) init(m metric.Meter) error {
	var err, e error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		var c metric.Int64ObservableCounter
		c, e = m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		err = errors.Join(err, e)
		return c
	}
	ob.waiting, e = m.Int64ObservableUpDownCounter("httpcache.waiting_requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests waiting now for another request's fetch."))
	err = errors.Join(err, e)
	ob.circuitOpen, e = m.Int64ObservableGauge("httpcache.store.circuit.open", metric.WithUnit("1"),
		metric.WithDescription("1 while the store's circuit breaker is open (per watched Cache), else 0."))
	err = errors.Join(err, e)
	ob.coalesced = counter("httpcache.coalesced_requests", "{request}", "Requests answered from another request's fetch.")
	ob.stale = counter("httpcache.stale_responses", "{response}", "Stale responses served.")
	ob.revalidations = counter("httpcache.revalidations", "{revalidation}", "Stale responses the handler confirmed with a 304.")
	ob.invalidations = counter("httpcache.invalidations", "{invalidation}", "Invalidations after unsafe methods.")
	ob.purges = counter("httpcache.purges", "{purge}", "Purges recorded.")
	ob.writes = counter("httpcache.store.writes", "{entry}", "Entries written to the store.")
	ob.skips = counter("httpcache.store.skips", "{operation}", "Store operations not tried: the circuit was open.")
	ob.dropped = counter("httpcache.store.dropped_writes", "{write}", "Background writes dropped: too many were in flight.")
	ob.memEntries, e = m.Int64ObservableUpDownCounter("httpcache.memory.entries", metric.WithUnit("{entry}"),
		metric.WithDescription("Entries held by the memory store."))
	err = errors.Join(err, e)
	ob.memSize, e = m.Int64ObservableUpDownCounter("httpcache.memory.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes held by the memory store, as its MaxBytes counts them."))
	err = errors.Join(err, e)
	ob.memEvictions = counter("httpcache.memory.evictions", "{entry}", "Entries the memory store evicted for space.")
	return err
}

func (ob *observables) instruments() []metric.Observable {
	return []metric.Observable{
		ob.waiting, ob.circuitOpen, ob.coalesced, ob.stale, ob.revalidations,
		ob.invalidations, ob.purges, ob.writes, ob.skips, ob.dropped,
		ob.memEntries, ob.memSize, ob.memEvictions,
	}
}

// Watch makes o report c's counters (Cache.Stats) each time a reader
// collects, until the returned Registration is unregistered: waiting
// requests, circuit state, coalesced requests, stale responses,
// revalidations, invalidations, purges, store writes, skips and dropped
// writes. The values of several Caches watched through one Observer add
// up. It fails only if the MeterProvider refuses the callback.
func (o *Observer) Watch(c *httpcache.Cache) (metric.Registration, error) {
	if c == nil {
		panic("httpcacheotel: Watch of a nil *httpcache.Cache")
	}
	return o.watch(&registration{o: o, cache: c})
}

// WatchMemory makes o report a memory store's entries, bytes and
// evictions (memory.Store.Stats) each time a reader collects, until the
// returned Registration is unregistered. Watch a store once, however many
// Caches use it.
func (o *Observer) WatchMemory(s *memory.Store) (metric.Registration, error) {
	if s == nil {
		panic("httpcacheotel: WatchMemory of a nil *memory.Store")
	}
	return o.watch(&registration{o: o, mem: s})
}

func (o *Observer) watch(r *registration) (metric.Registration, error) {
	ob := &o.obs
	ob.regMu.Lock()
	defer ob.regMu.Unlock()
	ob.mu.Lock()
	if ob.watched == nil {
		ob.watched = make(map[*registration]struct{})
	}
	ob.watched[r] = struct{}{}
	ob.mu.Unlock()
	if ob.reg == nil {
		reg, err := o.meter.RegisterCallback(o.collect, ob.instruments()...)
		if err != nil {
			ob.mu.Lock()
			delete(ob.watched, r)
			ob.mu.Unlock()
			return nil, err
		}
		ob.reg = reg
	}
	return r, nil
}

// collect is the callback: it reads every watched Cache and store, outside
// the lock.
func (o *Observer) collect(_ context.Context, obs metric.Observer) error {
	ob := &o.obs
	ob.mu.Lock()
	var caches []*httpcache.Cache
	var mems []*memory.Store
	for r := range ob.watched {
		if r.cache != nil {
			caches = append(caches, r.cache)
		} else {
			mems = append(mems, r.mem)
		}
	}
	ob.mu.Unlock()

	if len(caches) > 0 {
		var sum httpcache.Stats
		var open int64
		for _, c := range caches {
			s := c.Stats()
			sum.Waiting += s.Waiting
			if s.CircuitOpen {
				open++
			}
			sum.Coalesced += s.Coalesced
			sum.Stale += s.Stale
			sum.Revalidated += s.Revalidated
			sum.Invalidated += s.Invalidated
			sum.Purges += s.Purges
			sum.Stores += s.Stores
			sum.StoreSkips += s.StoreSkips
			sum.Dropped += s.Dropped
		}
		obs.ObserveInt64(ob.waiting, sum.Waiting, ob.cacheOpts...)
		obs.ObserveInt64(ob.circuitOpen, open, ob.storeOpts...)
		obs.ObserveInt64(ob.coalesced, int64(sum.Coalesced), ob.cacheOpts...)
		obs.ObserveInt64(ob.stale, int64(sum.Stale), ob.cacheOpts...)
		obs.ObserveInt64(ob.revalidations, int64(sum.Revalidated), ob.cacheOpts...)
		obs.ObserveInt64(ob.invalidations, int64(sum.Invalidated), ob.cacheOpts...)
		obs.ObserveInt64(ob.purges, int64(sum.Purges), ob.cacheOpts...)
		obs.ObserveInt64(ob.writes, int64(sum.Stores), ob.storeOpts...)
		obs.ObserveInt64(ob.skips, int64(sum.StoreSkips), ob.storeOpts...)
		obs.ObserveInt64(ob.dropped, int64(sum.Dropped), ob.storeOpts...)
	}
	if len(mems) > 0 {
		var sum memory.Stats
		for _, m := range mems {
			s := m.Stats()
			sum.Entries += s.Entries
			sum.Bytes += s.Bytes
			sum.Evictions += s.Evictions
		}
		obs.ObserveInt64(ob.memEntries, sum.Entries, ob.cacheOpts...)
		obs.ObserveInt64(ob.memSize, sum.Bytes, ob.cacheOpts...)
		obs.ObserveInt64(ob.memEvictions, int64(sum.Evictions), ob.cacheOpts...)
	}
	return nil
}

// registration is one Watch or WatchMemory, as its caller unregisters it.
type registration struct {
	embedded.Registration
	o     *Observer
	cache *httpcache.Cache // or
	mem   *memory.Store
}

// Unregister stops reporting what r watched; the Observer's callback is
// unregistered with the last watch. It may be called more than once.
func (r *registration) Unregister() error {
	ob := &r.o.obs
	ob.regMu.Lock()
	defer ob.regMu.Unlock()
	ob.mu.Lock()
	_, ok := ob.watched[r]
	delete(ob.watched, r)
	last := len(ob.watched) == 0
	ob.mu.Unlock()
	if !ok || !last || ob.reg == nil {
		return nil
	}
	reg := ob.reg
	ob.reg = nil
	return reg.Unregister()
}
