package rfc9111

import (
	"strings"
	"testing"
)

// TestParseCacheControl: Cache-Control lines parse into Directives with
// optional whitespace, any case, quoted values and lists, several lines;
// a malformed line is flagged.
func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  Directives
	}{
		{name: "empty", lines: nil, want: Directives{}},
		{name: "max-age", lines: []string{"max-age=60"}, want: Directives{MaxAge: Delta{secs: 60, set: true}}},
		{name: "OWS and case", lines: []string{"  Public ,\tMAX-AGE = 5 "}, want: Directives{Public: true, MaxAge: Delta{secs: 5, set: true}}},
		{name: "several lines", lines: []string{"no-cache", "s-maxage=7"}, want: Directives{NoCache: true, SMaxAge: Delta{secs: 7, set: true}}},
		{name: "quoted Delta", lines: []string{`max-age="30"`}, want: Directives{MaxAge: Delta{secs: 30, set: true}}},
		{name: "quoted list with commas", lines: []string{`no-cache="Set-Cookie, X-A", max-age=1`}, want: Directives{NoCache: true, MaxAge: Delta{secs: 1, set: true}}},
		{name: "escaped quote", lines: []string{`private="a\"b,c", public`}, want: Directives{Private: true, Public: true}},
		{name: "unterminated quote", lines: []string{`no-cache="abc, max-age=5`}, want: Directives{NoCache: true, Malformed: true}},
		{name: "non-numeric", lines: []string{"max-age=abc"}, want: Directives{MaxAge: Delta{set: true, bad: true}}},
		{name: "missing value", lines: []string{"max-age"}, want: Directives{MaxAge: Delta{set: true, bad: true}}},
		{name: "empty value", lines: []string{"max-age="}, want: Directives{MaxAge: Delta{set: true, bad: true}, Malformed: true}},
		{name: "negative", lines: []string{"max-age=-1"}, want: Directives{MaxAge: Delta{set: true, bad: true}}},
		{name: "decimal", lines: []string{"max-age=1.5"}, want: Directives{MaxAge: Delta{set: true, bad: true}}},
		{name: "junk after value", lines: []string{"max-age=10 20"}, want: Directives{MaxAge: Delta{set: true, bad: true}, Malformed: true}},
		{name: "semicolon after private", lines: []string{"max-age=600, private;"}, want: Directives{MaxAge: Delta{secs: 600, set: true}, Malformed: true}},
		{name: "semicolon after no-store", lines: []string{"no-store; no-cache"}, want: Directives{Malformed: true}},
		{name: "value not a token", lines: []string{"max-age=600;"}, want: Directives{MaxAge: Delta{set: true, bad: true}, Malformed: true}},
		{name: "empty elements are fine", lines: []string{", ,max-age=5,,"}, want: Directives{MaxAge: Delta{secs: 5, set: true}}},
		{name: "junk after name cannot smuggle", lines: []string{"max-age 10 no-store, public"}, want: Directives{MaxAge: Delta{set: true, bad: true}, Public: true, Malformed: true}},
		{name: "conflicting duplicates", lines: []string{"max-age=1", "max-age=2"}, want: Directives{MaxAge: Delta{secs: 1, set: true, bad: true}}},
		{name: "agreeing duplicates", lines: []string{"max-age=3, max-age=3"}, want: Directives{MaxAge: Delta{secs: 3, set: true}}},
		{name: "overflow saturates", lines: []string{"max-age=123456789012345678901234567890"}, want: Directives{MaxAge: Delta{secs: maxDelta, set: true}}},
		{name: "max-stale without value", lines: []string{"max-stale"}, want: Directives{MaxStale: Delta{secs: maxDelta, set: true}}},
		{name: "stale extensions", lines: []string{"stale-while-revalidate=30, stale-if-error=600"}, want: Directives{StaleWhileRevalidate: Delta{secs: 30, set: true}, StaleIfError: Delta{secs: 600, set: true}}},
		{name: "unknown extension ignored", lines: []string{"community=\"UCI\", foo, max-age=4"}, want: Directives{MaxAge: Delta{secs: 4, set: true}}},
		{name: "empty elements", lines: []string{",, ,no-store,,"}, want: Directives{NoStore: true}},
		{name: "request Directives", lines: []string{"only-if-cached, min-fresh=5, no-transform"}, want: Directives{OnlyIfCached: true, MinFresh: Delta{secs: 5, set: true}, NoTransform: true}},
		{name: "the rest", lines: []string{"must-revalidate, proxy-revalidate, must-understand, immutable"}, want: Directives{MustRevalidate: true, ProxyRevalidate: true, MustUnderstand: true, Immutable: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseCacheControl(tc.lines); got != tc.want {
				t.Fatalf("ParseCacheControl(%q)\n got %+v\nwant %+v", tc.lines, got, tc.want)
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
		d := ParseCacheControl([]string{s})
		if d.MaxAge.set && !d.MaxAge.bad && (d.MaxAge.secs < 0 || d.MaxAge.secs > maxDelta) {
			t.Fatalf("max-age out of range: %d", d.MaxAge.secs)
		}
		// Without quoted strings, splitting the list at a comma into two
		// field lines must not change the result.
		if !strings.Contains(s, `"`) {
			if i := strings.IndexByte(s, ','); i >= 0 {
				if split := ParseCacheControl([]string{s[:i], s[i+1:]}); split != d {
					t.Fatalf("%q parsed differently when split at %d:\n%+v\n%+v", s, i, d, split)
				}
			}
		}
	})
}
