package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	clusterSize          = 3
	clusterSlots         = 16384
	clusterCreateTimeout = 30 * time.Second // redis-cli --cluster create
	clusterReadyTimeout  = 30 * time.Second // every node reports cluster_state:ok
)

// Cluster is a Redis Cluster for tests: three masters without replicas that
// this package started on loopback ports, or the nodes named by
// HTTPCACHE_REDIS_CLUSTER_ADDRS.
type Cluster struct {
	addrs    []string
	nodes    []*Server // nil if external
	external bool
}

// Addrs returns the addresses (host:port) of the cluster's nodes, as a new
// slice each time.
func (c *Cluster) Addrs() []string { return slices.Clone(c.addrs) }

// External reports whether the cluster was named by
// HTTPCACHE_REDIS_CLUSTER_ADDRS rather than started by this package.
func (c *Cluster) External() bool { return c.external }

// RedisCluster returns a running Redis Cluster that tb's cleanup stops: three
// masters owning all 16384 slots, or the nodes named by
// HTTPCACHE_REDIS_CLUSTER_ADDRS. It takes two to three seconds to form (a
// new master reports cluster_state:fail for its first two seconds), so
// packages with several cluster tests should prefer SharedRedisCluster.
// Without redis-server and redis-cli on PATH it skips tb (fails it under
// CI=true).
func RedisCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := newRedisCluster()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(func() {
		if err := c.close(); err != nil {
			tb.Errorf("testserver: cleanup of Redis Cluster: %v", err)
		}
	})
	return c
}

func newRedisCluster() (*Cluster, error) {
	if raw := os.Getenv(EnvRedisClusterAddrs); raw != "" {
		addrs, err := splitAddrs(EnvRedisClusterAddrs, raw)
		if err != nil {
			return nil, err
		}
		for _, addr := range addrs {
			if err := waitProbe(externalTimeout, func() error { return probeRedis(context.Background(), addr, 0, nil) }); err != nil {
				return nil, fmt.Errorf("testserver: cluster node %s from %s does not answer PING: %v", addr, EnvRedisClusterAddrs, err)
			}
		}
		return &Cluster{addrs: addrs, external: true}, nil
	}
	sp, err := redisSpec(EnvRedisClusterAddrs)
	if err != nil {
		return nil, err
	}
	cli, err := lookProgram("redis-cli", EnvRedisClusterAddrs)
	if err != nil {
		return nil, err
	}
	// A second port for the cluster bus: by default it is the client port
	// plus 10000, which need not be free (or exist).
	sp.nports = 2
	base := sp.args
	sp.args = func(dir string, ports []int) []string {
		return append(base(dir, ports),
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000",
			"--cluster-port", strconv.Itoa(ports[1]),
		)
	}

	c := &Cluster{nodes: make([]*Server, clusterSize)}
	errs := make([]error, clusterSize)
	var wg sync.WaitGroup
	for i := range clusterSize {
		wg.Go(func() { c.nodes[i], errs[i] = startLocal(sp) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.close()
			return nil, err
		}
	}
	for _, n := range c.nodes {
		c.addrs = append(c.addrs, n.addr)
	}
	if err := c.create(cli); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// create joins the nodes into a cluster with redis-cli and waits until every
// node sees all slots served.
func (c *Cluster) create(cli string) error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCreateTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	configureCmd(cmd, nil)
	cmd.Cancel = func() error { killTree(cmd); return nil }
	cmd.WaitDelay = 2 * time.Second
	release, err := startCmd(cmd)
	if err == nil {
		err = cmd.Wait()
		release()
	}
	if err != nil {
		return fmt.Errorf("testserver: %s %s: %v\n%s%s", cli, strings.Join(args, " "), err, out.String(), c.logs())
	}
	if err := c.waitOK(clusterReadyTimeout); err != nil {
		return fmt.Errorf("testserver: Redis Cluster %v did not become ready: %v\nredis-cli output:\n%s%s", c.addrs, err, out.String(), c.logs())
	}
	return nil
}

// waitOK waits until every node reports cluster_state:ok with all slots
// assigned and served and all nodes known.
func (c *Cluster) waitOK(timeout time.Duration) error {
	return waitProbe(timeout, func() error {
		for _, addr := range c.addrs {
			if err := clusterNodeOK(addr, len(c.addrs)); err != nil {
				return err
			}
		}
		return nil
	})
}

func clusterNodeOK(addr string, nodes int) error {
	conn, err := dialRESP(addr, probeTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	info, err := conn.doString(probeTimeout, "CLUSTER", "INFO")
	if err != nil {
		return err
	}
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": strconv.Itoa(clusterSlots),
		"cluster_slots_ok":       strconv.Itoa(clusterSlots),
		"cluster_known_nodes":    strconv.Itoa(nodes),
	}
	for field, v := range want {
		if got := infoField(info, field); got != v {
			return fmt.Errorf("node %s: %s is %q, want %q", addr, field, got, v)
		}
	}
	return nil
}

// logs returns the end of every node's log, for failure messages.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		if n != nil {
			fmt.Fprintf(&b, "\nnode %s log (%s):\n%s\n", n.addr, n.log, logTail(n.log, 0))
		}
	}
	return b.String()
}

// close stops every node and removes its directory.
func (c *Cluster) close() error {
	var errs []error
	for _, n := range c.nodes {
		if n != nil {
			errs = append(errs, n.close())
		}
	}
	return errors.Join(errs...)
}
