package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/serve"
	"github.com/seedcache/httpcache/internal/testserver"
)

func startServer(t *testing.T, args ...string) string {
	t.Helper()
	return "http://" + serve.Start(t, run, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
}

func fetch(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestServerRoutes(t *testing.T) {
	base := startServer(t)
	tests := []struct {
		name   string
		path   string
		hdr    []string
		cached bool
	}{
		{"site-wide", "/", nil, true},
		{"cache_page", "/articles", nil, true},
		{"vary on language", "/hello", []string{"Accept-Language", "fr-CH, fr;q=0.9"}, true},
		{"private", "/account", nil, false},
		{"sets a cookie", "/login", nil, false},
		{"ServeContent", "/report.txt", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, body1 := fetch(t, "GET", base+tc.path, tc.hdr...)
			second, body2 := fetch(t, "GET", base+tc.path, tc.hdr...)
			if first.StatusCode != 200 || second.StatusCode != 200 {
				t.Fatalf("status %d, %d", first.StatusCode, second.StatusCode)
			}
			hit := second.Header.Get("Cache-Status") == "httpcache; hit"
			if hit != tc.cached || (body1 == body2) != tc.cached {
				t.Fatalf("cached=%v (Cache-Status %q, same body %v), want %v",
					hit, second.Header.Get("Cache-Status"), body1 == body2, tc.cached)
			}
		})
	}
	// Another language is another variant.
	_, fr := fetch(t, "GET", base+"/hello", "Accept-Language", "fr")
	_, de := fetch(t, "GET", base+"/hello", "Accept-Language", "de")
	if !strings.Contains(fr, "Bonjour") || !strings.Contains(de, "Hallo") {
		t.Fatalf("variants mixed up: %q / %q", fr, de)
	}
	// POST /articles invalidates it.
	fetch(t, "POST", base+"/articles")
	if resp, _ := fetch(t, "GET", base+"/articles"); resp.Header.Get("Cache-Status") == "httpcache; hit" {
		t.Fatal("POST did not invalidate /articles")
	}
}

func TestServerFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-store", "redis", "-redis", "not a url"}, "-redis"},
		{[]string{"-store", "memcached", "-memcached", " , "}, "no memcached servers"},
		{[]string{"-store", "bogus"}, "unknown store"},
		{[]string{"-nope"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		err := run(context.Background(), tc.args, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestServerAdminPurge(t *testing.T) {
	base := startServer(t, "-purge-token", "tok")
	fetch(t, "GET", base+"/articles")
	if resp, _ := fetch(t, "GET", base+"/articles"); resp.Header.Get("Cache-Status") != "httpcache; hit" {
		t.Fatal("not cached")
	}
	if resp, _ := fetch(t, "POST", base+"/admin/publish"); resp.StatusCode != 401 {
		t.Fatalf("publish without the token: %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, "POST", base+"/admin/publish", "Authorization", "Bearer tok"); resp.StatusCode != 200 {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, "GET", base+"/articles"); resp.Header.Get("Cache-Status") == "httpcache; hit" {
		t.Fatal("/articles survived the tag purge")
	}
	if resp, _ := fetch(t, "PURGE", base+"/admin/purge", "Authorization", "Bearer tok", "Cache-Tag", "articles"); resp.StatusCode != 200 {
		t.Fatalf("PURGE by tag: %d", resp.StatusCode)
	}
}

// logBuffer collects a program's log; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServerLogged is startServer with the program's log kept.
func startServerLogged(t *testing.T, args ...string) (string, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), logs, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr, logs
	case err := <-errc:
		errc <- err // for the cleanup
		t.Fatalf("run: %v", err)
	}
	return "", nil
}

// TestServerWithoutPurgeTokenServesNoPurgeRoutes: there is no default purge
// token. Started without -purge-token, the server has no /admin routes
// (the token that used to be the default, or any other, purges nothing),
// and says so at start-up.
func TestServerWithoutPurgeTokenServesNoPurgeRoutes(t *testing.T) {
	base, logs := startServerLogged(t)
	if !strings.Contains(logs.String(), "no -purge-token") {
		t.Errorf("start-up log does not say the purge routes are off:\n%s", logs)
	}
	fetch(t, "GET", base+"/articles")
	for _, tok := range []string{"demo-token", ""} {
		if resp, _ := fetch(t, "POST", base+"/admin/publish", "Authorization", "Bearer "+tok); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /admin/publish with %q: %d, want 404", tok, resp.StatusCode)
		}
		if resp, _ := fetch(t, "PURGE", base+"/admin/purge", "Authorization", "Bearer "+tok, "Cache-Tag", "articles"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("PURGE /admin/purge with %q: %d, want 404", tok, resp.StatusCode)
		}
	}
	if resp, _ := fetch(t, "GET", base+"/articles"); resp.Header.Get("Cache-Status") != "httpcache; hit" {
		t.Fatalf("/articles was purged without a token: %q", resp.Header.Get("Cache-Status"))
	}
	// With a token, the log does not warn.
	if _, logs := startServerLogged(t, "-purge-token", "tok"); strings.Contains(logs.String(), "no -purge-token") {
		t.Errorf("warned of no token with one:\n%s", logs)
	}
}

// TestServerMemoryMaxBytes: -memory-max-bytes bounds the memory store; a
// page larger than the budget is not kept.
func TestServerMemoryMaxBytes(t *testing.T) {
	base := startServer(t, "-memory-max-bytes", "64")
	fetch(t, "GET", base+"/articles")
	if resp, _ := fetch(t, "GET", base+"/articles"); resp.Header.Get("Cache-Status") == "httpcache; hit" {
		t.Fatal("a page larger than -memory-max-bytes 64 was kept")
	}
}

// TestServerKeyPrefix: servers with different -key-prefix on one Redis keep
// apart; with the same one they share entries.
func TestServerKeyPrefix(t *testing.T) {
	redis := testserver.Redis(t)
	store := []string{"-store", "redis", "-redis", redis.URL()}
	a := startServer(t, append(store, "-key-prefix", "appA:")...)
	b := startServer(t, append(store, "-key-prefix", "appB:")...)
	a2 := startServer(t, append(store, "-key-prefix", "appA:")...)
	// Each server listens on its own port: the same Host for all, as
	// behind a load balancer, so that only the prefix tells them apart.
	status := func(base string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/articles", nil)
		req.Host = "www.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("Cache-Status")
	}
	// Writes to Redis land in the background: poll, bounded.
	deadline := time.Now().Add(40 * time.Second)
	for status(a) != "httpcache; hit" {
		if time.Now().After(deadline) {
			t.Fatal("/articles never stored through server A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := status(b); st == "httpcache; hit" {
		t.Fatal("server B (-key-prefix appB:) served server A's entry")
	}
	if st := status(a2); st != "httpcache; hit" {
		t.Fatalf("a second server with -key-prefix appA: did not find the first's entry: %q", st)
	}
}

// TestServerHelloNeverServesAnotherReadersLanguage checks the demo's /hello
// route: whatever language one reader's Accept-Language ranked highest, no
// other reader is served it unless theirs ranks it highest too (it used to:
// "es;q=0.1, fr;q=0.9" stored "Hola", which "fr" was then served).
func TestServerHelloNeverServesAnotherReadersLanguage(t *testing.T) {
	base := startServer(t)
	for i, tc := range []struct{ accept, greeting string }{
		{"fr;q=0.1, es;q=0.9", "Hola"},
		{"es;q=0.1, fr;q=0.9", "Bonjour"},
		{"fr", "Bonjour"},
		{"es", "Hola"},
		{"de-AT, en;q=0.5", "Hallo"},
		{"ja", "Hello"},
		{"fr", "Bonjour"},
		{"fr;q=0.1, es;q=0.9", "Hola"},
	} {
		resp, body := fetch(t, "GET", base+"/hello", "Accept-Language", tc.accept)
		if !strings.Contains(body, "<h1>"+tc.greeting+"</h1>") {
			t.Fatalf("request %d (%q) served %q (Cache-Status %q), want %s", i, tc.accept, body, resp.Header.Get("Cache-Status"), tc.greeting)
		}
	}
	if resp, _ := fetch(t, "GET", base+"/hello", "Accept-Language", "fr"); resp.Header.Get("Cache-Status") != "httpcache; hit" {
		t.Fatalf("fr's own variant not served from cache: Cache-Status %q", resp.Header.Get("Cache-Status"))
	}
}
