package memory

// Clear removes every entry. The budgets are relieved of exactly what the
// entries counted, and the removals are not counted as evictions. Entries
// stored concurrently with Clear may or may not survive it; each is either
// wholly there or wholly gone.
func (s *Store) Clear() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, e := range sh.lru.Values() {
			s.release(e.size)
		}
		sh.lru.Purge()
		sh.mu.Unlock()
	}
}
