package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
	req, _ := http.NewRequest(method, url, nil)
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
	}
	for _, tc := range tests {
		if err := run(context.Background(), tc.args, io.Discard, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestProxySignals builds the real binary, waits until its port accepts
// connections, and checks that SIGINT and SIGTERM make it exit with status 0.
func TestProxySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "proxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "-listen", addr, "-origin", "http://127.0.0.1:9")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("proxy never accepted connections on %s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%v: exit %v, want status 0", sig, err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: proxy did not exit", sig)
		}
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
