package httpcache_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// canonicalHost is the usual canonical-host middleware: any Host other
// than example.com is redirected there, permanently and cacheably.
func canonicalHost() *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		if r.Host != "example.com" {
			http.Redirect(w, r, "http://example.com"+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		w.Write([]byte("page"))
	}}
}

// serveHost serves GET http://example.com/a with the given Host line.
func serveHost(h http.Handler, host string, tls bool) result {
	r := httptest.NewRequest("GET", "http://example.com/a", nil)
	r.Host = host
	if tls {
		r.TLS = httpsState()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	return result{status: res.StatusCode, header: res.Header, body: rec.Body.String()}
}

// TestHostWithDefaultOrEmptyPortNeverSharesBareHostKey: a Host that spells
// out the scheme's default port ("example.com:80" over http,
// "example.com:443" over https) or an empty one ("example.com:") is a
// different Host to the handler, which may answer it differently (a
// canonical-host redirect): it must never be served the bare host's entry,
// nor its response the bare host's clients. Such spellings bypass the cache
// (browsers never send them). A non-default port is cached under its own
// key.
func TestHostWithDefaultOrEmptyPortNeverSharesBareHostKey(t *testing.T) {
	for _, tc := range []struct {
		host string
		tls  bool
	}{
		{"example.com:80", false},
		{"example.com:", false},
		{"example.com:443", true},
		{"example.com:", true},
	} {
		t.Run(tc.host, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			h := e.cache.Handler(canonicalHost())
			if res := serveHost(h, tc.host, tc.tls); res.status != http.StatusMovedPermanently {
				t.Fatalf("Host %q: %d %q, want a 301", tc.host, res.status, res.cacheStatus())
			}
			for i := 0; i < 2; i++ {
				if res := serveHost(h, "example.com", tc.tls); res.status != http.StatusOK || res.body != "page" {
					t.Fatalf("Host example.com after %q: %d %q (Cache-Status %q), want 200 page",
						tc.host, res.status, res.body, res.cacheStatus())
				}
			}
			if res := serveHost(h, tc.host, tc.tls); res.status != http.StatusMovedPermanently {
				t.Fatalf("Host %q after example.com was stored: %d %q, want its own 301", tc.host, res.status, res.cacheStatus())
			} else if !strings.Contains(res.cacheStatus(), "fwd=bypass; detail=host") {
				t.Fatalf("Host %q: Cache-Status %q, want a bypass (detail=host)", tc.host, res.cacheStatus())
			}
		})
	}
}

// TestHostWithOtherPortCachedUnderItsOwnKey: a non-default port, as browsers
// send for 127.0.0.1:8080, is ordinary: cached, and apart from the bare
// host and from other ports.
func TestHostWithOtherPortCachedUnderItsOwnKey(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(echoHost())
	for _, host := range []string{"example.com:8080", "example.com", "example.com:443", "example.com:8080", "example.com", "example.com:443"} {
		if res := serveHost(h, host, false); res.body != host {
			t.Fatalf("Host %q: body %q (Cache-Status %q)", host, res.body, res.cacheStatus())
		}
	}
	if res := serveHost(h, "example.com:8080", false); !isHit(res) {
		t.Fatalf("Host example.com:8080 again: %q, want a hit", res.cacheStatus())
	}
}

// echoHost answers with the Host it saw.
func echoHost() *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write([]byte(r.Host))
	}}
}

// TestAbsoluteFormSchemeNotBelieved: "GET https://host/ HTTP/1.1" sent over
// plain HTTP is keyed as http: the redirect to https the handler answers
// such a request with must never reach HTTPS clients.
func TestAbsoluteFormSchemeNotBelieved(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil { // the usual HTTP->HTTPS redirect
			w.Header().Set("Cache-Control", "max-age=3600")
			http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "secure home")
	}))
	plain := httptest.NewServer(h)
	defer plain.Close()
	conn, err := net.Dial("tcp", plain.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("precondition: plain-HTTP request answered %d", resp.StatusCode)
	}
	res := do(t, h, request{method: "GET", url: "https://example.com/", header: map[string]string{}, tls: true})
	if res.status != 200 || res.body != "secure home" {
		t.Fatalf("HTTPS client got %d Location=%q (%s)", res.status, res.header.Get("Location"), res.cacheStatus())
	}
}

// TestHostSpellings: http.ServeMux routes "EXAMPLE.COM" and "example.com."
// to its catch-all, not to its "example.com/" pattern; requests with such
// a host bypass the cache, so their responses never reach example.com's
// visitors.
func TestHostSpellings(t *testing.T) {
	for _, other := range []string{"EXAMPLE.COM", "example.com."} {
		t.Run(other, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			mux := http.NewServeMux()
			mux.HandleFunc("example.com/", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "example.com home")
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "default site")
			})
			h := e.cache.Handler(mux)
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.Host = other
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Body.String() != "default site" {
				t.Fatalf("precondition: the mux served %q to Host %q", rec.Body.String(), other)
			}
			if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=host" {
				t.Fatalf("Host %q: Cache-Status %q", other, cs)
			}
			if res := do(t, h, get("http://example.com/")); res.body != "example.com home" {
				t.Fatalf("Host example.com got %q (%s): the response for Host %q", res.body, res.cacheStatus(), other)
			}
		})
	}
}

// TestPurgeReachesHostSpellings: a purge or an invalidation of a URL
// reaches every spelling of its host that a request may use: only the
// plain one is ever stored, and the purge URL's host is read as plain.
func TestPurgeReachesHostSpellings(t *testing.T) {
	var version atomic.Int64
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	spellings := []string{"example.com", "Example.COM", "example.com.", "example.com:80"}
	serve := func(host string) string {
		r := httptest.NewRequest("GET", "http://example.com/a", nil)
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Body.String()
	}
	for _, host := range spellings {
		serve(host)
	}
	version.Add(1)
	if err := e.cache.PurgeURL(context.Background(), "http://EXAMPLE.com./a"); err != nil {
		t.Fatal(err)
	}
	for _, host := range spellings {
		if body := serve(host); body != "v1" {
			t.Errorf("Host %q after the purge: %q, want v1", host, body)
		}
	}
	version.Add(1)
	r := httptest.NewRequest("POST", "http://example.com/a", nil)
	r.Host = "Example.com"
	h.ServeHTTP(httptest.NewRecorder(), r)
	for _, host := range spellings {
		if body := serve(host); body != "v2" {
			t.Errorf("Host %q after a POST: %q, want v2", host, body)
		}
	}
}

// TestLocationInvalidationHostSpellings: a POST's Location on the same
// origin is invalidated however either host is spelled (case, trailing
// dot, default port).
func TestLocationInvalidationHostSpellings(t *testing.T) {
	for _, tc := range []struct{ post, location string }{
		{"http://example.com./articles", "http://example.com/articles/1"},
		{"http://example.com:80/articles", "http://example.com/articles/1"},
		{"http://example.com/articles", "http://example.com:80/articles/1"},
		{"http://example.com/articles", "http://Example.com./articles/1"},
	} {
		e := newEnv(t, httpcache.Options{})
		n := 0
		h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", tc.location)
				w.WriteHeader(http.StatusSeeOther)
				return
			}
			n++
			w.Header().Set("Cache-Control", "max-age=600")
			io.WriteString(w, "v"+itoa(int64(n)))
		}})
		do(t, h, get("http://example.com/articles/1"))
		if res := do(t, h, get("http://example.com/articles/1")); !isHit(res) {
			t.Fatalf("setup: %q", res.cacheStatus())
		}
		do(t, h, get(tc.post).with(http.MethodPost))
		if res := do(t, h, get("http://example.com/articles/1")); isHit(res) {
			t.Errorf("POST %s with Location %s: /articles/1 still a hit", tc.post, tc.location)
		}
	}
}

// TestEmptyHostBypasses: a request without a host (HTTP/1.0 without Host)
// is not cached: no purge URL could name its entry.
func TestEmptyHostBypasses(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(respond(200, maxAge("600"), "x"))
	r := httptest.NewRequest("GET", "/a", nil)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0
	r.Host = ""
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=host" {
		t.Fatalf("Cache-Status %q", cs)
	}
}

// TestPercentHostBypasses: a host with '%' (an escape, an IPv6 zone) is
// named otherwise by a parsed purge URL: it bypasses the cache.
func TestPercentHostBypasses(t *testing.T) {
	for _, host := range []string{"[fe80::1%25eth0]", "%65xample.com"} {
		e := newEnv(t, httpcache.Options{})
		h := e.cache.Handler(respond(200, maxAge("600"), "x"))
		r := httptest.NewRequest("GET", "/b", nil)
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=host" {
			t.Errorf("Host %s: Cache-Status %q", host, cs)
		}
	}
}

// TestPercentInPortBypasses: a '%' in the port bypasses too.
func TestPercentInPortBypasses(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(respond(200, maxAge("600"), "x"))
	for _, host := range []string{"example.com:%38%30", "[fe80::1%25eth0]:8080"} {
		r := httptest.NewRequest("GET", "/b", nil)
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=host" {
			_, err := e.cache.Keys("http://" + host + "/b")
			t.Errorf("Host %s: Cache-Status %q; Keys for its URL: %v", host, cs, err)
		}
	}
}
