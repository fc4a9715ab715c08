package redis

// key returns the Redis key of a cache key.
func (s *Store) key(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + key
}

// keys returns the Redis keys of cache keys, reusing keys when there is no
// prefix.
func (s *Store) keys(keys []string) []string {
	if s.prefix == "" {
		return keys
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	return full
}

// keyArgs returns the arguments of the command name applied to keys.
func keyArgs(name string, keys []string) []any {
	args := make([]any, 1+len(keys))
	args[0] = name
	for i, k := range keys {
		args[1+i] = k
	}
	return args
}

// keyArgsAt returns the arguments of the command name applied to keys[i]
// for each i in idx (a group of partition).
func keyArgsAt(name string, keys []string, idx []int) []any {
	args := make([]any, 1+len(idx))
	args[0] = name
	for j, i := range idx {
		args[1+j] = keys[i]
	}
	return args
}
