package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/seedcache/httpcache/internal/serve"
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
		{[]string{"-store", "memcached", "-memcached", " , "}, "no servers"},
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

// TestServerHelloNeverServesAnotherReadersLanguage checks the demo's /hello
// route: a reader who prefers Spanish only a little must not fix the
// greeting for French readers (it used to: both were keyed on "fr", their
// most preferred language, while the route greets in the first one).
func TestServerHelloNeverServesAnotherReadersLanguage(t *testing.T) {
	base := startServer(t)
	_, first := fetch(t, "GET", base+"/hello", "Accept-Language", "es;q=0.1, fr;q=0.9")
	if !strings.Contains(first, "Hola") {
		t.Fatalf("the route changed: %q", first)
	}
	resp, fr := fetch(t, "GET", base+"/hello", "Accept-Language", "fr")
	if strings.Contains(fr, "Hola") || !strings.Contains(fr, "Bonjour") {
		t.Fatalf("fr served %q (Cache-Status %q)", fr, resp.Header.Get("Cache-Status"))
	}
	if resp, again := fetch(t, "GET", base+"/hello", "Accept-Language", "fr"); resp.Header.Get("Cache-Status") != "httpcache; hit" || again != fr {
		t.Fatalf("fr's own variant not served from cache: %q (Cache-Status %q)", again, resp.Header.Get("Cache-Status"))
	}
}
