package httpcacheotel

import (
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/seedcache/httpcache"
)

// TestAttributeSetsKeptUpToTheBound pins that the attribute sets kept for
// reuse stop growing at maxAttrSets, however many routes come: a route
// made from request data (a mistake, but one that happens) must not grow
// the Observer without bound.
func TestAttributeSetsKeptUpToTheBound(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(t.Context())
	o, err := New(Options{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxAttrSets + 100 {
		o.OnEvent(httpcache.Event{Outcome: httpcache.OutcomeHit, Route: fmt.Sprintf("GET /r%d", i)})
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if len(o.sets) != maxAttrSets {
		t.Errorf("%d attribute sets kept, want %d", len(o.sets), maxAttrSets)
	}
}
