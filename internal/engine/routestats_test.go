package engine

import (
	"strconv"
	"testing"
)

// TestRouteCountsBounded: past MaxCountedRoutes routes, new routes count
// under OtherRoutes, so a router reporting many patterns cannot grow the
// counts without bound; routes already counted go on counting apart.
func TestRouteCountsBounded(t *testing.T) {
	var c Engine
	c.CountRoutes()
	const extra = 44
	for i := range MaxCountedRoutes + extra {
		c.routeCounts.add("/r"+strconv.Itoa(i), OutcomeHit)
	}
	c.routeCounts.add("/r0", OutcomeMiss)
	counts := c.RouteCounts()
	if len(counts) != MaxCountedRoutes+1 {
		t.Fatalf("%d routes counted; want %d and %s", len(counts), MaxCountedRoutes, OtherRoutes)
	}
	for _, rc := range counts {
		switch rc.Route {
		case OtherRoutes:
			if rc.Hit != extra {
				t.Errorf("%s: %d hits; want %d", OtherRoutes, rc.Hit, extra)
			}
		case "/r0":
			if rc.Hit != 1 || rc.Miss != 1 {
				t.Errorf("/r0: %+v; want a hit and a miss", rc)
			}
		}
	}
}
