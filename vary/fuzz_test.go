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
		New(Config{Codings: []string{"gzip", "dcz"}, Cookies: []string{"session", "lang"}}),
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
		// X-Other is no list: its lines stay apart.
		joined := http.Header{"X-Other": h["X-Other"]}
		for k, v := range h {
			sep := ","
			switch k {
			case "Cookie":
				sep = ";"
			case "X-Other":
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
			if lines := h["X-Other"]; len(lines) > 1 && n.custom["X-Other"] == nil {
				one := http.Header{"X-Other": {strings.Join(lines, ",")}}
				if a, b := n.AppendKey(nil, []string{"X-Other"}, h), n.AppendKey(nil, []string{"X-Other"}, one); bytes.Equal(a, b) {
					t.Fatalf("X-Other's lines %q keyed as one line %q", lines, one["X-Other"])
				}
			}

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
