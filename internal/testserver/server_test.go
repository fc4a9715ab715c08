package testserver

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestRedisStopStart(t *testing.T) {
	clearOverrides(t)
	s := Redis(t)
	if s.External() {
		t.Fatal("External() = true for a server the package started")
	}
	if want := "redis://" + s.Addr() + "/0"; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if host, _, _ := net.SplitHostPort(s.Addr()); host != "127.0.0.1" {
		t.Errorf("Addr() = %q, want a 127.0.0.1 address", s.Addr())
	}

	c := redisConn(t, s.Addr())
	if got := redisDo(t, c, "PING"); got != "PONG" {
		t.Fatalf("PING = %#v", got)
	}
	if got := redisDo(t, c, "SET", "greeting", "hello"); got != "OK" {
		t.Fatalf("SET = %#v", got)
	}
	if got := redisDo(t, c, "GET", "greeting"); got != "hello" {
		t.Fatalf("GET = %#v", got)
	}
	// No persistence: nothing is written to survive a restart.
	cfg := redisDo(t, c, "CONFIG", "GET", "save")
	if arr, _ := cfg.([]any); len(arr) != 2 || arr[1] != "" {
		t.Errorf("CONFIG GET save = %#v, want save disabled", cfg)
	}

	s.Stop()
	s.Stop() // a second Stop does nothing
	assertRefused(t, s.Addr())
	if _, err := c.do(ioTimeout, "PING"); err == nil {
		t.Error("PING on a connection to the stopped server succeeded")
	}

	s.Start()
	s.Start() // a second Start does nothing
	c2 := redisConn(t, s.Addr())
	if got := redisDo(t, c2, "PING"); got != "PONG" {
		t.Fatalf("PING after restart = %#v", got)
	}
	if got := redisDo(t, c2, "GET", "greeting"); got != nil {
		t.Errorf("GET after restart = %#v, want nil (no persistence)", got)
	}
}

func TestMemcachedStopStart(t *testing.T) {
	clearOverrides(t)
	s := Memcached(t)
	if s.URL() != "" {
		t.Errorf("URL() = %q for memcached, want empty", s.URL())
	}
	c := dialMemcached(t, s.Addr())
	if got := c.roundTrip(t, "set greeting 0 60 5\r\nhello\r\n"); got[0] != "STORED" {
		t.Fatalf("set = %q", got)
	}
	got := c.roundTrip(t, "get greeting\r\n", "END")
	if want := []string{"VALUE greeting 0 5", "hello", "END"}; !slices.Equal(got, want) {
		t.Fatalf("get = %q, want %q", got, want)
	}

	s.Stop()
	s.Stop()
	assertRefused(t, s.Addr())

	s.Start()
	s.Start()
	c2 := dialMemcached(t, s.Addr())
	if got := c2.roundTrip(t, "get greeting\r\n", "END"); !slices.Equal(got, []string{"END"}) {
		t.Errorf("get after restart = %q, want a miss", got)
	}
	if got := c2.roundTrip(t, "version\r\n"); !strings.HasPrefix(got[0], "VERSION ") {
		t.Errorf("version = %q", got)
	}
}

func TestMemcachedPool(t *testing.T) {
	clearOverrides(t)
	pool := MemcachedPool(t, 3)
	if len(pool) != 3 {
		t.Fatalf("MemcachedPool(t, 3) returned %d servers", len(pool))
	}
	seen := map[string]bool{}
	for i, s := range pool {
		if seen[s.Addr()] {
			t.Fatalf("address %s returned twice", s.Addr())
		}
		seen[s.Addr()] = true
		c := dialMemcached(t, s.Addr())
		key := "k" + strconv.Itoa(i)
		c.roundTrip(t, "set "+key+" 0 60 1\r\nx\r\n")
		// Each server holds only its own key.
		for j := range pool {
			other := "k" + strconv.Itoa(j)
			got := c.roundTrip(t, "get "+other+"\r\n", "END")
			if hit := len(got) > 1; hit != (i == j) {
				t.Errorf("server %d: get %s = %q", i, other, got)
			}
		}
	}
	// Stopping one leaves the others up.
	pool[0].Stop()
	assertRefused(t, pool[0].Addr())
	dialMemcached(t, pool[1].Addr()).roundTrip(t, "version\r\n")
}

// A port taken between choosing it and the server binding it is given up
// for a fresh one.
func TestStartRetriesOnFreshPort(t *testing.T) {
	clearOverrides(t)
	sp, err := redisSpec(EnvRedisURL)
	if err != nil {
		fail(t, err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	sp.pickPorts = func(n int) ([]int, error) {
		calls++
		if calls == 1 {
			return []int{takenPort}, nil
		}
		return freePorts(n)
	}
	s, err := startLocal(sp)
	if err != nil {
		t.Fatal(err)
	}
	own(t, s)
	if calls != 2 {
		t.Errorf("picked ports %d times, want 2", calls)
	}
	if s.Addr() == taken.Addr().String() {
		t.Errorf("server claims the taken port %s", s.Addr())
	}
	if got := redisDo(t, redisConn(t, s.Addr()), "PING"); got != "PONG" {
		t.Errorf("PING = %#v", got)
	}
}

// Start on a port someone else took fails the test after a bounded number
// of tries, with the server's own complaint, and works once it is free.
func TestStartFailsWhilePortTaken(t *testing.T) {
	clearOverrides(t)
	ftb := newFakeTB(t)
	s := Redis(ftb)
	s.Stop()
	taken, err := net.Listen("tcp", s.Addr())
	if err != nil {
		t.Fatalf("take the stopped server's port: %v", err)
	}
	_, fatal := ftb.run(s.Start)
	taken.Close()
	if !strings.Contains(fatal, "Address already in use") || !strings.Contains(fatal, "gave up") {
		t.Errorf("Start on a taken port reported %q; want it to give up and quote the server log", fatal)
	}
	if _, fatal := ftb.run(s.Start); fatal != "" {
		t.Fatalf("Start once the port is free: %s", fatal)
	}
	if got := redisDo(t, redisConn(t, s.Addr()), "PING"); got != "PONG" {
		t.Errorf("PING = %#v", got)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	clearOverrides(t)
	sp, err := redisSpec(EnvRedisURL)
	if err != nil {
		fail(t, err)
	}
	base := sp.args
	sp.args = func(dir string, ports []int) []string {
		return append(base(dir, ports), "--no-such-directive", "1")
	}
	s, err := startLocal(sp)
	if err == nil {
		own(t, s)
		t.Fatal("redis-server started with a bad directive")
	}
	msg := err.Error()
	for _, want := range []string{"exited before it was ready", "no-such-directive", "Bad directive"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestExternalRedis(t *testing.T) {
	clearOverrides(t)
	local := Redis(t)
	t.Setenv(EnvRedisURL, local.URL())
	ftb := newFakeTB(t)
	var s *Server
	if skipped, fatal := ftb.run(func() { s = Redis(ftb) }); skipped != "" || fatal != "" {
		t.Fatalf("Redis with %s set: skipped %q, fatal %q", EnvRedisURL, skipped, fatal)
	}
	if !s.External() || s.Addr() != local.Addr() || s.URL() != local.URL() {
		t.Fatalf("got External=%v Addr=%q URL=%q; want the server from %s", s.External(), s.Addr(), s.URL(), EnvRedisURL)
	}
	skipped, _ := ftb.run(s.Stop)
	if !strings.Contains(skipped, EnvRedisURL) {
		t.Errorf("Stop on an external server: skip message %q does not name %s", skipped, EnvRedisURL)
	}
	if got := redisDo(t, redisConn(t, local.Addr()), "PING"); got != "PONG" {
		t.Errorf("external server after Stop: PING = %#v", got)
	}

	t.Setenv(EnvRedisURL, "http://example.com")
	if _, fatal := ftb.run(func() { Redis(ftb) }); !strings.Contains(fatal, "want redis://") {
		t.Errorf("bad %s: fatal %q", EnvRedisURL, fatal)
	}
}

func TestExternalMemcached(t *testing.T) {
	clearOverrides(t)
	local := MemcachedPool(t, 2)
	t.Setenv(EnvMemcachedAddr, local[0].Addr()+", "+local[1].Addr())
	ftb := newFakeTB(t)
	var pool []*Server
	if skipped, fatal := ftb.run(func() { pool = MemcachedPool(ftb, 2) }); skipped != "" || fatal != "" {
		t.Fatalf("MemcachedPool with %s set: skipped %q, fatal %q", EnvMemcachedAddr, skipped, fatal)
	}
	for i, s := range pool {
		if !s.External() || s.Addr() != local[i].Addr() {
			t.Errorf("server %d: External=%v Addr=%q, want %q from %s", i, s.External(), s.Addr(), local[i].Addr(), EnvMemcachedAddr)
		}
	}
	t.Setenv("CI", "")
	if skipped, _ := ftb.run(func() { MemcachedPool(ftb, 3) }); !strings.Contains(skipped, "lists 2") {
		t.Errorf("asking for more servers than listed: skip %q", skipped)
	}
}

func TestSharedServers(t *testing.T) {
	clearOverrides(t)
	r := SharedRedis(t)
	if SharedRedis(t) != r {
		t.Error("SharedRedis returned two servers")
	}
	m := SharedMemcached(t)
	if SharedMemcached(t) != m {
		t.Error("SharedMemcached returned two servers")
	}
	if got := redisDo(t, redisConn(t, r.Addr()), "PING"); got != "PONG" {
		t.Errorf("PING = %#v", got)
	}
	for _, s := range []*Server{r, m} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Stop on shared %s did not panic", s.kind)
				}
			}()
			s.Stop()
		}()
		ftb := newFakeTB(t)
		if skipped, _ := ftb.run(func() { s.SkipIfExternal(ftb) }); !strings.Contains(skipped, "shared") {
			t.Errorf("SkipIfExternal on shared %s: skip %q", s.kind, skipped)
		}
	}
}
