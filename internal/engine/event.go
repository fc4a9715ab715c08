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

// eventPool recycles the events of requests: the observer gets a copy.
var eventPool = sync.Pool{New: func() any { return new(Event) }}

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

// served notes in lk's event, if any, the entry a request is served from.
func (lk *lookup) served(e *entry.Entry, age time.Duration) {
	if ev := lk.ev; ev != nil {
		ev.Size, ev.Age, ev.Tags = len(e.Body), age, e.Tags
	}
}

// stored notes in lk's event, if any, the response its request stored.
func (lk *lookup) stored(e *entry.Entry) {
	if ev := lk.ev; ev != nil {
		ev.Size, ev.Tags = len(e.Body), e.Tags
	}
}

// emit completes ev from this cache's Cache-Status member in h, the
// response's header as sent, counts it by route if routes are counted,
// and hands it to the observer, if any.
func (c *Engine) emit(ev *Event, r *http.Request, h http.Header, start time.Time) {
	ev.Request = r
	if ev.Route == "" {
		ev.Route = r.Pattern
	}
	ev.Duration = time.Since(start)
	ev.Outcome, ev.Detail, ev.Stored = c.status.outcome(h["Cache-Status"])
	if c.routeCounts.on.Load() {
		c.routeCounts.add(ev.Route, ev.Outcome)
	}
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(*ev)
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
