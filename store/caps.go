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
// it. Caps reports what the store really has. Probe keeps what it
// reports and leaves out, and calls each capability through the wrapper's
// own methods where it has them (so a wrapper that embeds a Capable store,
// and inherits its Caps, is still called); a wrapper without methods of
// its own for a capability may hand out the wrapped store's handle, which
// then bypasses it.
type Capable interface {
	Caps() Caps
}

// Probe returns the capabilities of s: what s reports if it is Capable,
// else those it has by type assertion. Guarded is set only if its Guarded
// reports true, and Local only if s is Guarded as well.
func Probe(s Store) Caps {
	if cs, ok := s.(Capable); ok {
		return throughOwn(s, cs.Caps())
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
		if l, ok := s.(interface{ Local() bool }); ok && c.Local == nil && l.Local() {
			// A local store written before Local, with Local() bool
			// and no LocalState: local still, its state kept per
			// probe (so per Cache), as it was then.
			c.Local = &formerLocal{GuardedStore: g}
		}
	}
	return c
}

// formerLocal is the Local of a store that says it is local with a
// Local() bool method (the former LocalStore) and keeps no state: a state
// map of its own stands in.
type formerLocal struct {
	GuardedStore
	StateMap
}

// throughOwn returns c with each capability it reports handled by s itself
// where s has that interface's methods: a wrapper that embeds a Capable
// store (a metrics wrapper overriding GetObject, say) inherits its Caps,
// whose handles would call around the wrapper. What c reports, and what it
// leaves out, stands.
func throughOwn(s Store, c Caps) Caps {
	own := func(has bool, h any) bool { return has && h != nil }
	if o, ok := s.(ObjectStore); own(ok, c.Objects) {
		c.Objects = o
	}
	if m, ok := s.(MultiGetter); own(ok, c.Multi) {
		c.Multi = m
	}
	if l, ok := s.(Leaser); own(ok, c.Leaser) {
		c.Leaser = l
	}
	if n, ok := s.(Counter); own(ok, c.Counter) {
		c.Counter = n
	}
	if t, ok := s.(TagIndex); own(ok, c.Tags) {
		c.Tags = t
	}
	if l, ok := s.(Local); own(ok, c.Local) {
		c.Local = l
	}
	if r, ok := s.(Replicated); own(ok, c.Replicated) {
		c.Replicated = r
	}
	return c
}
