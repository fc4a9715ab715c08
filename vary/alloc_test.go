package vary

import (
	"net/http"
	"strings"
	"testing"
)

// hotHeaders is a typical browser request.
func hotHeaders() http.Header {
	return http.Header{
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		"Accept-Encoding": {"gzip, deflate, br, zstd"},
		"Accept-Language": {"en-US,en;q=0.9,fr;q=0.8"},
		"Cookie":          {"_ga=GA1.1.123; session=0123456789abcdef; theme=dark"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
	}
}

func TestAppendKeyAllocs(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		names []string
	}{
		{name: "Accept-Encoding", names: []string{"Accept-Encoding"}},
		{name: "Accept-Language", names: []string{"Accept-Language"}},
		{name: "Accept-Language with Languages", cfg: Config{Languages: []string{"en", "fr", "de-CH"}}, names: []string{"Accept-Language"}},
		{name: "malformed Accept-Language", names: []string{"Accept-Language"}},
		{name: "oversized Accept-Language", names: []string{"Accept-Language"}},
		{name: "Accept-Encoding and Accept-Language", names: []string{"Accept-Encoding", "Accept-Language"}},
		{name: "folded headers", names: []string{"Accept", "User-Agent", "X-Missing"}},
		{name: "Cookie allow-list", cfg: Config{Cookies: []string{"session", "theme"}}, names: []string{"Cookie"}},
		{name: "whole Cookie", names: []string{"Cookie"}},
		{name: "malformed", names: []string{"Accept-Encoding"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := New(tt.cfg)
			h := hotHeaders()
			switch tt.name {
			case "malformed":
				h.Set("Accept-Encoding", "gzip;q=2, br")
			case "malformed Accept-Language":
				h["Accept-Language"] = []string{"en_US", "fr"}
			case "oversized Accept-Language":
				h.Set("Accept-Language", strings.Repeat("en-US,", 50))
			}
			dst := make([]byte, 0, 1024)
			allocs := testing.AllocsPerRun(1000, func() {
				dst = n.AppendKey(dst[:0], tt.names, h)
			})
			if allocs != 0 {
				t.Errorf("AppendKey allocates %v times per run, want 0", allocs)
			}
		})
	}
}

func BenchmarkAppendKey(b *testing.B) {
	benches := []struct {
		name  string
		cfg   Config
		names []string
	}{
		{name: "AE", names: []string{"Accept-Encoding"}},
		{name: "AE+AL", names: []string{"Accept-Encoding", "Accept-Language"}},
		{name: "AE+AL+Cookie", cfg: Config{Cookies: []string{"session"}}, names: []string{"Accept-Encoding", "Accept-Language", "Cookie"}},
		{name: "Accept+UA", names: []string{"Accept", "User-Agent"}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			n := New(bb.cfg)
			h := hotHeaders()
			dst := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				dst = n.AppendKey(dst[:0], bb.names, h)
			}
		})
	}
}
