// Package testserver runs real Redis and Memcached servers, and a
// fault-injecting TCP proxy, for the tests of other packages.
//
// Redis, Memcached and MemcachedPool start redis-server or memcached on free
// loopback ports (no persistence, output captured to a log file whose tail
// goes into any failure message) and stop them at the test's cleanup.
// RedisCluster starts three masters and joins them with redis-cli. Every wait
// is bounded. Children run in their own process group, which cleanup kills;
// on Linux the kernel also kills them if the test binary dies without
// running cleanups (a -timeout panic, a signal), so no server outlives
// go test.
//
// When a program is missing the test is skipped with a message saying how to
// install it (apt-get install -y redis-server memcached), except under
// CI=true, where that is a failure. These environment variables replace the
// started servers with running ones: HTTPCACHE_REDIS_URL (a redis:// URL),
// HTTPCACHE_MEMCACHED_ADDR (host:port[,host:port…]) and
// HTTPCACHE_REDIS_CLUSTER_ADDRS (host:port,…). Such external servers cannot
// be stopped: a test that calls Stop is skipped (call SkipIfExternal first
// to skip before doing any work).
//
// A server per test is cheap for Redis and Memcached (tens of
// milliseconds). A cluster takes two to three seconds, so a package with
// several cluster tests should share one per test binary: SharedRedisCluster (and
// SharedRedis, SharedMemcached) start on first use and are stopped by Main,
// which the package's TestMain calls. Shared servers may hold other tests'
// data, so use distinct keys, and cannot be stopped.
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
//
//	func TestClusterStore(t *testing.T) {
//		c := testserver.SharedRedisCluster(t)
//		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
//		defer client.Close()
//		// ...
//	}
//
// Fault tests stop and restart a server of their own, or put a Proxy
// between the client and the server:
//
//	srv := testserver.Redis(t)
//	srv.SkipIfExternal(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
//	srv.Stop()  // the server is down: requests must fail open
//	srv.Start() // back on the same port
//
//	proxy := testserver.NewProxy(t, srv.Addr())
//	client = redis.NewClient(&redis.Options{Addr: proxy.Addr(), ReadTimeout: 100 * time.Millisecond})
//	proxy.Block() // the server hangs: operations time out
//
// Servers and proxies are safe for concurrent use. Leak checkers such as
// goleak see, while a server runs, one goroutine waiting for its process
// and one (spawnLoop) that starts processes; both end when the last server
// stops.
package testserver
