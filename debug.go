package httpcache

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/engine"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/tags"
)

// debugCookie is the name of the debug page's session cookie.
const debugCookie = "httpcache_debug"

// DebugHandler returns a handler serving a debug page for the Cache, for an
// admin listener: the Cache's Stats with its hit ratio, outcome counts by
// route, a lookup form showing every stored variant of a URL (its Vary
// values, status, age, freshness left, size, tags and the Cache-Status a
// GET would get now) and a purge form (URL or tag, soft or hard). The page
// is server-rendered HTML without JavaScript; a request with "Accept:
// application/json" gets the same data as JSON (GET ?url=…&headers=… for
// a lookup; POST for a purge).
//
// It answers at whatever path it is mounted on, and keeps its cookie to
// that path: mount it with mux.Handle("/debug/cache", h), or behind
// http.StripPrefix.
//
// Every request must be authorised: with "Authorization: Bearer <token>"
// (for curl and scripts), or with the session cookie a browser gets by
// posting the token in the page's form. The cookie is HttpOnly,
// SameSite=Strict, Secure over TLS, scoped to the page's path, and holds a
// digest of the token, never the token; both are compared in constant
// time. Without either, the answer is 401 with the token form. Purges are
// POST only; a cross-origin POST is refused (http.CrossOriginProtection:
// Sec-Fetch-Site or Origin), and one authorised by the cookie must also
// carry the page's CSRF token, so a foreign page cannot purge through an
// operator's browser.
//
// Creating a DebugHandler turns on, for the life of the Cache, the
// counting of outcomes by route (at most 256 routes, the rest under
// "(other)"; one atomic flag is all it costs requests before) and the
// recording of each Vary'd response's variant key in the store's tag
// index, when the store has one (memory, redis, tiered): one more tag
// record per stored variant, on the miss path, expiring with the variant,
// so that a lookup can list every variant. On other stores the page shows
// the variant the given request headers select.
//
// It panics if token is empty: an open debug page lets anyone purge.
func (c *Cache) DebugHandler(token string) http.Handler {
	if token == "" {
		panic("httpcache: DebugHandler needs a token")
	}
	c.e.CountRoutes()
	c.e.Inspectable()
	return &debugHandler{
		c:       c,
		want:    sha256.Sum256([]byte(token)),
		session: derive(token, "httpcache debug session"),
		csrf:    derive(token, "httpcache debug csrf"),
		cop:     http.NewCrossOriginProtection(),
	}
}

// derive is a value derived from the token for purpose, in hex: what the
// cookie and the CSRF field hold in place of the token.
func derive(token, purpose string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(purpose))
	return hex.EncodeToString(m.Sum(nil))
}

type debugHandler struct {
	c       *Cache
	want    [sha256.Size]byte // the token's digest, for bearerMatches
	session string            // the cookie's value
	csrf    string            // the purge form's CSRF field
	cop     *http.CrossOriginProtection
}

// maxDebugForm bounds the body of a POST to the page.
const maxDebugForm = 64 << 10

func (d *debugHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	p := &debugPage{Path: pagePath(r), JSON: wantsJSON(r)}
	bearer := bearerMatches(r.Header.Get("Authorization"), d.want)
	cookie := !bearer && d.cookieMatches(r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if err := d.cop.Check(r); err != nil {
			d.fail(w, p, http.StatusForbidden, "cross-origin request refused")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxDebugForm)
		if err := r.ParseForm(); err != nil {
			d.fail(w, p, http.StatusBadRequest, "bad form: "+err.Error())
			return
		}
		if _, ok := r.PostForm["token"]; ok {
			d.login(w, r, p)
			return
		}
	default:
		h.Set("Allow", "GET, HEAD, POST")
		d.fail(w, p, http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	if !bearer && !cookie {
		h.Set("WWW-Authenticate", `Bearer realm="httpcache debug"`)
		d.fail(w, p, http.StatusUnauthorized, "")
		return
	}
	p.Authorized, p.CSRF = true, d.csrf
	if r.Method == http.MethodPost {
		if cookie && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(d.csrf)) != 1 {
			d.fail(w, p, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
			return
		}
		switch r.PostFormValue("action") {
		case "purge":
			d.purge(r, p)
		case "logout":
			http.SetCookie(w, d.cookie(r, "", -1))
			http.Redirect(w, r, p.Path, http.StatusSeeOther)
			return
		default:
			d.fail(w, p, http.StatusBadRequest, `unknown action: use action=purge`)
			return
		}
	}
	if raw := r.FormValue("url"); raw != "" {
		d.lookup(r, p, raw, r.FormValue("headers"))
	}
	d.fill(p)
	d.render(w, http.StatusOK, p)
}

// cookieMatches reports whether r carries the session cookie.
func (d *debugHandler) cookieMatches(r *http.Request) bool {
	ck, err := r.Cookie(debugCookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(d.session)) == 1
}

// cookie is the session cookie with value, for maxAge seconds (0: the
// browser's session; negative: deleted).
func (d *debugHandler) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: debugCookie, Value: value, Path: pagePath(r), MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	}
}

// login checks a posted token: the right one sets the session cookie and
// sends the browser back to the page (POST, then redirect, then GET).
func (d *debugHandler) login(w http.ResponseWriter, r *http.Request, p *debugPage) {
	got := sha256.Sum256([]byte(r.PostFormValue("token")))
	if subtle.ConstantTimeCompare(got[:], d.want[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="httpcache debug"`)
		d.fail(w, p, http.StatusUnauthorized, "wrong token")
		return
	}
	http.SetCookie(w, d.cookie(r, d.session, 0))
	http.Redirect(w, r, p.Path, http.StatusSeeOther)
}

// fail answers with status and message: the page (the token form only,
// unless authorised) or a JSON error.
func (d *debugHandler) fail(w http.ResponseWriter, p *debugPage, status int, message string) {
	p.Error = message
	if p.JSON {
		if message == "" {
			message = strings.ToLower(http.StatusText(status))
		}
		writeJSON(w, status, map[string]string{"error": message})
		return
	}
	d.render(w, status, p)
}

// purge runs the purge the form describes and notes its result in p.
func (d *debugHandler) purge(r *http.Request, p *debugPage) {
	target := strings.TrimSpace(r.PostFormValue("target"))
	pg := Purge{Soft: r.PostFormValue("mode") == "soft"}
	res := &debugPurge{Target: target, Kind: r.PostFormValue("kind"), Soft: pg.Soft}
	p.Purge = res
	switch {
	case target == "":
		res.Error = "name a URL or a tag"
		return
	case res.Kind == "tag":
		pg.Tags = tags.Split([]string{target})
	default:
		res.Kind = "url"
		pg.URLs = absoluteURLs(r, target)
	}
	if err := d.c.Purge(r.Context(), pg); err != nil {
		res.Error = err.Error()
		return
	}
	mode := "purged"
	if pg.Soft {
		mode = "soft-purged"
	}
	if pg.Tags != nil {
		res.Result = fmt.Sprintf("%s tags %q", mode, pg.Tags)
	} else {
		res.Result = fmt.Sprintf("%s URL %s", mode, strings.Join(pg.URLs, " and "))
	}
}

// absoluteURLs are the URLs target names: itself when absolute, else its
// path on the request's host, for http and https (as PurgeHandler does).
func absoluteURLs(r *http.Request, target string) []string {
	if u, err := url.Parse(target); err == nil && u.IsAbs() {
		return []string{target}
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	host := keys.RequestHost(r)
	return []string{"http://" + host + target, "https://" + host + target}
}

// lookup inspects the URLs raw names with the request header lines in
// headers ("Name: value", one a line) and notes what is stored in p.
func (d *debugHandler) lookup(r *http.Request, p *debugPage, raw, headers string) {
	p.LookupURL, p.LookupHeaders = raw, headers
	hd := http.Header{}
	for line := range strings.Lines(headers) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if name = strings.TrimSpace(name); ok && name != "" {
			hd.Add(name, strings.TrimSpace(value))
		}
	}
	p.Lookup = &debugLookup{URL: raw, Header: hd}
	for _, u := range absoluteURLs(r, strings.TrimSpace(raw)) {
		ins, err := d.c.e.Inspect(r.Context(), u, hd)
		if err != nil {
			p.Lookup.Error = err.Error()
			return
		}
		for _, in := range ins {
			p.Lookup.Keys = append(p.Lookup.Keys, viewInspection(in))
		}
	}
}

// fill adds the counters to p.
func (d *debugHandler) fill(p *debugPage) {
	st := d.c.Stats()
	p.Stats = st
	if n := st.Hits + st.Misses; n > 0 {
		ratio := float64(st.Hits) / float64(n)
		p.HitRatio = &ratio
	}
	counts := d.c.e.RouteCounts()
	p.Routes = make([]debugRoute, 0, len(counts))
	for _, rc := range counts {
		p.Routes = append(p.Routes, debugRoute(rc))
	}
}

func (d *debugHandler) render(w http.ResponseWriter, status int, p *debugPage) {
	if p.JSON {
		writeJSON(w, status, p)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	// A failed write means the client went away.
	_ = debugTemplate.Execute(w, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// wantsJSON reports whether r asks for JSON rather than the page.
func wantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "application/json") {
			return true
		}
	}
	return false
}

// pagePath is the path the page was requested at, before any StripPrefix:
// where its forms post and its cookie applies. Leading slashes (and
// backslashes, which browsers read as slashes) are one: a page mounted
// where any path reaches it, asked for at "//evil.example/", would else
// post its token form to that host, and redirect there after the login.
func pagePath(r *http.Request) string {
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		p = u.Path
	}
	return "/" + strings.TrimLeft(p, `/\`)
}

// debugPage is what the page shows, and its JSON form.
type debugPage struct {
	Path       string       `json:"-"`
	JSON       bool         `json:"-"`
	Authorized bool         `json:"-"`
	CSRF       string       `json:"-"`
	Error      string       `json:"error,omitempty"`
	Stats      Stats        `json:"stats"`
	HitRatio   *float64     `json:"hit_ratio"` // null before any hit or miss
	Routes     []debugRoute `json:"routes"`
	Lookup     *debugLookup `json:"lookup,omitempty"`
	Purge      *debugPurge  `json:"purge,omitempty"`
	// LookupURL and LookupHeaders refill the lookup form.
	LookupURL     string `json:"-"`
	LookupHeaders string `json:"-"`
}

// debugRoute is the outcome counts of one route.
type debugRoute struct {
	Route       string `json:"route"`
	Hit         uint64 `json:"hit"`
	Stale       uint64 `json:"stale"`
	Revalidated uint64 `json:"revalidated"`
	Miss        uint64 `json:"miss"`
	Collapsed   uint64 `json:"collapsed"`
	Bypass      uint64 `json:"bypass"`
	Method      uint64 `json:"method"`
}

type debugPurge struct {
	Target string `json:"target"`
	Kind   string `json:"kind"` // url or tag
	Soft   bool   `json:"soft"`
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

type debugLookup struct {
	URL    string      `json:"url"`
	Header http.Header `json:"request_headers"`
	Error  string      `json:"error,omitempty"`
	Keys   []debugKey  `json:"keys"`
}

// debugKey is what is stored for one URL under one set of key options.
type debugKey struct {
	URL        string         `json:"url"`
	PrimaryKey string         `json:"primary_key"`
	Routes     int            `json:"routes"`
	Found      bool           `json:"found"`
	Vary       []string       `json:"vary,omitempty"`
	Listed     bool           `json:"all_variants_listed"`
	Truncated  bool           `json:"truncated,omitempty"`
	Note       string         `json:"note,omitempty"`
	Variants   []debugVariant `json:"variants"`
}

type debugVariant struct {
	Key                  string           `json:"key"`
	Selected             bool             `json:"selected"`
	Vary                 []debugVaryValue `json:"vary,omitempty"`
	Status               int              `json:"status"`
	Age                  float64          `json:"age_seconds"`
	FreshnessLeft        float64          `json:"freshness_left_seconds"` // negative: stale
	StaleWhileRevalidate bool             `json:"within_stale_while_revalidate"`
	StaleIfError         bool             `json:"within_stale_if_error"`
	KeptForRevalidation  bool             `json:"kept_for_revalidation"`
	Size                 int              `json:"size"`
	Tags                 []string         `json:"tags"`
	Expires              time.Time        `json:"expires"`
	Purged               bool             `json:"purged"`
	SoftPurged           bool             `json:"soft_purged"`
	Outcome              string           `json:"outcome"` // hit, stale, revalidate, miss, purged
	CacheStatus          string           `json:"cache_status"`
}

type debugVaryValue struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`
	Value   string `json:"value"`
	Digest  bool   `json:"digest,omitempty"`
}

func viewInspection(in engine.Inspection) debugKey {
	k := debugKey{URL: in.URL, PrimaryKey: in.PrimaryKey, Routes: in.Routes, Found: in.Found,
		Vary: in.VaryNames, Listed: in.Listed, Truncated: in.Truncated, Note: in.Note,
		Variants: []debugVariant{}}
	for _, v := range in.Variants {
		dv := debugVariant{
			Key: v.Key, Selected: v.Selected, Status: v.Status,
			Age: v.Age.Seconds(), FreshnessLeft: v.FreshnessLeft.Seconds(),
			StaleWhileRevalidate: v.InStaleWhileRevalidate, StaleIfError: v.InStaleIfError,
			KeptForRevalidation: v.Revalidatable, Size: v.Size, Tags: v.Tags, Expires: v.Expires.UTC(),
			Purged: v.Purged, SoftPurged: v.SoftPurged, Outcome: v.Outcome, CacheStatus: v.CacheStatus,
		}
		for _, vv := range v.Vary {
			dv.Vary = append(dv.Vary, debugVaryValue(vv))
		}
		k.Variants = append(k.Variants, dv)
	}
	return k
}

// seconds formats a duration in seconds for the page.
func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

var debugTemplate = template.Must(template.New("debug").Funcs(template.FuncMap{
	"seconds": seconds,
	"percent": func(f *float64) string {
		if f == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%%", *f*100)
	},
	"route": func(s string) string {
		if s == "" {
			return "(not routed)"
		}
		return s
	},
	"neg": func(f float64) bool { return f < 0 },
}).Parse(debugHTML))

// debugHTML is the page's template (debug.html, embedded).
//
//go:embed debug.html
var debugHTML string
