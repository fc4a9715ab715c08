package httpcache

import (
	"strings"
	"testing"
)

// TestParseCacheControl: Cache-Control lines parse into directives with
// optional whitespace, any case, quoted values and lists, several lines;
// a malformed line is flagged.
func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  directives
	}{
		{name: "empty", lines: nil, want: directives{}},
		{name: "max-age", lines: []string{"max-age=60"}, want: directives{maxAge: delta{secs: 60, set: true}}},
		{name: "OWS and case", lines: []string{"  Public ,\tMAX-AGE = 5 "}, want: directives{public: true, maxAge: delta{secs: 5, set: true}}},
		{name: "several lines", lines: []string{"no-cache", "s-maxage=7"}, want: directives{noCache: true, sMaxAge: delta{secs: 7, set: true}}},
		{name: "quoted delta", lines: []string{`max-age="30"`}, want: directives{maxAge: delta{secs: 30, set: true}}},
		{name: "quoted list with commas", lines: []string{`no-cache="Set-Cookie, X-A", max-age=1`}, want: directives{noCache: true, maxAge: delta{secs: 1, set: true}}},
		{name: "escaped quote", lines: []string{`private="a\"b,c", public`}, want: directives{private: true, public: true}},
		{name: "unterminated quote", lines: []string{`no-cache="abc, max-age=5`}, want: directives{noCache: true, malformed: true}},
		{name: "non-numeric", lines: []string{"max-age=abc"}, want: directives{maxAge: delta{set: true, bad: true}}},
		{name: "missing value", lines: []string{"max-age"}, want: directives{maxAge: delta{set: true, bad: true}}},
		{name: "empty value", lines: []string{"max-age="}, want: directives{maxAge: delta{set: true, bad: true}, malformed: true}},
		{name: "negative", lines: []string{"max-age=-1"}, want: directives{maxAge: delta{set: true, bad: true}}},
		{name: "decimal", lines: []string{"max-age=1.5"}, want: directives{maxAge: delta{set: true, bad: true}}},
		{name: "junk after value", lines: []string{"max-age=10 20"}, want: directives{maxAge: delta{set: true, bad: true}, malformed: true}},
		{name: "semicolon after private", lines: []string{"max-age=600, private;"}, want: directives{maxAge: delta{secs: 600, set: true}, malformed: true}},
		{name: "semicolon after no-store", lines: []string{"no-store; no-cache"}, want: directives{malformed: true}},
		{name: "value not a token", lines: []string{"max-age=600;"}, want: directives{maxAge: delta{set: true, bad: true}, malformed: true}},
		{name: "empty elements are fine", lines: []string{", ,max-age=5,,"}, want: directives{maxAge: delta{secs: 5, set: true}}},
		{name: "junk after name cannot smuggle", lines: []string{"max-age 10 no-store, public"}, want: directives{maxAge: delta{set: true, bad: true}, public: true, malformed: true}},
		{name: "conflicting duplicates", lines: []string{"max-age=1", "max-age=2"}, want: directives{maxAge: delta{secs: 1, set: true, bad: true}}},
		{name: "agreeing duplicates", lines: []string{"max-age=3, max-age=3"}, want: directives{maxAge: delta{secs: 3, set: true}}},
		{name: "overflow saturates", lines: []string{"max-age=123456789012345678901234567890"}, want: directives{maxAge: delta{secs: maxDelta, set: true}}},
		{name: "max-stale without value", lines: []string{"max-stale"}, want: directives{maxStale: delta{secs: maxDelta, set: true}}},
		{name: "stale extensions", lines: []string{"stale-while-revalidate=30, stale-if-error=600"}, want: directives{staleWhileRevalidate: delta{secs: 30, set: true}, staleIfErr: delta{secs: 600, set: true}}},
		{name: "unknown extension ignored", lines: []string{"community=\"UCI\", foo, max-age=4"}, want: directives{maxAge: delta{secs: 4, set: true}}},
		{name: "empty elements", lines: []string{",, ,no-store,,"}, want: directives{noStore: true}},
		{name: "request directives", lines: []string{"only-if-cached, min-fresh=5, no-transform"}, want: directives{onlyIfCache: true, minFresh: delta{secs: 5, set: true}, noTransform: true}},
		{name: "the rest", lines: []string{"must-revalidate, proxy-revalidate, must-understand, immutable"}, want: directives{mustRevalidate: true, proxyRevalidate: true, mustUnderstand: true, immutable: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseCacheControl(tc.lines); got != tc.want {
				t.Fatalf("parseCacheControl(%q)\n got %+v\nwant %+v", tc.lines, got, tc.want)
			}
		})
	}
}

// FuzzCacheControl checks that no input panics, and that parsing is
// insensitive to how a list is split across field lines.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", "no-store", `private="a,b"`, "max-age=abc", "s-maxage=1, max-age=2",
		`no-cache="`, "max-age=99999999999999999999999", ",,,", "max-age = 1", "\"\\", "=", "a=\"\\\"\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseCacheControl([]string{s})
		if d.maxAge.set && !d.maxAge.bad && (d.maxAge.secs < 0 || d.maxAge.secs > maxDelta) {
			t.Fatalf("max-age out of range: %d", d.maxAge.secs)
		}
		// Without quoted strings, splitting the list at a comma into two
		// field lines must not change the result.
		if !strings.Contains(s, `"`) {
			if i := strings.IndexByte(s, ','); i >= 0 {
				if split := parseCacheControl([]string{s[:i], s[i+1:]}); split != d {
					t.Fatalf("%q parsed differently when split at %d:\n%+v\n%+v", s, i, d, split)
				}
			}
		}
	})
}
