package httpcache_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

var (
	lastMod = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lmStr   = lastMod.Format(http.TimeFormat)
)

func TestConditionalHits(t *testing.T) {
	validated := func() *counter {
		return respond(200, map[string]string{
			"Cache-Control": "max-age=60", "Etag": `"v1"`, "Last-Modified": lmStr,
			"Content-Type": "text/plain", "X-Other": "o",
		}, "payload")
	}
	notModified := func(t *testing.T, res result) {
		t.Helper()
		for _, name := range []string{"Etag", "Cache-Control", "Date", "Age", "Cache-Status"} {
			if res.header.Get(name) == "" {
				t.Errorf("304 lacks %s", name)
			}
		}
		for _, name := range []string{"Content-Type", "X-Other", "Last-Modified"} {
			if res.header.Get(name) != "" {
				t.Errorf("304 carries representation field %s", name)
			}
		}
	}
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"If-None-Match matches", []string{"If-None-Match", `"v1"`}, 304},
		{"If-None-Match weak matches", []string{"If-None-Match", `W/"v1"`}, 304},
		{"If-None-Match list", []string{"If-None-Match", `"v0", "v1"`}, 304},
		{"If-None-Match star", []string{"If-None-Match", `*`}, 304},
		{"If-None-Match other", []string{"If-None-Match", `"v2"`}, 200},
		{"If-None-Match malformed", []string{"If-None-Match", `v1`}, 200},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"v2"`, "If-Modified-Since", lmStr}, 200},
		{"If-Modified-Since equal", []string{"If-Modified-Since", lmStr}, 304},
		{"If-Modified-Since later", []string{"If-Modified-Since", lastMod.Add(time.Hour).Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", lastMod.Add(-time.Hour).Format(http.TimeFormat)}, 200},
		{"If-Modified-Since invalid", []string{"If-Modified-Since", "yesterday"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := notModified
			if tc.status == 200 {
				check = func(t *testing.T, res result) {
					if res.body != "payload" {
						t.Errorf("body %q", res.body)
					}
				}
			}
			scenario{handler: validated(), steps: []step{
				{req: get("/c"), calls: 1},
				{req: get("/c", tc.header...), calls: 1, hit: true, status: tc.status, check: check},
			}}.run(t)
		})
	}
}

func TestConditionalOnlyFor2xx(t *testing.T) {
	scenario{
		handler: respond(404, map[string]string{"Cache-Control": "max-age=60", "Etag": `"gone"`}, "no such page"),
		steps: []step{
			{req: get("/missing"), calls: 1, status: 404},
			{req: get("/missing", "If-None-Match", `"gone"`), calls: 1, hit: true, status: 404, body: str("no such page")},
		},
	}.run(t)
}

func TestHitHeaders(t *testing.T) {
	handler := respond(200, map[string]string{
		"Cache-Control": "max-age=60", "Connection": "X-Hop, close", "X-Hop": "1", "Keep-Alive": "timeout=5",
		"Proxy-Authenticate": "Basic", "Upgrade": "h2c", "X-Kept": "yes", "Age": "5",
	}, "body")
	scenario{handler: handler, steps: []step{
		{req: get("/h"), calls: 1, check: func(t *testing.T, res result) {
			if res.header.Get("Age") != "5" {
				t.Errorf("the miss passes the handler's Age through, got %q", res.header.Get("Age"))
			}
		}},
		{req: get("/h"), advance: 2 * time.Second, calls: 1, hit: true, check: func(t *testing.T, res result) {
			for _, name := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
				if v := res.header.Get(name); v != "" {
					t.Errorf("hop-by-hop %s = %q was stored", name, v)
				}
			}
			if res.header.Get("X-Kept") != "yes" {
				t.Error("end-to-end header lost")
			}
			if got := res.header.Get("Age"); got != "7" {
				t.Errorf("Age = %q, want 7 (upstream 5 + 2 resident)", got)
			}
			if got := res.header.Get("Date"); got == "" {
				t.Error("stored response has no Date")
			}
			if got := res.header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
				t.Errorf("Content-Type = %q, want the sniffed type", got)
			}
			if got := res.header.Values("Cache-Status"); len(got) != 1 || got[0] != "httpcache; hit" {
				t.Errorf("Cache-Status = %q", got)
			}
		}},
	}}.run(t)
}

func TestCacheStatusAppendsToUpstream(t *testing.T) {
	handler := respond(200, map[string]string{"Cache-Control": "max-age=60", "Cache-Status": "origin-cdn; hit"}, "x")
	scenario{handler: handler, steps: []step{
		{req: get("/u"), calls: 1, check: func(t *testing.T, res result) {
			got := res.header.Values("Cache-Status")
			if len(got) != 2 || got[0] != "origin-cdn; hit" || got[1] != "httpcache; fwd=uri-miss; stored" {
				t.Errorf("Cache-Status = %q", got)
			}
		}},
		{req: get("/u"), calls: 1, hit: true, check: func(t *testing.T, res result) {
			if got := res.header.Values("Cache-Status"); len(got) != 1 {
				t.Errorf("a hit repeats the upstream's old Cache-Status: %q", got)
			}
		}},
	}}.run(t)
}

func TestCustomName(t *testing.T) {
	scenario{
		opts:    httpcache.Options{Name: "edge-1"},
		handler: respond(200, maxAge("60"), "x"),
		steps: []step{
			{req: get("/n"), calls: 1, check: headerIs("Cache-Status", "edge-1; fwd=uri-miss; stored")},
			{req: get("/n"), calls: 1, hit: true, check: headerIs("Cache-Status", "edge-1; hit")},
		},
	}.run(t)
}

func TestNewPanicsOnProgrammerError(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{"nil store", func() { httpcache.New(nil, httpcache.Options{}) }},
		{"bad name", func() { httpcache.New(newEnv(t, httpcache.Options{}).store, httpcache.Options{Name: "two words"}) }},
		{"negative body size", func() { httpcache.New(newEnv(t, httpcache.Options{}).store, httpcache.Options{MaxBodySize: -1}) }},
		{"negative TTL", func() { newEnv(t, httpcache.Options{}).cache.Page(-time.Second) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, ok := v.(string); !ok || !strings.HasPrefix(s, "httpcache: ") {
					t.Fatalf("panic = %v, want a message prefixed httpcache:", v)
				}
			}()
			tc.fn()
		})
	}
}
