package engine

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
)

// Outcomes of a request, as Event.Outcome names them.
const (
	OutcomeHit         = "hit"         // served fresh from the store
	OutcomeStale       = "stale"       // served stale: max-stale, stale-while-revalidate, stale-if-error
	OutcomeRevalidated = "revalidated" // a stale response the handler confirmed with a 304
	OutcomeMiss        = "miss"        // answered by the handler (Stored says whether it was kept)
	OutcomeCollapsed   = "collapsed"   // answered from another request's fetch
	OutcomeBypass      = "bypass"      // never looked up (Detail says why)
	OutcomeMethod      = "method"      // a method other than GET and HEAD, passed through
)

// Event is httpcache.Event, which documents each field and converts from it.
type Event struct {
	Request    *http.Request
	Route      string
	Outcome    string
	Detail     string
	Stored     bool
	Key        string
	Size       int
	Age        time.Duration
	Lookup     time.Duration
	StoreError error
	Tags       []string
	Duration   time.Duration
}

// StoreOp is httpcache.StoreOp, which documents each field.
type StoreOp struct {
	Op       string
	Duration time.Duration
	Err      error
}

// Store operation names, as StoreOp.Op gives them.
const (
	OpGet      = "get"
	OpGetMulti = "get-multi"
	OpSet      = "set"
	OpDelete   = "delete"
	OpPurge    = "purge"
)

// eventRecord is the event of a request while it is served. A nested
// layer of the Cache that takes the request over notes in it what it
// serves or stores; a wrapper between the layers (http.TimeoutHandler) may
// run that layer on a goroutine of its own, which can go on after the
// outermost layer has reported the event. Notes then come too late, and
// are dropped (done); and a record handed to a nested layer (shared) is
// not recycled, so that a late note never lands in another request's.
type eventRecord struct {
	mu     sync.Mutex
	ev     Event
	done   bool // reported: what is noted now is dropped
	shared bool // handed to the handler's layers: not recycled
	// member is the Cache-Status member this Cache gave the response,
	// once it has: what the event's outcome is read from. Other members
	// with this Cache's name may be in the header — an upstream cache's
	// before it, an enclosing Cache's (another Cache with the same Name)
	// after it — so the header alone cannot say which is this one's.
	member string
}

// note records v as the Cache-Status member this Cache gave the response
// (see eventRecord.member). rec may be nil: events are not observed.
func (rec *eventRecord) note(v string) {
	if rec == nil {
		return
	}
	rec.mu.Lock()
	if !rec.done {
		rec.member = v
	}
	rec.mu.Unlock()
}

// eventPool recycles the records of requests: the observer gets a copy.
var eventPool = sync.Pool{New: func() any { return new(eventRecord) }}

// share marks rec as reachable from a handler, which may outlive the
// request (see eventRecord).
func (rec *eventRecord) share() {
	rec.mu.Lock()
	rec.shared = true
	rec.mu.Unlock()
}

// observeStore reports a store operation begun at start, if an observer is
// set (start is then not zero).
func (c *Engine) observeStore(op string, start time.Time, err error) {
	if c.opts.OnStoreOp != nil && !start.IsZero() {
		c.opts.OnStoreOp(StoreOp{Op: op, Duration: time.Since(start), Err: err})
	}
}

// opStart is the time a store operation starts, when one is observed; else
// the zero time, read without the clock.
func (c *Engine) opStart() time.Time {
	if c.opts.OnStoreOp == nil {
		return time.Time{}
	}
	return time.Now()
}

// served notes in lk's event, if any, the entry a request is served from
// with the Cache-Status member status.
func (lk *lookup) served(e *entry.Entry, age time.Duration, status string) {
	if rec := lk.ev; rec != nil {
		rec.mu.Lock()
		if !rec.done {
			rec.ev.Size, rec.ev.Age, rec.ev.Tags = len(e.Body), age, e.Tags
			rec.member = status
		}
		rec.mu.Unlock()
	}
}

// stored notes in lk's event, if any, the response its request stored.
func (lk *lookup) stored(size int, tags []string) {
	if rec := lk.ev; rec != nil {
		rec.mu.Lock()
		if !rec.done {
			rec.ev.Size, rec.ev.Tags = size, tags
		}
		rec.mu.Unlock()
	}
}

// emit completes rec's event from this cache's Cache-Status member in h,
// the response's header as sent, counts it by route if routes are counted,
// and hands it to the observer, if any. It then recycles rec, unless a
// layer of the handler may still note something in it.
func (c *Engine) emit(rec *eventRecord, r *http.Request, h http.Header, start time.Time) {
	rec.mu.Lock()
	rec.done = true
	ev := rec.ev // a copy: a late note from a nested layer is dropped
	shared, member := rec.shared, rec.member
	rec.mu.Unlock()
	if !shared {
		*rec = eventRecord{}
		defer eventPool.Put(rec)
	}
	ev.Request = r
	if ev.Route == "" {
		ev.Route = r.Pattern
	}
	ev.Duration = time.Since(start)
	if member != "" {
		ev.Outcome, ev.Detail, ev.Stored = c.status.outcome([]string{member})
	} else {
		ev.Outcome, ev.Detail, ev.Stored = c.status.outcome(h["Cache-Status"])
	}
	if c.routeCounts.on.Load() {
		c.routeCounts.add(ev.Route, ev.Outcome)
	}
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(ev)
	}
}

// outcome reads this cache's member of a Cache-Status list (the last one
// with its name) as an outcome, its detail, and whether it says stored.
func (s statusValues) outcome(list []string) (outcome, detail string, stored bool) {
	var member string
	for i := len(list) - 1; i >= 0; i-- {
		if v := list[i]; strings.HasPrefix(v, s.name) && (len(v) == len(s.name) || v[len(s.name)] == ';') {
			member = v[len(s.name):]
			break
		}
	}
	var hit, collapsed bool
	var fwd, fwdStatus string
	for member != "" {
		var p string
		p, member, _ = strings.Cut(strings.TrimPrefix(member, ";"), ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "hit":
			hit = true
		case "collapsed":
			collapsed = true
		case "stored":
			stored = true
		case "fwd":
			fwd = v
		case "fwd-status":
			fwdStatus = v
		case "detail":
			detail = v
		}
	}
	switch {
	case hit && detail == "":
		return OutcomeHit, "", false
	case hit:
		return OutcomeStale, detail, false
	case collapsed:
		return OutcomeCollapsed, detail, stored
	case fwd == fwdBypass:
		return OutcomeBypass, detail, false
	case fwd == fwdMethod:
		return OutcomeMethod, detail, false
	case detail == detailStaleIfError:
		return OutcomeStale, detail, false
	case fwd == fwdStale && fwdStatus == "304":
		return OutcomeRevalidated, detail, stored
	}
	return OutcomeMiss, detail, stored
}
