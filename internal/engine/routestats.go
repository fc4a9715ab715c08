package engine

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxCountedRoutes is how many routes Engine.RouteCounts counts apart; the
// requests of any further route count under OtherRoutes.
const MaxCountedRoutes = 256

// OtherRoutes is the route the requests of routes past MaxCountedRoutes
// count under.
const OtherRoutes = "(other)"

// RouteCount is the outcomes of one route's requests since counting began
// (see Engine.CountRoutes).
type RouteCount struct {
	Route       string // the router's pattern; "" when the request was not routed
	Hit         uint64
	Stale       uint64
	Revalidated uint64
	Miss        uint64
	Collapsed   uint64
	Bypass      uint64
	Method      uint64
}

// routeCounts counts outcomes by route once turned on. It is fed where
// events are emitted, so it costs nothing until on is set: the request path
// reads one atomic flag (see handler.ServeHTTP).
type routeCounts struct {
	on     atomic.Bool
	mu     sync.RWMutex
	routes map[string]*outcomeCounts // at most MaxCountedRoutes, and OtherRoutes
}

// outcomeCounts are the counters of one route, indexed by outcomeIndex.
type outcomeCounts [7]atomic.Uint64

func outcomeIndex(outcome string) int {
	switch outcome {
	case OutcomeHit:
		return 0
	case OutcomeStale:
		return 1
	case OutcomeRevalidated:
		return 2
	case OutcomeMiss:
		return 3
	case OutcomeCollapsed:
		return 4
	case OutcomeBypass:
		return 5
	}
	return 6 // OutcomeMethod
}

// CountRoutes turns on counting outcomes by route (RouteCounts). Until it
// is called, nothing is counted and nothing costs.
func (c *Engine) CountRoutes() {
	c.routeCounts.mu.Lock()
	if c.routeCounts.routes == nil {
		c.routeCounts.routes = make(map[string]*outcomeCounts)
	}
	c.routeCounts.mu.Unlock()
	c.routeCounts.on.Store(true)
}

// add counts one request of route with outcome. A route seen for the first
// time past MaxCountedRoutes counts as OtherRoutes, so that the map stays
// bounded whatever patterns the router reports.
func (rc *routeCounts) add(route, outcome string) {
	rc.mu.RLock()
	oc := rc.routes[route]
	rc.mu.RUnlock()
	if oc == nil {
		rc.mu.Lock()
		if oc = rc.routes[route]; oc == nil {
			if len(rc.routes) >= MaxCountedRoutes {
				route = OtherRoutes
			}
			if oc = rc.routes[route]; oc == nil {
				oc = new(outcomeCounts)
				rc.routes[strings.Clone(route)] = oc
			}
		}
		rc.mu.Unlock()
	}
	oc[outcomeIndex(outcome)].Add(1)
}

// RouteCounts returns the outcome counts of each route, sorted by route,
// or nil when CountRoutes has not been called.
func (c *Engine) RouteCounts() []RouteCount {
	rc := &c.routeCounts
	rc.mu.RLock()
	out := make([]RouteCount, 0, len(rc.routes))
	for route, oc := range rc.routes {
		out = append(out, RouteCount{
			Route: route, Hit: oc[0].Load(), Stale: oc[1].Load(), Revalidated: oc[2].Load(),
			Miss: oc[3].Load(), Collapsed: oc[4].Load(), Bypass: oc[5].Load(), Method: oc[6].Load(),
		})
	}
	rc.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}
