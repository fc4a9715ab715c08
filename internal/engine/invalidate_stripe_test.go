package engine

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/seedcache/httpcache/internal/keys"
)

// TestInvalidationStripeOfVariant: a variant's key counts in its URL's
// invalidation stripe (an undone variant write is an invalidation of its
// URL), and primary keys spread over the stripes.
func TestInvalidationStripeOfVariant(t *testing.T) {
	k := keys.New("app:", "", keys.Query{})
	var v invalidations
	used := map[*invalidationStripe]bool{}
	for i := range 64 {
		pk := k.PrimaryKey(k.AppendMaterial(nil, httptest.NewRequest("GET", fmt.Sprintf("/page/%d", i), nil)))
		used[v.stripe(pk)] = true
		if vk := keys.VariantKey(pk, 7, []byte("material")); v.stripe(vk) != v.stripe(pk) {
			t.Fatalf("variant key %q is in another stripe than its URL's %q", vk, pk)
		}
	}
	if len(used) < 16 {
		t.Fatalf("64 URLs fell in %d stripes", len(used))
	}
}
