package testserver

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRedisCluster(t *testing.T) {
	clearOverrides(t)
	start := time.Now()
	c := RedisCluster(t)
	t.Logf("cluster of %d nodes up in %v", len(c.Addrs()), time.Since(start))
	if c.External() {
		t.Fatal("External() = true for a cluster the package started")
	}
	addrs := c.Addrs()
	if len(addrs) != 3 {
		t.Fatalf("Addrs() = %v, want 3 nodes", addrs)
	}
	addrs[0] = "mutated"
	if c.Addrs()[0] == "mutated" {
		t.Error("Addrs() returned the cluster's own slice")
	}

	for _, addr := range c.Addrs() {
		conn := redisConn(t, addr)
		info, _ := redisDo(t, conn, "CLUSTER", "INFO").(string)
		for field, want := range map[string]string{
			"cluster_state":          "ok",
			"cluster_slots_assigned": "16384",
			"cluster_slots_ok":       "16384",
			"cluster_known_nodes":    "3",
			"cluster_size":           "3",
		} {
			if got := infoField(info, field); got != want {
				t.Errorf("node %s: %s = %q, want %q", addr, field, got, want)
			}
		}
	}

	// A write routed by following MOVED lands on the owner and reads back.
	for i := range 10 {
		key := "key-" + strconv.Itoa(i)
		clusterDo(t, c.Addrs()[0], "SET", key, "v"+strconv.Itoa(i))
		if got := clusterDo(t, c.Addrs()[i%3], "GET", key); got != "v"+strconv.Itoa(i) {
			t.Errorf("GET %s = %#v", key, got)
		}
	}
}

// clusterDo runs a single-key command on addr, following one MOVED
// redirection.
func clusterDo(t *testing.T, addr string, args ...string) any {
	t.Helper()
	v, err := redisConn(t, addr).do(ioTimeout, args...)
	if err != nil {
		moved, ok := strings.CutPrefix(err.Error(), "redis: MOVED ")
		if !ok {
			t.Fatalf("%v on %s: %v", args, addr, err)
		}
		_, target, _ := strings.Cut(moved, " ")
		return redisDo(t, redisConn(t, target), args...)
	}
	return v
}

func TestSharedRedisCluster(t *testing.T) {
	clearOverrides(t)
	c := SharedRedisCluster(t)
	if SharedRedisCluster(t) != c {
		t.Error("SharedRedisCluster returned two clusters")
	}
	for _, addr := range c.Addrs() {
		if err := clusterNodeOK(addr, 3); err != nil {
			t.Error(err)
		}
	}
}

func TestExternalRedisCluster(t *testing.T) {
	clearOverrides(t)
	local := SharedRedisCluster(t)
	t.Setenv(EnvRedisClusterAddrs, strings.Join(local.Addrs(), ","))
	c := RedisCluster(t)
	if !c.External() || strings.Join(c.Addrs(), ",") != strings.Join(local.Addrs(), ",") {
		t.Errorf("External=%v Addrs=%v; want the nodes from %s", c.External(), c.Addrs(), EnvRedisClusterAddrs)
	}
}
