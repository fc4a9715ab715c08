package main

import (
	"bytes"
	"flag"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// bodyPath and a size in bytes is the URL of a body: /bytes/1024.
	bodyPath = "/bytes/"
	// countPath answers how many body requests the origin has served, so
	// that the harness can tell hits from requests that reached it.
	countPath = "/_count"
	// maxBody bounds the sizes the origin serves.
	maxBody = 16 << 20
)

// serveOrigin is the origin process: it serves on -listen until killed.
func serveOrigin(args []string) error {
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9000", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              *listen,
		Handler:           newOrigin(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	return srv.ListenAndServe()
}

// origin serves GET /bytes/N: N bytes of 'x', shareable for an hour, the
// simplest handler a cache can be compared with.
type origin struct {
	count  atomic.Int64
	bodies sync.Map // int → []byte
}

func newOrigin() *origin { return &origin{} }

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == countPath {
		w.Write(strconv.AppendInt(nil, o.count.Load(), 10))
		return
	}
	size, ok := strings.CutPrefix(r.URL.Path, bodyPath)
	n, err := strconv.Atoi(size)
	if !ok || err != nil || n < 1 || n > maxBody {
		http.NotFound(w, r)
		return
	}
	o.count.Add(1)
	body, ok := o.bodies.Load(n)
	if !ok {
		body, _ = o.bodies.LoadOrStore(n, bytes.Repeat([]byte("x"), n))
	}
	h := w.Header()
	h["Content-Type"] = contentType
	h["Cache-Control"] = cacheControl
	h["Content-Length"] = []string{strconv.Itoa(n)}
	w.WriteHeader(http.StatusOK)
	w.Write(body.([]byte))
}

// The origin's fixed header values, shared rather than rebuilt per request.
var (
	contentType  = []string{"application/octet-stream"}
	cacheControl = []string{"public, max-age=3600"}
)
