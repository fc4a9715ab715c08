package store

// Caps are the optional capabilities of a store, one typed handle each: nil
// when the store does not have it. Probe works them out; a wrapper that
// reports them itself implements Capable.
type Caps struct {
	// Objects keeps decoded values next to their bytes.
	Objects ObjectStore
	// Multi reads several keys in one round trip.
	Multi MultiGetter
	// Leaser grants short exclusive leases.
	Leaser Leaser
	// Counter keeps atomic counters that only grow.
	Counter Counter
	// Tags indexes keys by tag.
	Tags TagIndex
	// Local is an in-process store, written at once, with state shared in
	// process.
	Local Local
	// Replicated keeps copies of shared entries in each process.
	Replicated Replicated
	// Guarded bounds its own operations (its Guarded reports true).
	Guarded GuardedStore
	// Circuit says whether a circuit breaker is open.
	Circuit CircuitReporter
}

// Capable is an optional interface for stores that wrap another (Guard,
// stores/tiered, or a wrapper adding metrics or tracing) and may have the
// methods of an optional interface whether or not the store they wrap has
// it. Caps reports what the store really has, with handles that call
// through the wrapper: Probe returns it as it is. A wrapper without
// methods of its own for a capability may hand out the wrapped store's
// handle, which then bypasses it.
type Capable interface {
	Caps() Caps
}

// Probe returns the capabilities of s: what s reports if it is Capable,
// else those it has by type assertion. Guarded is set only if its Guarded
// reports true, and Local only if s is Guarded as well.
func Probe(s Store) Caps {
	if c, ok := s.(Capable); ok {
		return c.Caps()
	}
	var c Caps
	c.Objects, _ = s.(ObjectStore)
	c.Multi, _ = s.(MultiGetter)
	c.Leaser, _ = s.(Leaser)
	c.Counter, _ = s.(Counter)
	c.Tags, _ = s.(TagIndex)
	c.Replicated, _ = s.(Replicated)
	c.Circuit, _ = s.(CircuitReporter)
	if g, ok := s.(GuardedStore); ok && g.Guarded() {
		c.Guarded = g
		c.Local, _ = s.(Local)
	}
	return c
}
