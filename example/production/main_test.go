package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
)

func TestMain(m *testing.M) { os.Exit(testserver.MainNoLeaks(m)) }

// start runs the program against a real Redis and returns its addresses;
// the test's cleanup shuts it down and checks it stopped cleanly.
func start(t *testing.T, env map[string]string) Listeners {
	t.Helper()
	rd := testserver.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Listeners, 1)
	errc := make(chan error, 1)
	args := []string{"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-redis", "redis://" + rd.Addr() + "/0"}
	go func() { errc <- run(ctx, args, func(k string) string { return env[k] }, io.Discard, ready) }()
	var l Listeners
	select {
	case l = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not listening after 30 s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("no shutdown within 30 s")
		}
	})
	return l
}

func send(t *testing.T, method, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestProductionServesCachesPurgesAndReports: on a real Redis, a page is a
// miss and then a hit; saving the article purges it; the admin listener
// takes a purge by tag with the token and serves metrics that counted it
// all; the program then shuts down cleanly (see start).
func TestProductionServesCachesPurgesAndReports(t *testing.T) {
	l := start(t, map[string]string{"HTTPCACHE_PURGE_TOKEN": "s3cret", "HTTPCACHE_DEBUG_TOKEN": "d3bug"})
	app, admin := "http://"+l.App, "http://"+l.Admin

	if resp, body := send(t, "GET", app+"/articles/7"); resp.Header.Get("Cache-Status") != "httpcache; fwd=uri-miss; stored" || !strings.Contains(body, "Article 7") {
		t.Fatalf("first GET: %q %q", resp.Header.Get("Cache-Status"), body)
	}
	waitHit(t, app+"/articles/7") // the write to Redis lands in the background
	if resp, _ := send(t, "POST", app+"/articles/7"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if resp, _ := send(t, "GET", app+"/articles/7"); resp.Header.Get("Cache-Status") == "httpcache; hit" {
		t.Fatal("a hit after the save purged the article")
	}
	waitHit(t, app+"/articles/7")

	if resp, _ := send(t, "PURGE", admin+"/purge/", "Cache-Tag", "articles"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("PURGE without the token: %d, want 401", resp.StatusCode)
	}
	if resp, body := send(t, "PURGE", admin+"/purge/", "Cache-Tag", "articles", "Authorization", "Bearer s3cret"); resp.StatusCode != http.StatusOK {
		t.Fatalf("PURGE: %d %q", resp.StatusCode, body)
	}
	if resp, _ := send(t, "GET", app+"/articles/7"); resp.Header.Get("Cache-Status") == "httpcache; hit" {
		t.Fatal("a hit after the purge by tag")
	}

	_, metrics := send(t, "GET", admin+"/metrics")
	for _, want := range []string{
		`httpcache_requests_total{cache="default",outcome="hit",route="/articles/{id}"}`,
		`httpcache_requests_total{cache="default",outcome="miss",route="/articles/{id}"}`,
		`httpcache_purges_total{cache="default"} 2`,
		`httpcache_store_operation_duration_seconds_count{cache="default",operation="set",store="tiered"}`,
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if resp, body := send(t, "GET", admin+"/debug/cache?url=/articles/7", "Authorization", "Bearer d3bug", "Accept", "application/json"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "hit_ratio") {
		t.Errorf("debug page: %d %.200q", resp.StatusCode, body)
	}
	if _, body := send(t, "GET", admin+"/healthz"); body != "ok\n" {
		t.Errorf("healthz: %q", body)
	}
}

// TestProductionServesNoPurgeEndpointWithoutToken: without
// HTTPCACHE_PURGE_TOKEN there is no purge endpoint at all.
func TestProductionServesNoPurgeEndpointWithoutToken(t *testing.T) {
	l := start(t, nil)
	if resp, _ := send(t, "PURGE", "http://"+l.Admin+"/purge/", "Authorization", "Bearer "); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PURGE without a configured token: %d, want no endpoint", resp.StatusCode)
	}
}

// waitHit asks for url until it is a hit: the response is written to
// Redis after it was sent.
func waitHit(t *testing.T, url string) {
	t.Helper()
	testwait.For(t, "a hit for "+url, func() bool {
		resp, _ := send(t, "GET", url)
		return resp.Header.Get("Cache-Status") == "httpcache; hit"
	})
}
