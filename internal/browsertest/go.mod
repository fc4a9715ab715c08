module github.com/seedcache/httpcache/internal/browsertest

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.1
	github.com/seedcache/httpcache v0.0.0
)

require (
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	golang.org/x/sync v0.25.0 // indirect
)

replace github.com/seedcache/httpcache => ../..
