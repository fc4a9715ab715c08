package vary

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func FuzzParse(f *testing.F) {
	for _, seed := range [][2]string{
		{"", ""},
		{"Accept-Encoding", ""},
		{"accept-language, Accept-Encoding", "ACCEPT-ENCODING"},
		{" , ,\t", ","},
		{"*", ""},
		{"Accept", " * "},
		{"a b, *", ""},
		{"Accept;q=1", "Origin"},
		{"x-a_b.c~d!", "*x"},
		{"Accépt", ""},
		{"\x00", "a\tb"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		names, star, err := Parse([]string{a, b})
		switch {
		case err != nil && (names != nil || star || !errors.Is(err, ErrInvalidFieldName)):
			t.Fatalf("error %v with names %q, star %v", err, names, star)
		case star && names != nil:
			t.Fatalf("star with names %q", names)
		}
		for i, name := range names {
			if name == "" || tokenPrefix(name) != len(name) {
				t.Fatalf("name %q is not a token", name)
			}
			if http.CanonicalHeaderKey(name) != name {
				t.Fatalf("name %q is not canonical", name)
			}
			if i > 0 && names[i-1] >= name {
				t.Fatalf("names %q not sorted and unique", names)
			}
		}
		if names != nil && len(names) == 0 {
			t.Fatal("empty non-nil names")
		}

		same := func(what string, in []string) {
			t.Helper()
			n2, s2, e2 := Parse(in)
			if !slices.Equal(names, n2) || star != s2 || (err == nil) != (e2 == nil) {
				t.Fatalf("%s: Parse(%q) = %q, %v, %v; Parse(%q) = %q, %v, %v",
					what, []string{a, b}, names, star, err, in, n2, s2, e2)
			}
		}
		same("determinism", []string{a, b})
		same("line order", []string{b, a})
		same("one line", []string{a + "," + b})
		same("lower case", []string{asciiLower(a), asciiLower(b)})
		same("upper case", []string{asciiUpper(a), asciiUpper(b)})
	})
}

func FuzzAppendKey(f *testing.F) {
	for _, seed := range [][5]string{
		{"", "", "", "", ""},
		{"Accept-Encoding, Accept-Language", "gzip, deflate, br", "en-US,en;q=0.9", "session=a; _ga=1", "x"},
		{"*", "br;q=0.9, gzip\ndeflate", "fr;q=0.5, de", "", " a  ,  b "},
		{"Cookie, X-Other", "*;q=0, identity", "en;q=0", "session=; session=b", `"q  "`},
		{"Accept", "gzip;q=2", "en_US", "session", `"a\`},
		{"accept-encoding", "gzip, gzip;q=0", "*", " ; ;", "\x00\xff"},
		{"Bad Name", "x-gzip;Q=0.001", "abcdefghi", "lang=fr\nsession=c", "Alice"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	normalizers := []*Normalizer{
		New(Config{}),
		New(Config{Codings: []string{"gzip", "dcz"}, Cookies: []string{"session", "lang"}, Languages: []string{"en", "fr-CA", "zh-Hant"}}),
	}
	fixed := []string{"Accept", "Accept-Encoding", "Accept-Language", "Cookie", "X-Other", "X-Missing"}
	f.Fuzz(func(t *testing.T, varyValue, ae, al, cookie, other string) {
		names, _, err := Parse([]string{varyValue})
		if err != nil {
			names = nil
		}
		names = append(names, fixed...)
		// Newlines separate field lines.
		h := http.Header{
			"Accept-Encoding": strings.Split(ae, "\n"),
			"Accept-Language": strings.Split(al, "\n"),
			"Cookie":          strings.Split(cookie, "\n"),
			"X-Other":         strings.Split(other, "\n"),
			"Accept":          strings.Split(other, "\n"),
		}
		// The same header as single lines: "," joins lists, "; " cookies.
		// X-Other is no list, and a handler reading Accept-Language with
		// Header.Get sees its first line alone: their lines stay apart.
		joined := http.Header{"X-Other": h["X-Other"], "Accept-Language": h["Accept-Language"]}
		for k, v := range h {
			sep := ","
			switch k {
			case "Cookie":
				sep = ";"
			case "X-Other", "Accept-Language":
				continue
			}
			joined[k] = []string{strings.Join(v, sep)}
		}

		for _, n := range normalizers {
			m := n.AppendKey(nil, names, h)
			if m2 := n.AppendKey([]byte("prefix"), names, h); !bytes.Equal(m2, append([]byte("prefix"), m...)) {
				t.Fatalf("not deterministic, or disturbs dst: %q then %q", m, m2)
			}
			checkMaterialMatchesValues(t, n, names, h, m)
			if mj := n.AppendKey(nil, names, joined); !bytes.Equal(m, mj) {
				t.Fatalf("field lines not combined as one list:\n%q\n%q", m, mj)
			}
			for _, name := range []string{"X-Other", "Accept-Language"} {
				if lines := h[name]; len(lines) > 1 && n.custom[name] == nil {
					one := http.Header{name: {strings.Join(lines, ",")}}
					if a, b := n.AppendKey(nil, []string{name}, h), n.AppendKey(nil, []string{name}, one); bytes.Equal(a, b) {
						t.Fatalf("%s's lines %q keyed as one line %q", name, lines, one[name])
					}
				}
			}
			checkAcceptLanguage(t, n, h["Accept-Language"])

			v, _ := n.Value("Accept-Encoding", h)
			if strings.HasPrefix(v, malformedPrefix) {
				continue
			}
			for _, c := range strings.Split(v, ",") {
				if c != "" && !slices.Contains(n.codings, c) {
					t.Fatalf("Accept-Encoding value %q has coding %q outside %q", v, c, n.codings)
				}
			}
			// The accepted set ignores element order and case.
			elems := strings.Split(strings.ReplaceAll(ae, "\n", ","), ",")
			slices.Reverse(elems)
			rev := http.Header{"Accept-Encoding": {asciiUpper(strings.Join(elems, ","))}}
			if v2, _ := n.Value("Accept-Encoding", rev); v2 != v {
				t.Fatalf("Accept-Encoding %q gives %q, reversed and upper-cased %q gives %q", ae, v, rev, v2)
			}
		}
	})
}

// checkAcceptLanguage checks properties of the Accept-Language value of
// lines: a value that parsed never starts like a marker, and keeps its key
// when whitespace is added around its commas and semicolons or its ranges
// are lower-cased; a value kept as received changes with any byte.
func checkAcceptLanguage(t *testing.T, n *Normalizer, lines []string) {
	t.Helper()
	value := func(lines []string) string {
		v, _ := n.Value("Accept-Language", http.Header{"Accept-Language": lines})
		return v
	}
	v := value(lines)
	if strings.HasPrefix(v, malformedPrefix) || strings.HasPrefix(v, oversizedPrefix) {
		if len(lines) == 1 && trimOWS(lines[0]) != "" {
			if v2 := value([]string{lines[0] + "x"}); v2 == v {
				t.Fatalf("%q and %q, kept as received, share %q", lines[0], lines[0]+"x", v)
			}
		}
		return
	}
	i := strings.IndexFunc(v, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') })
	if i < 0 {
		i = len(v)
	}
	if i >= len("malformed") {
		t.Fatalf("parsed value %q starts with a word of %d letters", v, i)
	}
	spaced := make([]string, len(lines))
	lowered := make([]string, len(lines))
	for i, l := range lines {
		spaced[i] = strings.NewReplacer(",", " ,\t", ";", "\t; ").Replace(l)
		lowered[i] = asciiLower(l)
	}
	if v2 := value(spaced); v2 != v && !strings.HasPrefix(v2, oversizedPrefix) {
		t.Fatalf("%q gives %q, with whitespace %q gives %q", lines, v, spaced, v2)
	}
	// Lower-casing keeps the key unless a range's first subtag is longer
	// than three letters, or a Q is in it.
	if !strings.Contains(strings.Join(lines, ""), "Q") {
		long := false
		for _, l := range lines {
			for _, el := range strings.Split(l, ",") {
				rng, _, _ := strings.Cut(trimOWS(el), ";")
				primary, _, _ := strings.Cut(trimOWS(rng), "-")
				long = long || len(primary) > 3
			}
		}
		if v2 := value(lowered); !long && v2 != v {
			t.Fatalf("%q gives %q, lower-cased %q gives %q", lines, v, lowered, v2)
		}
	}
}
