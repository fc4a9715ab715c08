package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// Synthetic stores, each with one capability, to pin what Probe finds.
type (
	capBase       struct{}
	capObjects    struct{ capBase }
	capMulti      struct{ capBase }
	capLeaser     struct{ capBase }
	capCounter    struct{ capBase }
	capTags       struct{ capBase }
	capGuarded    struct{ capBase }
	capUnguarded  struct{ capBase } // has Guarded, which reports false
	capLocal      struct{ capGuarded }
	capStateOnly  struct{ capBase } // LocalState without Guarded
	capReplicated struct{ capBase }
	capCircuit    struct{ capBase }
	capAll        struct {
		capObjects
		capMulti
		capLeaser
		capCounter
		capTags
		capLocal
		capReplicated
	}
)

func (capBase) Get(context.Context, string) ([]byte, error)              { return nil, store.ErrNotFound }
func (capBase) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (capBase) Delete(context.Context, ...string) error                  { return nil }
func (capObjects) GetObject(context.Context, string) ([]byte, any, error) {
	return nil, nil, store.ErrNotFound
}
func (capObjects) SetObject(context.Context, string, []byte, any, time.Duration) error { return nil }
func (capObjects) AttachObject(string, []byte, any)                                    {}
func (capMulti) GetMulti(_ context.Context, keys ...string) ([][]byte, error) {
	return make([][]byte, len(keys)), nil
}
func (capLeaser) Lease(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (capLeaser) Release(context.Context, string, string) error { return nil }
func (capCounter) Advance(context.Context, string, int64, time.Duration) (int64, error) {
	return 1, nil
}
func (capTags) AddTags(context.Context, string, []string, time.Duration) error { return nil }
func (capTags) TaggedKeys(context.Context, string) ([]string, error)           { return nil, nil }
func (capTags) RemoveTags(context.Context, ...string) error                    { return nil }
func (capGuarded) Guarded() bool                                               { return true }
func (capUnguarded) Guarded() bool                                             { return false }
func (capLocal) LocalState(_ any, fresh func() any) any                        { return fresh() }
func (capStateOnly) LocalState(_ any, fresh func() any) any                    { return fresh() }
func (capReplicated) DropLocalCopies(context.Context) error                    { return nil }
func (capReplicated) GetShared(context.Context, string) ([]byte, error) {
	return nil, store.ErrNotFound
}
func (capCircuit) CircuitOpen() bool { return false }

// capAll's embedded capBase values are ambiguous: it names its own.
func (capAll) Get(context.Context, string) ([]byte, error)              { return nil, store.ErrNotFound }
func (capAll) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (capAll) Delete(context.Context, ...string) error                  { return nil }

// metered stands for a third-party wrapper (metrics, tracing) that has
// every method but reports the capabilities of the store it wraps, minus
// objects (it counts hits by reading through Get).
type metered struct{ capAll }

func (m metered) Caps() store.Caps {
	c := store.Probe(m.capAll)
	c.Objects = nil
	return c
}

// has is which handles of a Caps are set.
type has struct {
	objects, multi, leaser, counter, tags, local, replicated, guarded, circuit bool
}

func hasOf(c store.Caps) has {
	return has{c.Objects != nil, c.Multi != nil, c.Leaser != nil, c.Counter != nil, c.Tags != nil,
		c.Local != nil, c.Replicated != nil, c.Guarded != nil, c.Circuit != nil}
}

// TestProbe pins what Probe finds on a store: each capability alone by
// type assertion (Guarded only when it reports true, Local only on a store
// that guards itself); through Guard, the guard's own handles for what the
// store has and Guard passes through, and no objects, Local or
// Replicated; and through a Capable wrapper, what it reports.
func TestProbe(t *testing.T) {
	guard := func(s store.Store) store.Store { return store.Guard(s, store.GuardOptions{}) }
	for _, tc := range []struct {
		name  string
		store store.Store
		want  has
	}{
		{"plain", capBase{}, has{}},
		{"objects", capObjects{}, has{objects: true}},
		{"multi-get", capMulti{}, has{multi: true}},
		{"leaser", capLeaser{}, has{leaser: true}},
		{"counter", capCounter{}, has{counter: true}},
		{"tag index", capTags{}, has{tags: true}},
		{"guarded", capGuarded{}, has{guarded: true}},
		{"Guarded reporting false", capUnguarded{}, has{}},
		{"local", capLocal{}, has{local: true, guarded: true}},
		{"local state, not guarded", capStateOnly{}, has{}},
		{"replicated", capReplicated{}, has{replicated: true}},
		{"circuit reporter", capCircuit{}, has{circuit: true}},
		{"all", capAll{}, has{true, true, true, true, true, true, true, true, false}},

		{"guard of plain", guard(capBase{}), has{guarded: true, circuit: true}},
		{"guard of objects", guard(capObjects{}), has{guarded: true, circuit: true}},
		{"guard of multi-get", guard(capMulti{}), has{multi: true, guarded: true, circuit: true}},
		{"guard of leaser", guard(capLeaser{}), has{leaser: true, guarded: true, circuit: true}},
		{"guard of counter", guard(capCounter{}), has{counter: true, guarded: true, circuit: true}},
		{"guard of tag index", guard(capTags{}), has{tags: true, guarded: true, circuit: true}},
		{"guard of local", guard(capLocal{}), has{guarded: true, circuit: true}},
		{"guard of replicated", guard(capReplicated{}), has{guarded: true, circuit: true}},
		{"guard of all", guard(capAll{}), has{multi: true, leaser: true, counter: true, tags: true, guarded: true, circuit: true}},

		{"capable wrapper", metered{}, has{false, true, true, true, true, true, true, true, false}},
		{"guard of a capable wrapper", guard(metered{}), has{multi: true, leaser: true, counter: true, tags: true, guarded: true, circuit: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := store.Probe(tc.store)
			if got := hasOf(c); got != tc.want {
				t.Fatalf("Probe = %+v, want %+v", got, tc.want)
			}
			if _, ok := tc.store.(store.Capable); !ok {
				return
			}
			if _, isMeter := tc.store.(metered); isMeter {
				return // hands out the wrapped store's handles
			}
			// A guard's handles are the guard's, so that calls are bounded.
			for name, h := range map[string]any{"multi": c.Multi, "leaser": c.Leaser, "counter": c.Counter, "tags": c.Tags} {
				if h != nil && h != any(tc.store) {
					t.Errorf("the %s handle is %T, not the guard", name, h)
				}
			}
		})
	}
}

// TestGuardCallsThroughProbe: a guard over a store without a capability
// answers its methods as the store cannot (an error wrapping
// errors.ErrUnsupported, a lease granted), though Probe does not report
// them.
func TestGuardCallsThroughProbe(t *testing.T) {
	ctx := context.Background()
	g := store.Guard(capBase{}, store.GuardOptions{})
	if _, err := g.(store.Counter).Advance(ctx, "n", 0, 0); err == nil {
		t.Error("Advance through the guard of a store without counters succeeded")
	}
	if got, err := g.(store.Leaser).Lease(ctx, "l", "t", time.Second); !got || err != nil {
		t.Errorf("Lease through the guard of a store without leases = %v, %v; want granted", got, err)
	}
}
