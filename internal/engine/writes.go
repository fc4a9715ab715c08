package engine

import (
	"context"
	"sync"
	"time"
)

// defaultMaxPendingWrites bounds background writes when
// Options.MaxPendingWrites is zero.
const defaultMaxPendingWrites = 256

// writeQueue performs store writes. For a local store they run at once, on
// the request's goroutine. For a networked store they run in the background,
// after the response has been handed to net/http, so that a slow store never
// delays a client: at most max at a time, further writes being dropped (and
// counted) rather than queued without bound.
//
// Writes are tracked by primary key, local ones too, so that an
// invalidation of a URL waits for this process's writes to it first:
// otherwise a write submitted by a GET just before a POST could land after
// the POST's delete and bring back the old response. A write submitted
// after the POST began is not made at all (see writeAll). And so that a
// request whose lookup missed a response this process was writing to its
// URL waits for the writes and looks again, rather than call the handler a
// second time (see handler.forward).
type writeQueue struct {
	local bool
	slots chan struct{}
	all   *background // the Cache's

	mu      sync.Mutex
	pending map[string]*inFlight // the writes to each primary key
	// spare is a pending count no longer in use, for the next key
	// written to: most writes are to a key nobody else writes or waits
	// for, and would otherwise each allocate one. A count's idle channel
	// is made only when someone waits for it (waitFor), under mu.
	spare *inFlight

	// runs counts the writes, per stripe of primary keys, in the way
	// invalidations are counted: a lookup notes the count finished
	// before it reads the store, and runs.quiet then tells whether a
	// write to its URL may have run since.
	runs invalidations
}

func (q *writeQueue) init(local bool, max int, all *background) {
	q.local, q.all = local, all
	q.slots = make(chan struct{}, max)
	q.pending = make(map[string]*inFlight)
}

// submit writes puts, all for primary key pk whose lookup noted
// invalidation count gen, in order (see writeAll), and then calls onDone
// (also when the writes are dropped).
func (q *writeQueue) submit(ctx context.Context, c *Engine, pk string, gen uint64, onDone *writesDone, puts ...put) {
	ctx = context.WithoutCancel(ctx) // the client leaving must not stop the write
	if q.local {
		q.track(pk)
		c.writeAll(ctx, pk, gen, puts)
		q.untrack(pk)
		onDone.run()
		return
	}
	select {
	case q.slots <- struct{}{}:
	default:
		c.stats.writesDropped.Add(1)
		onDone.run()
		return
	}
	work := q.begin(pk)
	go func() {
		defer func() {
			onDone.run()
			q.end(pk, work)
			<-q.slots
		}()
		c.writeAll(ctx, pk, gen, puts)
	}()
}

// begin counts a background write to pk, for Wait and for waitFor.
func (q *writeQueue) begin(pk string) *inFlight {
	work := q.all.add()
	q.track(pk)
	return work
}

func (q *writeQueue) end(pk string, work *inFlight) {
	q.untrack(pk)
	q.all.done(work)
}

// track counts a write to pk, for waitFor and runs.
func (q *writeQueue) track(pk string) {
	q.runs.begin(pk)
	q.mu.Lock()
	p := q.pending[pk]
	if p == nil {
		if p = q.spare; p != nil {
			q.spare = nil
		} else {
			p = new(inFlight)
		}
		q.pending[pk] = p
	}
	p.n++
	q.mu.Unlock()
}

func (q *writeQueue) untrack(pk string) {
	q.mu.Lock()
	p := q.pending[pk]
	if p.n--; p.n == 0 {
		delete(q.pending, pk)
		if p.idle != nil {
			close(p.idle) // waited for: the waiters hold the channel
		} else {
			q.spare = p // nobody has seen it but under mu
		}
	}
	q.mu.Unlock()
	q.runs.end(pk)
}

// waitFor waits until no write to any of keys is in flight, or until max has
// passed (each write is bounded by the store timeout, so max is a backstop).
func (q *writeQueue) waitFor(ctx context.Context, keys []string, max time.Duration) {
	var timeout <-chan time.Time
	for _, k := range keys {
		q.mu.Lock()
		var idle chan struct{}
		if p := q.pending[k]; p != nil {
			if p.idle == nil {
				p.idle = make(chan struct{})
			}
			idle = p.idle
		}
		q.mu.Unlock()
		if idle == nil {
			continue
		}
		if timeout == nil {
			t := time.NewTimer(max)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-idle:
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
}
