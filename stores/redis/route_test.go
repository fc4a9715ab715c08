package redis

import (
	"reflect"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

func TestRouteFor(t *testing.T) {
	single := goredis.NewClient(&goredis.Options{})
	defer single.Close()
	cluster := goredis.NewClusterClient(&goredis.ClusterOptions{})
	defer cluster.Close()
	ring := goredis.NewRing(&goredis.RingOptions{})
	defer ring.Close()
	failover := goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: "m"})
	defer failover.Close()
	tests := []struct {
		name   string
		client goredis.UniversalClient
		want   route
	}{
		{"single", single, routeOne},
		{"failover", failover, routeOne},
		{"cluster", cluster, routeSlot},
		{"ring", ring, routeTag},
	}
	for _, tt := range tests {
		if got := routeFor(tt.client); got != tt.want {
			t.Errorf("routeFor(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestPartition(t *testing.T) {
	// slot("a") = 15495, slot("b") = 3300, slot("{a}x") = slot("a").
	tests := []struct {
		name string
		r    route
		keys []string
		want [][]int
	}{
		{"one node, any keys", routeOne, []string{"a", "b", "c"}, nil},
		{"no keys", routeSlot, nil, nil},
		{"one key", routeSlot, []string{"a"}, nil},
		{"same tag", routeSlot, []string{"{t}a", "{t}b", "x{t}"}, nil},
		{"same tag, ring", routeTag, []string{"{t}a", "{t}b", "x{t}"}, nil},
		{"tag equals key's slot", routeSlot, []string{"a", "{a}x"}, nil},
		{"tag equals key, ring", routeTag, []string{"a", "{a}x"}, nil},
		{"two slots", routeSlot, []string{"a", "b", "{a}x", "{b}y"}, [][]int{{0, 2}, {1, 3}}},
		{"first run kept", routeSlot, []string{"{t}1", "{t}2", "b", "{t}3"}, [][]int{{0, 1, 3}, {2}}},
		{"duplicates", routeTag, []string{"a", "b", "a"}, [][]int{{0, 2}, {1}}},
		{"empty tag is no tag", routeTag, []string{"{}a", "{}b"}, [][]int{{0}, {1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.partition(tt.keys); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("partition(%q) = %v, want %v", tt.keys, got, tt.want)
			}
		})
	}
}

// TestPartitionCommonPathAllocs checks that keys sharing a hash tag, which
// is how the middleware calls GetMulti, are grouped without allocating.
func TestPartitionCommonPathAllocs(t *testing.T) {
	keys := []string{"app:{hc1:0123456789abcdef}:vary", "app:{hc1:0123456789abcdef}:v:fedcba"}
	for _, r := range []route{routeOne, routeSlot, routeTag} {
		if n := testing.AllocsPerRun(100, func() { r.partition(keys) }); n != 0 {
			t.Errorf("route %d: partition of same-tag keys allocates %v times; want 0", r, n)
		}
	}
}
