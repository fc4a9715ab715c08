// Package store is the contract between the httpcache middleware and the
// stores that hold its entries.
//
// It serves httpcache as database/sql/driver serves database/sql: an
// application builds a store (stores/memory, stores/redis,
// stores/memcached, stores/tiered, or its own) and hands it to
// httpcache.New, and rarely needs this package otherwise; a store driver
// implements Store, and any of the optional interfaces it can (ObjectStore,
// Local, GuardedStore, MultiGetter, Leaser, Counter, TagIndex, Replicated,
// CircuitReporter). Probe works out which a store has, by type assertion,
// or by asking a store that wraps another (Guard, stores/tiered, a metrics
// wrapper) and implements Capable to report what it really has; the
// middleware calls each capability through the handle Probe returns.
// Drivers map their backend's errors onto the sentinel errors here
// (ErrNotFound, ErrTooLarge, ErrInvalidTTL), and Guard bounds a networked
// store's operations with a timeout and a circuit breaker. The conformance suite in store/storetest
// checks a driver against this contract.
//
// This package does not import httpcache, so a driver need not either.
package store
