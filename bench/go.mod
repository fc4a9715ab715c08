module github.com/seedcache/httpcache/bench

go 1.26.0

require (
	github.com/go-chi/stampede v0.9.1
	github.com/goware/cachestore-mem v0.2.2
	github.com/seedcache/httpcache v0.0.0
	github.com/victorspringer/http-cache v0.0.0-20240523143319-7d9f48f8ab91
)

require (
	github.com/elastic/go-freelru v0.16.0 // indirect
	github.com/goware/cachestore2 v0.12.2 // indirect
	github.com/goware/singleflight v0.3.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/zeebo/xxh3 v1.0.2 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/seedcache/httpcache => ../
