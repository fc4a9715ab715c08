package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

const token = "browser-test-token"

// chromium finds a Chromium (or Chrome) to drive. Without one the test is
// skipped, except under CI=true, where it fails: CI installs Debian's
// chromium package.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (apt-get install chromium)")
	}
	t.Skip("chromium not found (apt-get install chromium); skipping the browser test")
	return ""
}

// languagePage answers in the request's Accept-Language, varying on it.
func languagePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=300")
	w.Header().Set("Vary", "Accept-Language")
	w.Header().Set("Cache-Tag", "pages")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("page in " + r.Header.Get("Accept-Language")))
}

// get requests url with Accept-Language lang and returns its Cache-Status.
func get(t *testing.T, url, lang string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Language", lang)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Cache-Status")
}

// TestDebugPageInBrowser drives the debug page in headless Chromium: the
// token form, a lookup of a Vary'd URL showing both stored variants, and
// a purge from the page, after which the next request to the app misses.
func TestDebugPageInBrowser(t *testing.T) {
	exe := chromium(t)
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	debug := cache.DebugHandler(token)

	mux := http.NewServeMux()
	mux.Handle("GET /page", cache.Handler(http.HandlerFunc(languagePage)))
	app := httptest.NewServer(mux)
	defer app.Close()
	adminMux := http.NewServeMux()
	adminMux.Handle("/debug/cache", debug)
	admin := httptest.NewServer(adminMux)
	defer admin.Close()

	pageURL := app.URL + "/page"
	for _, lang := range []string{"en", "fr"} {
		if cs := get(t, pageURL, lang); !strings.Contains(cs, "stored") {
			t.Fatalf("%s: Cache-Status %q; want stored", lang, cs)
		}
	}
	cache.Wait()
	if cs := get(t, pageURL, "en"); !strings.HasSuffix(cs, "; hit") {
		t.Fatalf("before the purge: Cache-Status %q; want a hit", cs)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	// The whole test is bounded (the browser dies with this context), and
	// so is each step.
	outer, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(outer, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	if err := chromedp.Do(ctx); err != nil { // starts the browser, for ctx's life
		t.Fatalf("starting %s: %v", exe, err)
	}
	step := func(what string, load bool, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		var err error
		if load {
			// A step that submits a form: wait for the next page.
			var res *network.Response
			if res, err = chromedp.RunResponse(sctx, steps...); err == nil && res.Status >= 400 {
				err = fmt.Errorf("status %d", res.Status)
			}
		} else {
			err = chromedp.Do(sctx, steps...)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel chromedp.ID) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// Without the token: the form alone (401).
	sctx, cancelNav := context.WithTimeout(ctx, 60*time.Second)
	res, err := chromedp.Run(sctx, chromedp.NavigateResponse(admin.URL+"/debug/cache"))
	cancelNav()
	if err != nil || res.Status != http.StatusUnauthorized {
		t.Fatalf("loading the page without the token: %v, %v; want 401", res, err)
	}
	if body := text("login"); strings.Contains(body, "Hit ratio") {
		t.Fatalf("the page shows stats before login:\n%s", body)
	}

	// Log in through the token form.
	step("login", true,
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")),
	)
	t.Logf("hit ratio shown: %s", text("hit-ratio"))

	// Look the Vary'd URL up, with the headers of one variant.
	step("lookup", true,
		chromedp.SendKeys(chromedp.ID("lookup-url"), pageURL),
		chromedp.SendKeys(chromedp.ID("lookup-headers"), "Accept-Language: fr"),
		chromedp.Submit(chromedp.ID("lookup-url")),
	)
	lookup := text("lookup-result")
	sctx, cancelEval := context.WithTimeout(ctx, 60*time.Second)
	variants, err := chromedp.Run(sctx, chromedp.Evaluate[int](`document.querySelectorAll("#lookup-result tr.variant").length`))
	cancelEval()
	if err != nil {
		t.Fatal(err)
	}
	if variants != 2 || !strings.Contains(lookup, "Accept-Language: en") || !strings.Contains(lookup, "Accept-Language: fr") ||
		!strings.Contains(lookup, "selected by the given headers") {
		t.Fatalf("lookup shows %d variants; want en and fr, fr selected:\n%s", variants, lookup)
	}
	screenshot(ctx, t, "lookup.png")

	// Purge from the page.
	step("purge", true,
		chromedp.SendKeys(chromedp.ID("purge-target"), pageURL),
		chromedp.Click(chromedp.ID("purge-submit")),
	)
	if result := text("purge-result"); !strings.Contains(result, "purged URL "+pageURL) {
		t.Fatalf("purge result %q; want purged URL %s", result, pageURL)
	}
	if cs := get(t, pageURL, "en"); strings.Contains(cs, "hit") || !strings.Contains(cs, "fwd=") {
		t.Fatalf("after the purge: Cache-Status %q; want a miss", cs)
	}
	screenshot(ctx, t, "purge.png")
}

// screenshot saves a full-page screenshot into the test's temp dir, and
// into $SCREENSHOT_DIR if that is set.
func screenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if dir := os.Getenv("SCREENSHOT_DIR"); dir != "" {
		// t.TempDir goes with the test: this one stays, for a look.
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
