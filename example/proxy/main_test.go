package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/serve"
)

// origin is a test origin that counts the requests reaching it.
type origin struct{ hits atomic.Int64 }

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	switch r.URL.Path {
	case "/cacheable":
		w.Header().Set("Cache-Control", "max-age=60")
	case "/nostore":
		w.Header().Set("Cache-Control", "no-store")
	}
	fmt.Fprintf(w, "%s %s", r.Method, r.URL.RequestURI())
}

func startProxy(t *testing.T, args ...string) string {
	t.Helper()
	return "http://" + serve.Start(t, run, append([]string{"-listen", "127.0.0.1:0"}, args...)...)
}

func fetch(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	return fetchAs(t, method, url, "")
}

// fetchAs sends a request with the Host header host (if not empty) and
// returns the response with its body read.
func fetchAs(t *testing.T, method, url, host string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestProxyCaches(t *testing.T) {
	o := &origin{}
	srv := httptest.NewServer(o)
	defer srv.Close()
	base := startProxy(t, "-origin", srv.URL)

	fetch(t, "GET", base+"/cacheable?x=1")
	resp, body := fetch(t, "GET", base+"/cacheable?x=1")
	if body != "GET /cacheable?x=1" || o.hits.Load() != 1 {
		t.Fatalf("second request reached the origin (%d hits) or body %q", o.hits.Load(), body)
	}
	if resp.Header.Get("Age") == "" || resp.Header.Get("Cache-Status") != "httpcache; hit" {
		t.Fatalf("hit lacks Age or Cache-Status: %v", resp.Header)
	}
	fetch(t, "GET", base+"/nostore")
	resp, _ = fetch(t, "GET", base+"/nostore")
	if o.hits.Load() != 3 || !strings.Contains(resp.Header.Get("Cache-Status"), "detail=no-store") {
		t.Fatalf("no-store response was cached: %d origin hits, %q", o.hits.Load(), resp.Header.Get("Cache-Status"))
	}
	// Nothing in the origin's headers: no default TTL, nothing stored.
	fetch(t, "GET", base+"/plain")
	fetch(t, "GET", base+"/plain")
	if o.hits.Load() != 5 {
		t.Fatalf("a response without freshness was cached (%d origin hits)", o.hits.Load())
	}
	// Every method passes through; a POST invalidates.
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		if _, body := fetch(t, m, base+"/cacheable?x=1"); body != m+" /cacheable?x=1" {
			t.Fatalf("%s: origin saw %q", m, body)
		}
	}
	if resp, _ := fetch(t, "GET", base+"/cacheable?x=1"); resp.Header.Get("Cache-Status") == "httpcache; hit" {
		t.Fatal("POST did not invalidate")
	}
}

func TestProxyFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "-origin is required"},
		{[]string{"-origin", "127.0.0.1:9000"}, "absolute"},
		{[]string{"-origin", "ftp://x"}, "absolute"},
		{[]string{"-origin", "http://127.0.0.1:9", "-store", "bogus"}, "unknown store"},
		{[]string{"-origin", "http://127.0.0.1:9", "-store", "memcached", "-memcached", "nohost"}, "host:port"},
		{[]string{"-origin", "http://127.0.0.1:9", "-store", "redis", "-redis", "http://x"}, "-redis"},
		{[]string{"-origin", "http://127.0.0.1:9", "-codings", "gzip, b r"}, "-codings"},
		{[]string{"-origin", "http://127.0.0.1:9", "-codings", "*"}, "-codings"},
		{[]string{"-origin", "http://127.0.0.1:9", "-memory-max-bytes", "-1"}, "-memory-max-bytes"},
		{[]string{"-origin", "http://127.0.0.1:9", "-heuristic", "1.5"}, "-heuristic"},
		{[]string{"-origin", "http://127.0.0.1:9", "-heuristic", "-0.1"}, "-heuristic"},
		{[]string{"-origin", "http://127.0.0.1:9", "-heuristic", "NaN"}, "-heuristic"},
		{[]string{"-origin", "http://127.0.0.1:9", "-heuristic-max", "-1s"}, "-heuristic-max"},
		{[]string{"-origin", "http://127.0.0.1:9", "-targeted", "CDN Cache-Control"}, "-targeted"},
		{[]string{"-origin", "http://127.0.0.1:9", "-targeted", "CDN-Cache-Control,cache-control"}, "-targeted"},
	}
	for _, tc := range tests {
		if err := run(context.Background(), tc.args, io.Discard, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestProxyCodings: -codings names the codings the origin serves, so
// requests that differ only in others share a variant.
func TestProxyCodings(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
		}
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	get := func(base, ae string) *http.Response {
		req, _ := http.NewRequest("GET", base+"/v", nil)
		req.Header.Set("Accept-Encoding", ae)
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		codings string
		shared  bool // "gzip, br" shares "gzip"'s variant
	}{
		{"", false},
		{"gzip", true},
		{" gzip , x-gzip ", true},
	} {
		base := startProxy(t, "-origin", srv.URL, "-codings", tc.codings)
		get(base, "gzip")
		resp := get(base, "gzip, br")
		if hit := resp.Header.Get("Cache-Status") == "httpcache; hit"; hit != tc.shared {
			t.Errorf("-codings %q: \"gzip, br\" after \"gzip\": %q", tc.codings, resp.Header.Get("Cache-Status"))
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("-codings %q: Content-Encoding %q", tc.codings, resp.Header.Get("Content-Encoding"))
		}
	}
}

func TestOriginPrefix(t *testing.T) {
	prefix := func(s string) string {
		u, err := parseOrigin(s)
		if err != nil {
			t.Fatal(err)
		}
		return originPrefix(u)
	}
	base := prefix("http://127.0.0.1:9000")
	if !strings.HasPrefix(base, "proxy:") || !strings.HasSuffix(base, ":") || strings.ContainsAny(base, "{} ") {
		t.Fatalf("prefix %q", base)
	}
	for _, same := range []string{"http://127.0.0.1:9000/", "HTTP://127.0.0.1:9000", "http://127.0.0.1:9000#x"} {
		if p := prefix(same); p != base {
			t.Errorf("%s: %q, want %q as for http://127.0.0.1:9000", same, p, base)
		}
	}
	seen := map[string]string{base: "http://127.0.0.1:9000"}
	for _, other := range []string{"https://127.0.0.1:9000", "http://127.0.0.1:9001", "http://127.0.0.2:9000", "http://127.0.0.1:9000/app", "http://127.0.0.1:9000/?v=2"} {
		p := prefix(other)
		if o, dup := seen[p]; dup {
			t.Errorf("%s and %s share the prefix %q", other, o, p)
		}
		seen[p] = other
	}
}

// TestProxySignals builds the real binary, waits until its port accepts
// connections, and checks that SIGINT and SIGTERM make it exit with status 0.
func TestProxySignals(t *testing.T) {
	bin := buildProxy(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		p := startBinary(t, bin, "-origin", "http://127.0.0.1:9")
		p.cmd.Process.Signal(sig)
		if err := p.exit(); err != nil {
			t.Fatalf("%v: exit %v, want status 0", sig, err)
		}
	}
}

// buildProxy builds the proxy binary into a temporary directory, for tests
// of the program as it is run.
func buildProxy(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "proxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a proxy binary running for a test.
type proc struct {
	cmd  *exec.Cmd
	base string        // http://host:port
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done
}

// startBinary runs the proxy binary bin with args on a free loopback port,
// and returns once the port accepts connections (the program's readiness
// contract). A proxy still running at the end of the test is stopped with
// SIGTERM, and must exit with status 0.
func startBinary(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &proc{cmd: exec.Command(bin, append([]string{"-listen", addr}, args...)...), base: "http://" + addr, done: make(chan struct{})}
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.exit(); err != nil {
			t.Errorf("proxy on %s: %v", addr, err)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("proxy %q exited before accepting connections: %v", args, p.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy never accepted connections on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exit waits for p to exit, at most 15 s (then kills it), and returns how it
// exited.
func (p *proc) exit() error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("did not exit within 15 s of the signal")
	}
}

// TestProxyPurge: with -purge-token the proxy answers PURGE itself.
func TestProxyPurge(t *testing.T) {
	o := &origin{}
	srv := httptest.NewServer(o)
	defer srv.Close()
	base := startProxy(t, "-origin", srv.URL, "-purge-token", "T")
	purge := func(auth string) int {
		req, _ := http.NewRequest("PURGE", base+"/cacheable", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cached := func() bool {
		resp, _ := fetch(t, "GET", base+"/cacheable")
		return resp.Header.Get("Cache-Status") == "httpcache; hit"
	}
	fetch(t, "GET", base+"/cacheable")
	if !cached() {
		t.Fatal("not cached")
	}
	for _, auth := range []string{"", "Bearer wrong"} {
		if code := purge(auth); code != 401 || !cached() {
			t.Fatalf("PURGE with %q: %d (and the page must stay cached)", auth, code)
		}
	}
	hits := o.hits.Load()
	if code := purge("Bearer T"); code != 200 {
		t.Fatalf("PURGE with the token: %d", code)
	}
	if o.hits.Load() != hits {
		t.Fatal("PURGE was forwarded to the origin")
	}
	if cached() || o.hits.Load() != hits+1 {
		t.Fatal("the purged page was not fetched from the origin again")
	}
}

// chunked is an origin that writes its body in flushed chunks without a
// Content-Length (so that it goes out chunked), counting its requests.
type chunked struct {
	hits        atomic.Int64
	contentType string
}

func (o *chunked) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("Content-Type", o.contentType)
	for i := range 3 {
		fmt.Fprintf(w, "chunk %d\n", i)
		http.NewResponseController(w).Flush()
	}
}

// TestProxyStoresChunkedOriginResponses: an origin that streams its pages
// (no Content-Length, a flush after each chunk) is cached like any other
// once the response is complete, as nginx and Varnish cache it:
// httputil.ReverseProxy flushes every write of such a response.
func TestProxyStoresChunkedOriginResponses(t *testing.T) {
	o := &chunked{contentType: "text/html"}
	srv := httptest.NewServer(o)
	defer srv.Close()
	base := startProxy(t, "-origin", srv.URL)

	const want = "chunk 0\nchunk 1\nchunk 2\n"
	resp, body := fetch(t, "GET", base+"/page")
	if body != want || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("first response: %q, Transfer-Encoding %q; want the chunked body", body, resp.TransferEncoding)
	}
	if cs := resp.Header.Get("Cache-Status"); cs != "httpcache; fwd=uri-miss; stored" {
		t.Fatalf("first response: Cache-Status %q", cs)
	}
	resp, body = fetch(t, "GET", base+"/page")
	if body != want || resp.Header.Get("Cache-Status") != "httpcache; hit" || o.hits.Load() != 1 {
		t.Fatalf("second response: %q, Cache-Status %q, %d origin requests; want a hit and one origin request",
			body, resp.Header.Get("Cache-Status"), o.hits.Load())
	}
}

// TestProxyNeverStoresEventStreams: a text/event-stream response is a
// stream of events, not a page, whatever its Cache-Control says.
func TestProxyNeverStoresEventStreams(t *testing.T) {
	o := &chunked{contentType: "text/event-stream"}
	srv := httptest.NewServer(o)
	defer srv.Close()
	base := startProxy(t, "-origin", srv.URL)

	for i := range 2 {
		resp, body := fetch(t, "GET", base+"/events")
		if body != "chunk 0\nchunk 1\nchunk 2\n" {
			t.Fatalf("response %d: body %q", i, body)
		}
		if cs := resp.Header.Get("Cache-Status"); strings.Contains(cs, "stored") || strings.Contains(cs, "hit") {
			t.Fatalf("response %d: Cache-Status %q for an event stream", i, cs)
		}
	}
	if n := o.hits.Load(); n != 2 {
		t.Fatalf("%d origin requests for two event streams; want 2", n)
	}
}

// TestProxyAnswersRangesFromCache: with -ranges (the default), a Range
// request for a stored response is a 206 from the cache (RFC 9110 §14.2),
// not a request to the origin; with -ranges=false it goes to the origin.
func TestProxyAnswersRangesFromCache(t *testing.T) {
	o := &origin{}
	srv := httptest.NewServer(o)
	defer srv.Close()
	for _, on := range []bool{true, false} {
		base := startProxy(t, "-origin", srv.URL, "-ranges="+strconv.FormatBool(on))
		path := "/cacheable?ranges=" + strconv.FormatBool(on)
		fetch(t, "GET", base+path)
		before := o.hits.Load()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Range", "bytes=4-13")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if on {
			if resp.StatusCode != http.StatusPartialContent || string(body) != "/cacheable" || resp.Header.Get("Cache-Status") != "httpcache; hit" || o.hits.Load() != before {
				t.Errorf("-ranges: %d %q %q, origin asked %d times", resp.StatusCode, body, resp.Header.Get("Cache-Status"), o.hits.Load()-before)
			}
		} else if o.hits.Load() != before+1 || !strings.Contains(resp.Header.Get("Cache-Status"), "detail=range") {
			t.Errorf("-ranges=false: origin asked %d times, Cache-Status %q", o.hits.Load()-before, resp.Header.Get("Cache-Status"))
		}
	}
}
