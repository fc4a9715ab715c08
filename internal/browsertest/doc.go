// Package browsertest drives the debug page (httpcache.Cache.DebugHandler)
// in a real headless Chromium. It is a module of its own so that the core
// module does not require chromedp.
package browsertest
