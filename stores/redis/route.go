package redis

import goredis "github.com/redis/go-redis/v9"

// route says which keys may share one multi-key command (DEL, MGET) on a
// client.
type route uint8

const (
	// routeOne: one server holds every key (a single node, or the master a
	// failover client follows), so any keys may share a command.
	routeOne route = iota
	// routeSlot: a Redis Cluster, which accepts a multi-key command only
	// if its keys share a hash slot.
	routeSlot
	// routeTag: a client that shards by hash tag, such as a Ring (which
	// hashes a key's tag, or the whole key if it has none, onto a shard),
	// or a client of unknown kind. Only keys with the same tag are sure to
	// be on one shard, on this and on every such sharding.
	routeTag
)

// routeFor returns the route of client.
func routeFor(client goredis.UniversalClient) route {
	switch client.(type) {
	case *goredis.Client:
		return routeOne
	case *goredis.ClusterClient:
		return routeSlot
	default:
		return routeTag
	}
}

// partition groups the indices of keys so that the keys of each group may
// share one command on route r, in the order of their first key. It returns
// nil when all the keys may share one command: the common case (keys with
// one hash tag), which allocates nothing.
func (r route) partition(keys []string) [][]int {
	switch r {
	case routeSlot:
		return partitionBy(keys, slot)
	case routeTag:
		return partitionBy(keys, hashTag)
	default:
		return nil
	}
}

// partitionBy is partition for keys that may share a command when group
// gives them the same result.
func partitionBy[G comparable](keys []string, group func(string) G) [][]int {
	if len(keys) < 2 {
		return nil
	}
	first := group(keys[0])
	same := 1
	for same < len(keys) && group(keys[same]) == first {
		same++
	}
	if same == len(keys) {
		return nil
	}
	groups := [][]int{make([]int, same)}
	for i := range same {
		groups[0][i] = i
	}
	index := map[G]int{first: 0}
	for i := same; i < len(keys); i++ {
		g := group(keys[i])
		n, ok := index[g]
		if !ok {
			n = len(groups)
			index[g] = n
			groups = append(groups, nil)
		}
		groups[n] = append(groups[n], i)
	}
	return groups
}
