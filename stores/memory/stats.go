package memory

// Stats is a snapshot of a Store's counters.
type Stats struct {
	// Entries is the number of entries held, including expired entries
	// that have not been read or evicted since they expired. Counters
	// and tag records are not entries.
	Entries int64
	// Bytes is the sum over those entries of key length, value size,
	// EntryOverhead and object size, plus the tag index's bytes: what
	// Options.MaxBytes bounds.
	Bytes int64
	// Evictions counts entries removed to keep within Options.MaxBytes or
	// Options.MaxEntries since the store was created; expiries, deletes
	// and overwrites are not evictions.
	Evictions uint64
}

// Stats returns the store's current counters. Under concurrent writes the
// fields are read one after another, not as one atomic snapshot.
func (s *Store) Stats() Stats {
	return Stats{
		Entries:   s.entries.Load(),
		Bytes:     s.bytes.Load(),
		Evictions: s.evictions.Load(),
	}
}
