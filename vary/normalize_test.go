package vary

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// valueTest is one row of a normalisation table: the field lines of header
// name (nil: missing) and the value and presence wanted.
type valueTest struct {
	name    string
	header  string
	lines   []string
	want    string
	present bool
}

func runValueTests(t *testing.T, n *Normalizer, tests []valueTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.lines != nil {
				h[http.CanonicalHeaderKey(tt.header)] = tt.lines
			}
			got, present := n.Value(tt.header, h)
			if got != tt.want || present != tt.present {
				t.Errorf("Value(%s: %q) = %q, %v; want %q, %v",
					tt.header, tt.lines, got, present, tt.want, tt.present)
			}
		})
	}
}

func TestValueDefault(t *testing.T) {
	runValueTests(t, New(Config{}), []valueTest{
		{name: "missing", header: "X-Foo", want: "", present: false},
		{name: "empty", header: "X-Foo", lines: []string{""}, want: "", present: true},
		{name: "only whitespace", header: "X-Foo", lines: []string{" \t "}, want: "", present: true},
		{name: "trimmed", header: "X-Foo", lines: []string{" \ta b\t "}, want: "a b", present: true},
		// A header not known to be a list is kept as the handler reads
		// it: trimmed, nothing else changed, lines apart.
		{name: "runs kept", header: "X-Foo", lines: []string{"a \t  b\t\tc"}, want: "a \t  b\t\tc", present: true},
		{name: "OWS around commas kept", header: "X-Foo", lines: []string{"a , b"}, want: "a , b", present: true},
		{name: "lines kept apart", header: "X-Foo", lines: []string{"a ", " b"}, want: "\x00\x02\x01a\x01b", present: true},
		{name: "empty line kept", header: "X-Foo", lines: []string{"a", ""}, want: "\x00\x02\x01a\x00", present: true},
		{name: "a NUL in one line", header: "X-Foo", lines: []string{"\x00\x02\x01a\x01b"}, want: "\x00\x01\x06\x00\x02\x01a\x01b", present: true},
		{name: "case kept for unknown headers", header: "X-User", lines: []string{"Alice"}, want: "Alice", present: true},
		{name: "case kept for Origin", header: "Origin", lines: []string{"https://Example.com"}, want: "https://Example.com", present: true},
		// A list (Accept and the other case-insensitive ones): lines
		// combined, whitespace folded, quoted strings kept.
		{name: "list: runs collapsed", header: "Accept", lines: []string{"a \t  b\t\tc"}, want: "a b c", present: true},
		{name: "list: OWS around commas", header: "Accept", lines: []string{"a , b\t,\tc ,d"}, want: "a,b,c,d", present: true},
		{name: "list: lines combined", header: "Accept", lines: []string{"a ", " b"}, want: "a,b", present: true},
		{name: "list: empty line kept as empty element", header: "Accept", lines: []string{"a", ""}, want: "a,", present: true},
		{name: "list: quoted string kept", header: "Accept", lines: []string{`a,  "x  , Y" , b`}, want: `a,"x  , Y",b`, present: true},
		{name: "list: escaped quote", header: "Accept", lines: []string{`"a\"  b"   c`}, want: `"a\"  b" c`, present: true},
		{name: "list: unterminated quote", header: "Accept", lines: []string{`"a  b`, " c"}, want: `"a  b, c`, present: true},
		{name: "Accept lower-cased", header: "Accept", lines: []string{"Text/HTML, Application/XML;Q=0.9"}, want: "text/html,application/xml;q=0.9", present: true},
		{name: "Accept quoted value kept", header: "Accept", lines: []string{`text/html;Profile="Foo Bar"`}, want: `text/html;profile="Foo Bar"`, present: true},
		{name: "Accept-Charset lower-cased", header: "accept-charset", lines: []string{"UTF-8, ISO-8859-1;q=0.5"}, want: "utf-8,iso-8859-1;q=0.5", present: true},
		{name: "Access-Control-Request-Headers lower-cased", header: "Access-Control-Request-Headers", lines: []string{"X-Token, Content-Type"}, want: "x-token,content-type", present: true},
	})
}

func TestValueAcceptEncoding(t *testing.T) {
	const all = "br,deflate,gzip,identity,zstd"
	runValueTests(t, New(Config{}), []valueTest{
		{name: "missing", header: "Accept-Encoding", want: "", present: false},
		{name: "browser", header: "Accept-Encoding", lines: []string{"gzip, deflate, br"}, want: "br,deflate,gzip,identity", present: true},
		{name: "same set other order and weights", header: "Accept-Encoding", lines: []string{"br;q=0.9, gzip, deflate"}, want: "br,deflate,gzip,identity", present: true},
		{name: "upper case", header: "Accept-Encoding", lines: []string{"GZIP, Br"}, want: "br,gzip,identity", present: true},
		{name: "lines combined", header: "Accept-Encoding", lines: []string{"gzip", "br"}, want: "br,gzip,identity", present: true},
		{name: "empty field accepts identity only", header: "Accept-Encoding", lines: []string{""}, want: "identity", present: true},
		{name: "empty elements", header: "Accept-Encoding", lines: []string{" , ,"}, want: "identity", present: true},
		{name: "star", header: "Accept-Encoding", lines: []string{"*"}, want: all, present: true},
		{name: "star q=0 excludes all", header: "Accept-Encoding", lines: []string{"*;q=0"}, want: "", present: true},
		{name: "star q=0 but gzip", header: "Accept-Encoding", lines: []string{"*;q=0, gzip"}, want: "gzip", present: true},
		{name: "star q=0 but identity", header: "Accept-Encoding", lines: []string{"*;q=0, identity;q=0.5"}, want: "identity", present: true},
		{name: "star with exclusion", header: "Accept-Encoding", lines: []string{"*, gzip;q=0"}, want: "br,deflate,identity,zstd", present: true},
		{name: "star low weight", header: "Accept-Encoding", lines: []string{"gzip, *;q=0.1"}, want: all, present: true},
		{name: "q=0 excludes", header: "Accept-Encoding", lines: []string{"gzip;q=0, br"}, want: "br,identity", present: true},
		{name: "q=0.000 excludes", header: "Accept-Encoding", lines: []string{"gzip;q=0.000"}, want: "identity", present: true},
		{name: "q=0. excludes", header: "Accept-Encoding", lines: []string{"gzip;q=0."}, want: "identity", present: true},
		{name: "q=0.001 accepts", header: "Accept-Encoding", lines: []string{"gzip;q=0.001"}, want: "gzip,identity", present: true},
		{name: "q=1.000 and OWS and Q", header: "Accept-Encoding", lines: []string{"gzip ; Q=1.000,br;\tq=1"}, want: "br,gzip,identity", present: true},
		{name: "identity excluded", header: "Accept-Encoding", lines: []string{"gzip, identity;q=0"}, want: "gzip", present: true},
		{name: "only identity excluded", header: "Accept-Encoding", lines: []string{"identity;q=0"}, want: "", present: true},
		{name: "unserved codings dropped", header: "Accept-Encoding", lines: []string{"compress, sdch, dcb"}, want: "identity", present: true},
		{name: "x-gzip is gzip", header: "Accept-Encoding", lines: []string{"x-gzip"}, want: "gzip,identity", present: true},
		{name: "duplicates that agree", header: "Accept-Encoding", lines: []string{"gzip, gzip;q=0.5, x-gzip"}, want: "gzip,identity", present: true},
		{name: "duplicates that conflict", header: "Accept-Encoding", lines: []string{"gzip, gzip;q=0"}, want: "malformed;gzip,gzip;q=0", present: true},
		{name: "alias conflict", header: "Accept-Encoding", lines: []string{"gzip", "X-Gzip;q=0"}, want: "malformed;gzip,x-gzip;q=0", present: true},
		{name: "star conflict", header: "Accept-Encoding", lines: []string{"*;q=0, *"}, want: "malformed;*;q=0,*", present: true},
		{name: "q above 1", header: "Accept-Encoding", lines: []string{"gzip;q=2"}, want: "malformed;gzip;q=2", present: true},
		{name: "q=1.5", header: "Accept-Encoding", lines: []string{"gzip;q=1.5"}, want: "malformed;gzip;q=1.5", present: true},
		{name: "q=.5", header: "Accept-Encoding", lines: []string{"gzip;q=.5"}, want: "malformed;gzip;q=.5", present: true},
		{name: "four decimals", header: "Accept-Encoding", lines: []string{"gzip;q=0.0001"}, want: "malformed;gzip;q=0.0001", present: true},
		{name: "negative q", header: "Accept-Encoding", lines: []string{"gzip;q=-1"}, want: "malformed;gzip;q=-1", present: true},
		{name: "empty q", header: "Accept-Encoding", lines: []string{"gzip;q="}, want: "malformed;gzip;q=", present: true},
		{name: "other parameter", header: "Accept-Encoding", lines: []string{"gzip;level=9"}, want: "malformed;gzip;level=9", present: true},
		{name: "two weights", header: "Accept-Encoding", lines: []string{"gzip;q=1;q=1"}, want: "malformed;gzip;q=1;q=1", present: true},
		{name: "missing semicolon", header: "Accept-Encoding", lines: []string{"gzip q=1"}, want: "malformed;gzip q=1", present: true},
		{name: "quoted", header: "Accept-Encoding", lines: []string{`"gzip"`}, want: `malformed;"gzip"`, present: true},
		{name: "malformed is case-folded", header: "Accept-Encoding", lines: []string{"GZIP;Q=2 , BR"}, want: "malformed;gzip;q=2,br", present: true},
	})

	t.Run("config", func(t *testing.T) {
		tests := []struct {
			name    string
			codings []string
			in      string
			want    string
		}{
			{name: "one coding", codings: []string{"GZIP"}, in: "br, gzip", want: "gzip,identity"},
			{name: "identity only", codings: []string{"identity"}, in: "br, gzip", want: "identity"},
			{name: "empty means default", codings: []string{}, in: "br, gzip", want: "br,gzip,identity"},
			{name: "alias in config", codings: []string{"x-gzip", "gzip"}, in: "x-gzip", want: "gzip,identity"},
			{name: "identity listed", codings: []string{"identity", "br"}, in: "br", want: "br,identity"},
			{name: "extra coding", codings: []string{"gzip", "dcz"}, in: "dcz, gzip;q=0", want: "dcz,identity"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n := New(Config{Codings: tt.codings})
				h := http.Header{"Accept-Encoding": {tt.in}}
				if got, _ := n.Value("Accept-Encoding", h); got != tt.want {
					t.Errorf("Codings %q: Value(%q) = %q, want %q", tt.codings, tt.in, got, tt.want)
				}
			})
		}
	})
}

func TestValueAcceptLanguage(t *testing.T) {
	long := strings.Repeat("en-US,", 43) + "fr" // 260 bytes
	runValueTests(t, New(Config{}), []valueTest{
		{name: "missing", header: "Accept-Language", want: "", present: false},
		{name: "browser", header: "Accept-Language", lines: []string{"en-US,en;q=0.9,fr;q=0.8"}, want: "en-us,en;q=0.9,fr;q=0.8", present: true},
		{name: "order kept", header: "Accept-Language", lines: []string{"fr;q=0.5, de"}, want: "fr;q=0.5,de", present: true},
		{name: "equal q in order", header: "Accept-Language", lines: []string{"de;q=0.8, fr;q=0.8"}, want: "de;q=0.8,fr;q=0.8", present: true},
		{name: "case folded", header: "Accept-Language", lines: []string{"ZH-Hant-TW, EN"}, want: "zh-hant-tw,en", present: true},
		{name: "whitespace folded", header: "Accept-Language", lines: []string{"en-US ,\tfr ; q=0.5 ,de;\tq=0.1"}, want: "en-us,fr;q=0.5,de;q=0.1", present: true},
		{name: "q=1 is no q", header: "Accept-Language", lines: []string{"en;q=1, fr;q=1.0, de;q=1.000, it;q=1."}, want: "en,fr,de,it", present: true},
		{name: "trailing zeros dropped", header: "Accept-Language", lines: []string{"en;q=0.50, fr;q=0.500, de;q=0.050, it;q=0.005, es;q=0.120"}, want: "en;q=0.5,fr;q=0.5,de;q=0.05,it;q=0.005,es;q=0.12", present: true},
		{name: "q=0 kept", header: "Accept-Language", lines: []string{"en;q=0, fr;q=0.0, de;q=0., it;q=0.000"}, want: "en;q=0,fr;q=0,de;q=0,it;q=0", present: true},
		{name: "upper-case Q kept", header: "Accept-Language", lines: []string{"en;Q=0.5, fr;Q=1"}, want: "en;Q=0.5,fr;Q=1", present: true},
		{name: "duplicates kept", header: "Accept-Language", lines: []string{"en, en;q=0.5, en"}, want: "en,en;q=0.5,en", present: true},
		{name: "empty elements kept", header: "Accept-Language", lines: []string{",en,, ,fr,"}, want: ",en,,,fr,", present: true},
		{name: "lines apart", header: "Accept-Language", lines: []string{"fr;q=0.5", " de;q=0.7"}, want: "fr;q=0.5\nde;q=0.7", present: true},
		{name: "empty lines kept", header: "Accept-Language", lines: []string{"", "fr", ""}, want: "\nfr\n", present: true},
		{name: "empty", header: "Accept-Language", lines: []string{""}, want: "", present: true},
		{name: "star", header: "Accept-Language", lines: []string{"*"}, want: "*", present: true},
		{name: "star with q", header: "Accept-Language", lines: []string{"en;q=0.4, *;q=0.5"}, want: "en;q=0.4,*;q=0.5", present: true},
		{name: "grandfathered-style", header: "Accept-Language", lines: []string{"i-Klingon"}, want: "i-klingon", present: true},
		{name: "eight-letter subtags", header: "Accept-Language", lines: []string{"ab-12345678"}, want: "ab-12345678", present: true},
		// No language code is longer than three letters; x/text reads
		// "english" and "English" differently.
		{name: "long first subtag keeps its case", header: "Accept-Language", lines: []string{"English, Deutsch-AT, FRA, Abcdefgh-12345678"}, want: "English,Deutsch-AT,fra,Abcdefgh-12345678", present: true},
		{name: "longest parsed", header: "Accept-Language", lines: []string{long[4:]}, want: strings.ToLower(long[4:]), present: true},
		{name: "oversized kept as received", header: "Accept-Language", lines: []string{long}, want: "oversized;" + long, present: true},
		{name: "oversized over lines", header: "Accept-Language", lines: []string{long[:128], long[130:]}, want: "oversized;\x00\x02\x80\x01" + long[:128] + "\x82\x01" + long[130:], present: true},
		{name: "underscore", header: "Accept-Language", lines: []string{"en_US"}, want: "malformed;en_US", present: true},
		{name: "bad q", header: "Accept-Language", lines: []string{"EN;q=abc"}, want: "malformed;EN;q=abc", present: true},
		{name: "q without leading zero", header: "Accept-Language", lines: []string{"en;q=.5"}, want: "malformed;en;q=.5", present: true},
		{name: "space around =", header: "Accept-Language", lines: []string{"en;q = 0.5"}, want: "malformed;en;q = 0.5", present: true},
		{name: "digit first", header: "Accept-Language", lines: []string{"123"}, want: "malformed;123", present: true},
		{name: "subtag too long", header: "Accept-Language", lines: []string{"abcdefghi"}, want: "malformed;abcdefghi", present: true},
		{name: "trailing hyphen", header: "Accept-Language", lines: []string{"en-"}, want: "malformed;en-", present: true},
		{name: "double hyphen", header: "Accept-Language", lines: []string{"en--us"}, want: "malformed;en--us", present: true},
		{name: "other parameter", header: "Accept-Language", lines: []string{"en;q=0.5;x=1"}, want: "malformed;en;q=0.5;x=1", present: true},
		{name: "malformed kept as received", header: "Accept-Language", lines: []string{"EN ,  fr;Q=2"}, want: "malformed;EN ,  fr;Q=2", present: true},
		{name: "malformed lines apart", header: "Accept-Language", lines: []string{"en", "fr;q=2"}, want: "malformed;\x00\x02\x02en\x06fr;q=2", present: true},
		// A parsed value never starts with a nine-letter word.
		{name: "no marker is a range", header: "Accept-Language", lines: []string{"malformed;q=0.5"}, want: "malformed;malformed;q=0.5", present: true},
	})
}

func TestValueAcceptLanguageLanguages(t *testing.T) {
	n := New(Config{Languages: []string{"fr", "EN", "en-GB-oxendict", "zh-Hant", "zh-Hans", "pt-BR", "fr"}})
	if want := []string{"en", "en-gb-oxendict", "fr", "pt-br", "zh-hans", "zh-hant"}; !slices.Equal(n.languages, want) {
		t.Fatalf("languages %q, want %q", n.languages, want)
	}
	runValueTests(t, n, []valueTest{
		{name: "missing", header: "Accept-Language", want: "", present: false},
		{name: "empty", header: "Accept-Language", lines: []string{""}, want: "", present: true},
		{name: "listed language kept", header: "Accept-Language", lines: []string{"FR, en;q=0.5"}, want: "fr,en;q=0.5", present: true},
		{name: "region of a listed language", header: "Accept-Language", lines: []string{"fr-CA, fr-FR-x-paris;q=0.5"}, want: "<fr,<fr;q=0.5", present: true},
		{name: "unlisted language", header: "Accept-Language", lines: []string{"de-DE,de;q=0.9,fr;q=0.8,ja;q=0.7"}, want: "?,?;q=0.9,fr;q=0.8,?;q=0.7", present: true},
		{name: "star kept", header: "Accept-Language", lines: []string{"de, *;q=0.1"}, want: "?,*;q=0.1", present: true},
		{name: "q kept exactly", header: "Accept-Language", lines: []string{"de, fr;q=0.50, fr;q=0"}, want: "?,fr;q=0.5,fr;q=0", present: true},
		{name: "prefix of listed languages", header: "Accept-Language", lines: []string{"zh, pt"}, want: ">zh-hans>zh-hant,>pt-br", present: true},
		{name: "between two listed languages", header: "Accept-Language", lines: []string{"en-GB"}, want: "<en>en-gb-oxendict", present: true},
		{name: "extends two listed languages", header: "Accept-Language", lines: []string{"en-GB-oxendict-x-a"}, want: "<en<en-gb-oxendict", present: true},
		// A sibling of a listed language is kept: matchers differ on it.
		// zh-Hant-TW extends zh-Hant but is a sibling of zh-Hans.
		{name: "sibling of a listed language kept", header: "Accept-Language", lines: []string{"en-US, zh-TW, zh-Hant-TW, pt-PT"}, want: "en-us,zh-tw,zh-hant-tw,pt-pt", present: true},
		{name: "empty elements and lines kept", header: "Accept-Language", lines: []string{"de,,fr", ""}, want: "?,,fr\n", present: true},
		{name: "upper-case Q kept", header: "Accept-Language", lines: []string{"de;Q=0.5"}, want: "?;Q=0.5", present: true},
		{name: "malformed", header: "Accept-Language", lines: []string{"fr_CA"}, want: "malformed;fr_CA", present: true},
	})
}

func TestValueCookie(t *testing.T) {
	t.Run("allow-list", func(t *testing.T) {
		runValueTests(t, New(Config{Cookies: []string{"session", "lang", "session"}}), []valueTest{
			{name: "missing", header: "Cookie", want: "", present: false},
			{name: "allowed only, sorted", header: "Cookie", lines: []string{"session=abc; _ga=GA1.2; lang=fr"}, want: "lang=fr; session=abc", present: true},
			{name: "none allowed counts as missing", header: "Cookie", lines: []string{"_ga=1; theme=dark"}, want: "", present: false},
			{name: "empty header counts as missing", header: "Cookie", lines: []string{""}, want: "", present: false},
			{name: "duplicates keep order", header: "Cookie", lines: []string{"session=b; lang=x; session=a"}, want: "lang=x; session=b; session=a", present: true},
			{name: "lines combined", header: "Cookie", lines: []string{"session=a", "lang=en"}, want: "lang=en; session=a", present: true},
			// As net/http reads it: the pair trimmed, then the name; the
			// space after "=" is the value's, which the handler sees.
			{name: "whitespace trimmed as net/http does", header: "Cookie", lines: []string{"  session = x ;  "}, want: "session= x", present: true},
			{name: "space before = is not the name's", header: "Cookie", lines: []string{"session =x"}, want: "session=x", present: true},
			{name: "empty value is present", header: "Cookie", lines: []string{"session="}, want: "session=", present: true},
			{name: "nameless pair does not match", header: "Cookie", lines: []string{"session"}, want: "", present: false},
			{name: "names are case-sensitive", header: "Cookie", lines: []string{"Session=x"}, want: "", present: false},
			{name: "equals in value", header: "Cookie", lines: []string{"session=a=b"}, want: "session=a=b", present: true},
			{name: "value case kept", header: "Cookie", lines: []string{"session=AbC"}, want: "session=AbC", present: true},
		})
	})
	t.Run("empty allow-list keeps the whole header", func(t *testing.T) {
		runValueTests(t, New(Config{Cookies: []string{}}), []valueTest{
			{name: "whole header", header: "Cookie", lines: []string{"a=b;c=d"}, want: "a=b; c=d", present: true},
		})
	})
	t.Run("whole header", func(t *testing.T) {
		runValueTests(t, New(Config{}), []valueTest{
			{name: "missing", header: "Cookie", want: "", present: false},
			{name: "empty", header: "Cookie", lines: []string{""}, want: "", present: true},
			{name: "spacing normalised", header: "Cookie", lines: []string{"a=b;c=D ;  e=f"}, want: "a=b; c=D; e=f", present: true},
			{name: "lines joined with semicolons", header: "Cookie", lines: []string{"a=b", "c=d"}, want: "a=b; c=d", present: true},
			{name: "empty pairs dropped", header: "Cookie", lines: []string{" ; a=b;; ;"}, want: "a=b", present: true},
			// net/http hands a value's spaces and commas to the handler.
			{name: "inner whitespace kept", header: "Cookie", lines: []string{"a=x \t y"}, want: "a=x \t y", present: true},
			{name: "comma and space kept", header: "Cookie", lines: []string{"sid=a, b"}, want: "sid=a, b", present: true},
			{name: "order and case kept", header: "Cookie", lines: []string{"Z=1; a=2"}, want: "Z=1; a=2", present: true},
		})
	})
}

func TestValueCustom(t *testing.T) {
	calls := 0
	n := New(Config{
		Cookies: []string{"session"},
		Normalizers: map[string]func([]string) string{
			"x-device": func(v []string) string {
				calls++
				if strings.Contains(strings.Join(v, ","), "Mobile") {
					return "mobile"
				}
				return "desktop"
			},
			"COOKIE": func(v []string) string { return "custom" },
		},
	})
	runValueTests(t, n, []valueTest{
		{name: "custom applies", header: "X-Device", lines: []string{"Foo Mobile"}, want: "mobile", present: true},
		{name: "custom other", header: "x-device", lines: []string{"Foo"}, want: "desktop", present: true},
		{name: "missing not passed", header: "X-Device", want: "", present: false},
		{name: "custom wins over allow-list", header: "Cookie", lines: []string{"a=b"}, want: "custom", present: true},
		{name: "others unaffected", header: "Accept-Language", lines: []string{"EN"}, want: "en", present: true},
	})
	if calls != 2 {
		t.Errorf("custom normaliser called %d times, want 2", calls)
	}
}

func TestNilAndZeroNormalizer(t *testing.T) {
	h := http.Header{"Accept-Encoding": {"gzip"}}
	want, _ := New(Config{}).Value("Accept-Encoding", h)
	var nilN *Normalizer
	if got, _ := nilN.Value("Accept-Encoding", h); got != want {
		t.Errorf("nil Normalizer: %q, want %q", got, want)
	}
	if got, _ := (&Normalizer{}).Value("Accept-Encoding", h); got != want {
		t.Errorf("zero Normalizer: %q, want %q", got, want)
	}
}

func TestNewPanics(t *testing.T) {
	many := make([]string, 64)
	for i := range many {
		many[i] = "c" + strings.Repeat("x", i)
	}
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "empty coding", cfg: Config{Codings: []string{""}}},
		{name: "star coding", cfg: Config{Codings: []string{"*"}}},
		{name: "coding with space", cfg: Config{Codings: []string{"g zip"}}},
		{name: "too many codings", cfg: Config{Codings: many}},
		{name: "empty cookie", cfg: Config{Cookies: []string{""}}},
		{name: "cookie with equals", cfg: Config{Cookies: []string{"a=b"}}},
		{name: "star language", cfg: Config{Languages: []string{"en", "*"}}},
		{name: "empty language", cfg: Config{Languages: []string{""}}},
		{name: "underscore language", cfg: Config{Languages: []string{"en_US"}}},
		{name: "nil func", cfg: Config{Normalizers: map[string]func([]string) string{"X-A": nil}}},
		{name: "duplicate key", cfg: Config{Normalizers: map[string]func([]string) string{
			"x-a": func([]string) string { return "" },
			"X-A": func([]string) string { return "" },
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("New did not panic")
				}
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "vary: ") {
					t.Errorf("panic value %v lacks the package prefix", r)
				}
			}()
			New(tt.cfg)
		})
	}
	// 63 codings plus identity fit.
	New(Config{Codings: many[:63]})
}
