package memory

// Clear removes every entry and the whole tag index. The budgets are
// relieved of exactly what the entries counted, and the removals are not
// counted as evictions. Entries stored concurrently with Clear may or may
// not survive it; each is either wholly there or wholly gone.
//
// Counters (see Advance) survive Clear: they must only grow, and a purge
// clock that went back would make entries stored before a purge look
// newer than it. Delete removes a counter; Clear only removes those that
// have expired.
func (s *Store) Clear() {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.sweepCounters(now)
		for _, e := range sh.lru.Values() {
			s.bytes.Add(-e.size)
			s.entries.Add(-1)
		}
		for _, kt := range sh.tagged {
			s.bytes.Add(-kt.bytes)
		}
		sh.lru.Purge()
		clear(sh.tags)
		clear(sh.tagged)
		sh.orphans = orphans{}
		sh.mu.Unlock()
	}
}
