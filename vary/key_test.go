package vary

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// field is one decoded record of variant-key material.
// digestPrefix marks, in a decoded field, a value keyed by its digest.
const digestPrefix = "sha256:"

// keyedValue is normalised value v as a decoded field shows it: itself, or
// its digest when it is longer than maxKeyedValue.
func keyedValue(v string) string {
	if len(v) <= maxKeyedValue {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return digestPrefix + string(sum[:])
}

type field struct {
	name    string
	present bool
	value   string
}

// decodeMaterial parses material written by AppendKey. That it can always
// recover the records is what makes the encoding unambiguous: two distinct
// record lists cannot encode to the same bytes, since decoding the bytes
// gives back one list.
func decodeMaterial(b []byte) ([]field, error) {
	str := func() (string, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return "", errors.New("bad length")
		}
		s := string(b[k : k+int(l)])
		b = b[k+int(l):]
		return s, nil
	}
	var fields []field
	for len(b) > 0 {
		var f field
		var err error
		if f.name, err = str(); err != nil {
			return nil, err
		}
		if len(b) == 0 || b[0] > 2 {
			return nil, errors.New("bad presence byte")
		}
		digested := b[0] == 2
		f.present = b[0] >= 1
		b = b[1:]
		if f.value, err = str(); err != nil {
			return nil, err
		}
		if digested {
			if len(f.value) != sha256.Size {
				return nil, errors.New("a digest of the wrong size")
			}
			f.value = digestPrefix + f.value
		}
		if !f.present && f.value != "" {
			return nil, errors.New("missing header with a value")
		}
		fields = append(fields, f)
	}
	return fields, nil
}

func TestAppendKeyFormat(t *testing.T) {
	n := New(Config{})
	h := http.Header{"Accept-Encoding": {"gzip"}}
	got := n.AppendKey([]byte("prefix"), []string{"Accept-Encoding", "Origin"}, h)
	want := []byte("prefix" +
		"\x0faccept-encoding\x01\x0dgzip,identity" +
		"\x06origin\x00\x00")
	if !bytes.Equal(got, want) {
		t.Errorf("AppendKey = %q, want %q", got, want)
	}
	if got := n.AppendKey(nil, nil, h); len(got) != 0 {
		t.Errorf("AppendKey with no names = %q, want empty", got)
	}
}

// TestAppendKeyDistinct checks cases that naive encodings confuse.
func TestAppendKeyDistinct(t *testing.T) {
	n := New(Config{})
	tests := []struct {
		name   string
		names  []string
		h1, h2 http.Header
	}{
		{
			name:  "value split across headers",
			names: []string{"X-A", "X-B"},
			h1:    http.Header{"X-A": {"ab"}},
			h2:    http.Header{"X-A": {"a"}, "X-B": {"b"}},
		},
		{
			name:  "missing versus empty",
			names: []string{"X-A"},
			h1:    http.Header{},
			h2:    http.Header{"X-A": {""}},
		},
		{
			name:  "missing versus empty among others",
			names: []string{"X-A", "X-B"},
			h1:    http.Header{"X-B": {"v"}},
			h2:    http.Header{"X-A": {""}, "X-B": {"v"}},
		},
		{
			name:  "separator characters in a value",
			names: []string{"X-A", "X-B"},
			h1:    http.Header{"X-A": {"a=1&X-B=2"}},
			h2:    http.Header{"X-A": {"a=1"}, "X-B": {"2"}},
		},
		{
			name:  "value looking like a length prefix",
			names: []string{"X-A", "X-B"},
			h1:    http.Header{"X-A": {"\x01\x03x-b\x01\x01b"}},
			h2:    http.Header{"X-A": {""}, "X-B": {"b"}},
		},
		{
			name:  "case of an ordinary value",
			names: []string{"X-User"},
			h1:    http.Header{"X-User": {"alice"}},
			h2:    http.Header{"X-User": {"Alice"}},
		},
		{
			name:  "identity excluded",
			names: []string{"Accept-Encoding"},
			h1:    http.Header{"Accept-Encoding": {"gzip"}},
			h2:    http.Header{"Accept-Encoding": {"gzip, identity;q=0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m1 := n.AppendKey(nil, tt.names, tt.h1)
			m2 := n.AppendKey(nil, tt.names, tt.h2)
			if bytes.Equal(m1, m2) {
				t.Errorf("same material %q for %v and %v", m1, tt.h1, tt.h2)
			}
		})
	}
}

// TestAppendKeyEqual checks requests that must share a variant.
func TestAppendKeyEqual(t *testing.T) {
	n := New(Config{Cookies: []string{"session"}})
	tests := []struct {
		name   string
		vary1  string
		vary2  string
		h1, h2 http.Header
	}{
		{
			name:  "Vary lists and Accept-Encoding differing in form",
			vary1: "accept-language, Accept-Encoding",
			vary2: "Accept-Encoding,ACCEPT-LANGUAGE",
			h1:    http.Header{"Accept-Encoding": {"gzip, deflate, br"}, "Accept-Language": {"en-US,en;q=0.9"}},
			h2:    http.Header{"Accept-Encoding": {"br;q=0.9, gzip, deflate"}, "Accept-Language": {"EN-us , en; q=0.90"}},
		},
		{
			name:  "tracking cookies only",
			vary1: "Cookie",
			vary2: "cookie",
			h1:    http.Header{},
			h2:    http.Header{"Cookie": {"_ga=1; _gid=2"}},
		},
		{
			name:  "allowed cookie in another position",
			vary1: "Cookie",
			vary2: "Cookie",
			h1:    http.Header{"Cookie": {"session=s1; _ga=1"}},
			h2:    http.Header{"Cookie": {"_ga=2", "session=s1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names1, _, _ := Parse([]string{tt.vary1})
			names2, _, _ := Parse([]string{tt.vary2})
			m1 := n.AppendKey(nil, names1, tt.h1)
			m2 := n.AppendKey(nil, names2, tt.h2)
			if !bytes.Equal(m1, m2) {
				t.Errorf("material differs:\n%q\n%q", m1, m2)
			}
		})
	}
}

// TestAppendKeyUnambiguousProperty encodes random (name, present, value)
// lists, with values full of separator-like bytes and long enough for
// multi-byte length prefixes, through identity normalisers. Every material
// must decode to its own list, and no two distinct lists may share one.
func TestAppendKeyUnambiguousProperty(t *testing.T) {
	pool := []string{"A", "Ab", "X-A", "X-B", "X-Ab", "B"}
	identity := func(v []string) string { return v[0] }
	custom := map[string]func([]string) string{}
	for _, name := range pool {
		custom[name] = identity
	}
	n := New(Config{Normalizers: custom})
	alphabet := []byte("ab=;,: \x00\x01\x02\x03\x7f\x80\xff")

	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string][]field{}
	for i := 0; i < 20000; i++ {
		h := http.Header{}
		for _, name := range pool {
			if rng.IntN(3) == 0 {
				continue // missing
			}
			size := rng.IntN(4)
			if rng.IntN(20) == 0 {
				size = 100 + rng.IntN(300) // over 127: two-byte prefix
			}
			v := make([]byte, size)
			for j := range v {
				v[j] = alphabet[rng.IntN(len(alphabet))]
			}
			h[name] = []string{string(v)}
		}
		var names []string
		for range rng.IntN(5) {
			names = append(names, pool[rng.IntN(len(pool))])
		}

		want := []field{}
		for _, name := range names {
			f := field{name: strings.ToLower(name)}
			if v, ok := h[name]; ok {
				f.present, f.value = true, keyedValue(v[0])
			}
			want = append(want, f)
		}
		m := n.AppendKey(nil, names, h)
		got, err := decodeMaterial(m)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("material %q decodes to %v, %v; want %v", m, got, err, want)
		}
		if prev, ok := seen[string(m)]; ok && !slices.Equal(prev, want) {
			t.Fatalf("material %q for both %v and %v", m, prev, want)
		}
		seen[string(m)] = want
	}
}

// TestAppendKeyMatchesValue checks that the material carries exactly what
// Value reports, for the built-in normalisers.
func TestAppendKeyMatchesValue(t *testing.T) {
	n := New(Config{Cookies: []string{"sid"}})
	h := http.Header{
		"Accept-Encoding": {"br;q=0.5, GZIP"},
		"Accept-Language": {"fr-CH, fr;q=0.9"},
		"Cookie":          {"a=1"},
		"X-Long":          {strings.Repeat("v ", 200)},
		"Accept":          {""},
	}
	names := []string{"Accept", "Accept-Encoding", "Accept-Language", "Cookie", "Origin", "X-Long"}
	checkMaterialMatchesValues(t, n, names, h, n.AppendKey(nil, names, h))
}

func checkMaterialMatchesValues(t *testing.T, n *Normalizer, names []string, h http.Header, m []byte) {
	t.Helper()
	got, err := decodeMaterial(m)
	if err != nil {
		t.Fatalf("material %q does not decode: %v", m, err)
	}
	if len(got) != len(names) {
		t.Fatalf("material %q has %d fields, want %d", m, len(got), len(names))
	}
	for i, name := range names {
		v, present := n.Value(name, h)
		v = keyedValue(v)
		want := field{name: strings.ToLower(http.CanonicalHeaderKey(name)), present: present, value: v}
		if got[i] != want {
			t.Errorf("field %d = %+v, want %+v", i, got[i], want)
		}
	}
}

func TestInsertLengthPrefix(t *testing.T) {
	for _, size := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			v := bytes.Repeat([]byte{0xAB}, size)
			dst := append([]byte("head"), v...)
			dst = insertLengthPrefix(dst, 4)
			l, k := binary.Uvarint(dst[4:])
			if k <= 0 || int(l) != size || !bytes.Equal(dst[4+k:], v) || string(dst[:4]) != "head" {
				t.Errorf("bad prefix for size %d: l=%d k=%d", size, l, k)
			}
		})
	}
}
