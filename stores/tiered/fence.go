package tiered

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// fenceStripes is the number of generation counters. One would be correct;
// striping only makes a fill less likely to be refused because of an
// invalidation of an unrelated key. With every instance's writes arriving
// as invalidations, a single counter would refuse a fill whenever any write
// anywhere landed during its L2 round trip.
const fenceStripes = 64

// fence keeps an L1 fill from undoing an invalidation that arrived while the
// fill's value was on its way from L2.
//
// The race: instance B reads an old value from L2; instance A writes L2 and
// publishes; B's subscriber drops B's L1 copy; then B's fill lands in L1, and
// B serves the old value until L1TTL. The same happens within one instance
// when its own Set or Delete overtakes its own fill.
//
// Every key belongs to a stripe with a generation counter, and every
// invalidation (received from another instance, or made by a local Set or
// Delete once its L2 write is done) bumps the counter and changes L1 under
// the stripe's lock. A fill reads the generation before it asks L2 and
// writes L1, under the same lock, only if the generation has not moved. So
// for an invalidation I and a fill F of one key, either I bumped before F
// read the generation, and then the write behind I was complete in L2
// before F asked L2, so F read the new value (or a newer one); or I bumped
// after that, and then F's write either came first and I removed it, or
// came second and was refused. L2 must be linearizable for this (a Redis
// primary is; replicas read through a failover may not be).
//
// A refused fill costs one more L2 read later, never a wrong answer.
type fence struct {
	seed    maphash.Seed
	stripes [fenceStripes]stripe
}

// stripe is one generation counter and the lock that orders it with L1
// writes.
type stripe struct {
	mu  sync.Mutex
	gen atomic.Uint64 // changed only under mu; read without it by begin
	_   [64 - 16]byte // keep neighbouring stripes' locks off one cache line
}

func newFence() *fence { return &fence{seed: maphash.MakeSeed()} }

// stripe returns the stripe that key belongs to.
func (f *fence) stripe(key string) *stripe {
	return &f.stripes[maphash.String(f.seed, key)%fenceStripes]
}

// begin returns the stripe's generation before a read from L2.
func (st *stripe) begin() uint64 { return st.gen.Load() }

// fill runs write only if no invalidation has touched the stripe since
// begin returned gen.
func (st *stripe) fill(gen uint64, write func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen.Load() == gen {
		write()
	}
}

// invalidate bumps the stripe's generation and runs change, which updates
// L1, under the stripe's lock.
func (st *stripe) invalidate(change func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.gen.Add(1)
	change()
}

// invalidateSince is invalidate for a local write that read gen with begin
// before writing L2: change is told whether the stripe was untouched since
// then. Only then may the write put its own value in L1; otherwise another
// write may have overtaken it in L2.
func (st *stripe) invalidateSince(gen uint64, change func(untouched bool)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	untouched := st.gen.Load() == gen
	st.gen.Add(1)
	change(untouched)
}

// invalidateAll bumps every stripe and runs change with all of them
// locked, so that no fill begun before it can land after it.
func (f *fence) invalidateAll(change func()) {
	for i := range f.stripes {
		f.stripes[i].mu.Lock()
	}
	for i := range f.stripes {
		f.stripes[i].gen.Add(1)
	}
	change()
	for i := range f.stripes {
		f.stripes[i].mu.Unlock()
	}
}
