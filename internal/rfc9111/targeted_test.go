package rfc9111

import (
	"net/http"
	"testing"
	"time"
)

// TestParseTargeted: a targeted field is an RFC 8941 Dictionary of cache
// directives (RFC 9213 §2.1). Valid values give their directives, with
// the types Cache-Control's syntax implies; anything that is not a valid,
// non-empty Dictionary is refused whole, so that the cache falls back to
// Cache-Control (§2.2).
func TestParseTargeted(t *testing.T) {
	d := func(secs int64) Delta { return Delta{secs: secs, set: true} }
	bad := Delta{set: true, bad: true}
	valid := []struct {
		name  string
		lines []string
		want  Directives
	}{
		{"max-age", []string{"max-age=60"}, Directives{MaxAge: d(60)}},
		{"s-maxage and max-age", []string{"max-age=60, s-maxage=120"}, Directives{MaxAge: d(60), SMaxAge: d(120)}},
		{"valueless is Boolean true", []string{"no-store"}, Directives{NoStore: true}},
		{"private with a String", []string{`private="set-cookie"`}, Directives{Private: true}},
		{"no-cache with an Inner List", []string{"no-cache=(a b);x=1"}, Directives{NoCache: true}},
		{"parameters ignored", []string{"max-age=60;foo=bar;baz, must-revalidate;x=?0"}, Directives{MaxAge: d(60), MustRevalidate: true}},
		{"none: valid, says nothing (§3.1)", []string{"none"}, Directives{}},
		{"leading SP and OWS after commas", []string{"  max-age=5,\tno-cache , public"}, Directives{MaxAge: d(5), NoCache: true, Public: true}},
		{"several lines", []string{"max-age=60", "no-cache"}, Directives{MaxAge: d(60), NoCache: true}},
		{"duplicate key: the last wins", []string{"max-age=60, max-age=10"}, Directives{MaxAge: d(10)}},
		{"Decimal max-age is malformed", []string{"max-age=1.5"}, Directives{MaxAge: bad}},
		{"negative max-age is malformed", []string{"max-age=-1"}, Directives{MaxAge: bad}},
		{"valueless max-age is malformed", []string{"max-age"}, Directives{MaxAge: bad}},
		{"String max-age is malformed", []string{`max-age="60"`}, Directives{MaxAge: bad}},
		{"large max-age saturates", []string{"max-age=999999999999999"}, Directives{MaxAge: d(maxDelta)}},
		{"stale extensions", []string{"stale-while-revalidate=30, stale-if-error=600"}, Directives{StaleWhileRevalidate: d(30), StaleIfError: d(600)}},
		{"public=?0 does not permit", []string{"public=?0, max-age=5"}, Directives{MaxAge: d(5)}},
		{"no-store=?0 still restricts", []string{"no-store=?0"}, Directives{NoStore: true}},
		{"must-understand=?1", []string{"must-understand=?1, no-store"}, Directives{MustUnderstand: true, NoStore: true}},
		{"request directives ignored", []string{"max-stale=5, min-fresh=1, only-if-cached"}, Directives{}},
		{"tokens, byte sequences, keys with *", []string{"a=tok/en:x, b=:aGVsbG8=:, c=:aGVsbG8:, *d=?1, e.f_g-1"}, Directives{}},
		{"escapes in a String", []string{`a="x\"y\\z", max-age=3`}, Directives{MaxAge: d(3)}},
		{"empty Inner List", []string{"a=(), private"}, Directives{Private: true}},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseTargeted(tc.lines)
			if !ok || got != tc.want {
				t.Fatalf("ParseTargeted(%q) = %+v, %v\nwant %+v, true", tc.lines, got, ok, tc.want)
			}
		})
	}
	invalid := []struct {
		name  string
		lines []string
	}{
		{"empty", []string{""}},
		{"only spaces", []string{"   "}},
		{"upper-case key", []string{"Max-Age=60"}},
		{"key starting with a digit", []string{"1a=1"}},
		{"trailing comma", []string{"max-age=60,"}},
		{"leading comma", []string{",max-age=60"}},
		{"empty member", []string{"max-age=5,,no-store"}},
		{"missing comma", []string{"max-age=60 no-store"}},
		{"tab before a member", []string{"\tmax-age=60"}},
		{"token then junk", []string{"a=abc def"}},
		{"unclosed String", []string{`private="set-cookie`}},
		{"bad escape", []string{`a="\n"`}},
		{"control character in String", []string{"a=\"\x01\""}},
		{"non-ASCII in String", []string{"a=\"\xc3\xa9\""}},
		{"16-digit Integer", []string{"max-age=1234567890123456"}},
		{"13 digits before the point", []string{"max-age=1234567890123.5"}},
		{"4 digits after the point", []string{"max-age=1.2345"}},
		{"point without digits after it", []string{"max-age=1."}},
		{"sign alone", []string{"max-age=-"}},
		{"Boolean ?2", []string{"a=?2"}},
		{"Boolean ?", []string{"a=?"}},
		{"byte sequence with a bad character", []string{"a=:ab$d:"}},
		{"byte sequence unclosed", []string{"a=:aGVsbG8="}},
		{"byte sequence one character", []string{"a=:a:"}},
		{"unclosed Inner List", []string{"private=(a b"}},
		{"Inner List without space", []string{"a=(a)(b)"}},
		{"empty parameter", []string{"max-age=5;"}},
		{"parameter with upper-case key", []string{"max-age=5;A=1"}},
		{"Cache-Control's quoted-string syntax is not a String", []string{"max-age=\"5\"x"}},
		{"Cache-Control's spaces around =", []string{"max-age = 5"}},
		{"an empty line among others", []string{"", "max-age=5"}},
		{"Date (RFC 9651, not 8941)", []string{"a=@1659578233"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := ParseTargeted(tc.lines); ok {
				t.Fatalf("ParseTargeted(%q) = %+v, valid; want invalid", tc.lines, got)
			}
		})
	}
}

// TestResponseDirectivesTargetList: the first field of the target list
// with a valid, non-empty value is used; one that is absent, empty or
// invalid is skipped; with none, Cache-Control (RFC 9213 §2.2).
func TestResponseDirectivesTargetList(t *testing.T) {
	list := []string{"Acme-Cache-Control", "Cdn-Cache-Control"}
	tests := []struct {
		name   string
		header http.Header
		field  string
		maxAge int64
	}{
		{"first wins", http.Header{"Acme-Cache-Control": {"max-age=1"}, "Cdn-Cache-Control": {"max-age=2"}, "Cache-Control": {"max-age=3"}}, "Acme-Cache-Control", 1},
		{"absent first", http.Header{"Cdn-Cache-Control": {"max-age=2"}, "Cache-Control": {"max-age=3"}}, "Cdn-Cache-Control", 2},
		{"invalid first", http.Header{"Acme-Cache-Control": {"max-age=1,"}, "Cdn-Cache-Control": {"max-age=2"}}, "Cdn-Cache-Control", 2},
		{"empty first", http.Header{"Acme-Cache-Control": {""}, "Cdn-Cache-Control": {"max-age=2"}}, "Cdn-Cache-Control", 2},
		{"all invalid", http.Header{"Acme-Cache-Control": {"Max-Age=1"}, "Cdn-Cache-Control": {"max-age=2 x"}, "Cache-Control": {"max-age=3"}}, "", 3},
		{"none present", http.Header{"Cache-Control": {"max-age=3"}}, "", 3},
		{"not on the list", http.Header{"Other-Cache-Control": {"max-age=9"}, "Cache-Control": {"max-age=3"}}, "", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ResponseDirectives(list, tc.header)
			if d.Targeted != tc.field || d.MaxAge.secs != tc.maxAge {
				t.Fatalf("from %q max-age %d, want %q max-age %d", d.Targeted, d.MaxAge.secs, tc.field, tc.maxAge)
			}
		})
	}
	if d := ResponseDirectives(nil, http.Header{"Cdn-Cache-Control": {"max-age=2"}, "Cache-Control": {"max-age=3"}}); d.Targeted != "" || d.MaxAge.secs != 3 {
		t.Fatalf("no target list: from %q max-age %d, want Cache-Control's 3", d.Targeted, d.MaxAge.secs)
	}
}

// TestDecideTargeted: the storage decision and freshness lifetime follow
// the targeted field, ignoring Cache-Control and Expires (RFC 9213 §2.2),
// with Cache-Control's semantics for each directive.
func TestDecideTargeted(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rules := Rules{Targeted: []string{"Cdn-Cache-Control"}}
	tests := []struct {
		name     string
		header   http.Header
		store    bool
		reason   string
		lifetime time.Duration
		flags    uint8
	}{
		{"max-age over Cache-Control's", http.Header{"Cdn-Cache-Control": {"max-age=600"}, "Cache-Control": {"max-age=60"}}, true, "", 600 * time.Second, 0},
		{"over Cache-Control no-store", http.Header{"Cdn-Cache-Control": {"max-age=600"}, "Cache-Control": {"no-store"}}, true, "", 600 * time.Second, 0},
		{"over Cache-Control private", http.Header{"Cdn-Cache-Control": {"max-age=600"}, "Cache-Control": {"private"}}, true, "", 600 * time.Second, 0},
		{"Expires ignored", http.Header{"Cdn-Cache-Control": {"max-age=600"}, "Expires": {"Thu, 01 Jan 2026 11:00:00 GMT"}}, true, "", 600 * time.Second, 0},
		{"no freshness: Expires still ignored", http.Header{"Cdn-Cache-Control": {"public"}, "Expires": {"Thu, 01 Jan 2026 13:00:00 GMT"}}, false, ReasonNoFreshness, 0, 0},
		{"no-store", http.Header{"Cdn-Cache-Control": {"no-store"}, "Cache-Control": {"max-age=60"}}, false, ReasonNoStore, 0, 0},
		{"private", http.Header{"Cdn-Cache-Control": {"private, max-age=60"}, "Cache-Control": {"public, max-age=60"}}, false, ReasonPrivate, 0, 0},
		{"no-cache", http.Header{"Cdn-Cache-Control": {"no-cache, max-age=60"}, "Cache-Control": {"max-age=60"}, "Etag": {`"a"`}}, true, "", 60 * time.Second, FlagNoCache},
		{"s-maxage wins and forbids stale", http.Header{"Cdn-Cache-Control": {"max-age=60, s-maxage=120, stale-while-revalidate=30"}}, true, "", 120 * time.Second, FlagMustRevalidate},
		{"must-revalidate", http.Header{"Cdn-Cache-Control": {"max-age=60, must-revalidate"}}, true, "", 60 * time.Second, FlagMustRevalidate},
		{"malformed max-age is stale", http.Header{"Cdn-Cache-Control": {"max-age=1.5"}, "Cache-Control": {"max-age=60"}}, false, ReasonStale, 0, 0},
		{"invalid: Cache-Control decides", http.Header{"Cdn-Cache-Control": {"max-age=600,"}, "Cache-Control": {"max-age=60"}}, true, "", 60 * time.Second, 0},
		{"invalid: Cache-Control no-store decides", http.Header{"Cdn-Cache-Control": {"MAX-AGE=600"}, "Cache-Control": {"no-store"}}, false, ReasonNoStore, 0, 0},
		{"invalid: Expires decides", http.Header{"Cdn-Cache-Control": {"max-age=600;"}, "Expires": {"Thu, 01 Jan 2026 12:01:00 GMT"}}, true, "", time.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.header.Set("Date", now.Format(http.TimeFormat))
			req, _ := http.NewRequest("GET", "http://example.com/", nil)
			d := Decide(rules, Exchange{Req: req, Status: 200, Header: tc.header, RequestTime: now, ResponseTime: now})
			if d.Store != tc.store || d.Reason != tc.reason || d.Lifetime != tc.lifetime || d.Flags != tc.flags {
				t.Fatalf("Decide = store %v %q lifetime %v flags %b; want %v %q %v %b", d.Store, d.Reason, d.Lifetime, d.Flags, tc.store, tc.reason, tc.lifetime, tc.flags)
			}
		})
	}
}

// FuzzTargeted checks that no input panics, that deltas stay in range,
// and that a valid value stays valid, with the same directives, when given
// twice (as two field lines, or repeated in one).
func FuzzTargeted(f *testing.F) {
	for _, s := range []string{
		"max-age=60", "no-store", `private="a,b"`, "max-age=1.5", "s-maxage=1, max-age=2",
		`a="\"`, "max-age=999999999999999", "a=(b c);d=?1", "a=:aGVsbG8=:", "none", "max-age=60;x=y",
		",", "a=", "a=(", "a=-", "*=?0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseTargeted([]string{s})
		for _, delta := range []Delta{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError} {
			if delta.Valid() && (delta.secs < 0 || delta.secs > maxDelta) {
				t.Fatalf("%q: delta out of range: %d", s, delta.secs)
			}
		}
		if !ok {
			if d != (Directives{}) {
				t.Fatalf("%q: invalid but directives %+v", s, d)
			}
			return
		}
		if d.Malformed || d.Targeted != "" {
			t.Fatalf("%q: %+v", s, d)
		}
		for _, twice := range [][]string{{s, s}, {s + ", " + s}} {
			if d2, ok2 := ParseTargeted(twice); !ok2 || d2 != d {
				t.Fatalf("%q valid, but %q: %+v, %v; want %+v", s, twice, d2, ok2, d)
			}
		}
	})
}
