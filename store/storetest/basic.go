package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func (s *suite) testMiss(t *testing.T) {
	st := s.newStore(t)
	expectMiss(t, st, "never-set")
	mustSet(t, st, "set", []byte("v"), longTTL)
	expectMiss(t, st, "never-set")
	expectMiss(t, st, "set-but-longer")
	expectMiss(t, st, "se")
}

func (s *suite) testSetGet(t *testing.T) {
	tests := []struct {
		name  string
		value []byte
	}{
		{"text", []byte("hello, world")},
		{"binary", fill(300, 1)},
		{"one byte", []byte{0}},
		{"newlines", []byte("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody\n")},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustSet(t, st, tt.name, tt.value, longTTL)
			expectValue(t, st, tt.name, tt.value)
			expectValue(t, st, tt.name, tt.value) // a hit does not consume it
		})
	}
}

func (s *suite) testOverwrite(t *testing.T) {
	tests := []struct {
		name          string
		first, second []byte
	}{
		{"same size", []byte("first"), []byte("secnd")},
		{"longer", []byte("a"), fill(5000, 2)},
		{"shorter", fill(5000, 3), []byte("b")},
		{"to empty", []byte("c"), []byte{}},
		{"from empty", []byte{}, []byte("d")},
	}
	st := s.newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustSet(t, st, tt.name, tt.first, longTTL)
			mustSet(t, st, tt.name, tt.second, longTTL)
			expectValue(t, st, tt.name, tt.second)
		})
	}
}

func (s *suite) testDelete(t *testing.T) {
	tests := []struct {
		name   string
		stored []string // keys set before Delete
		delete []string // keys passed to Delete
		kept   []string // keys that must survive
	}{
		{"one key", []string{"a", "b"}, []string{"a"}, []string{"b"}},
		{"several keys", []string{"a", "b", "c", "d"}, []string{"a", "c", "d"}, []string{"b"}},
		{"missing key", []string{"a"}, []string{"missing"}, []string{"a"}},
		{"present and missing", []string{"a", "b"}, []string{"missing", "a", "other"}, []string{"b"}},
		{"same key twice", []string{"a", "b"}, []string{"a", "a"}, []string{"b"}},
		{"no keys", []string{"a"}, nil, []string{"a"}},
		{"empty list", []string{"a"}, []string{}, []string{"a"}},
		{"prefix of a key", []string{"abc"}, []string{"ab"}, []string{"abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := s.newStore(t)
			for _, k := range tt.stored {
				mustSet(t, st, k, []byte("value of "+k), longTTL)
			}
			mustDelete(t, st, tt.delete...)
			for _, k := range tt.delete {
				expectMiss(t, st, k)
			}
			for _, k := range tt.kept {
				expectValue(t, st, k, []byte("value of "+k))
			}
			// A deleted key can be set again.
			for _, k := range tt.delete {
				mustSet(t, st, k, []byte("again"), longTTL)
				expectValue(t, st, k, []byte("again"))
			}
		})
	}
}

func (s *suite) testEmptyValue(t *testing.T) {
	st := s.newStore(t)
	for _, tt := range []struct {
		name  string
		value []byte
	}{{"empty", []byte{}}, {"nil", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			mustSet(t, st, tt.name, tt.value, longTTL)
			got, err := st.Get(context.Background(), tt.name)
			if err != nil || len(got) != 0 {
				t.Fatalf("Get after Set of an empty value = %q, %v; want an empty value and no error", got, err)
			}
		})
	}
}

func (s *suite) testSetCopiesValue(t *testing.T) {
	st := s.newStore(t)
	v := []byte("original")
	mustSet(t, st, "k", v, longTTL)
	copy(v, "MUTATED!")
	expectValue(t, st, "k", []byte("original"))

	// The spare capacity of the caller's slice is the caller's too.
	buf := make([]byte, 4, 64)
	copy(buf, "abcd")
	mustSet(t, st, "cap", buf, longTTL)
	_ = append(buf, "tail"...)
	copy(buf, "wxyz")
	expectValue(t, st, "cap", []byte("abcd"))
}

// oddKeys returns keys that stores backed by text protocols, length limits
// or hashing are likely to mangle or merge.
func oddKeys() []string {
	long := func(n int, last string) string { return strings.Repeat("k", n-len(last)) + last }
	return []string{
		"plain",
		"Plain", // case matters
		"with space",
		" leading space",
		"trailing space ",
		"new\nline",
		"crlf\r\nGET / HTTP/1.1",
		"tab\there",
		"ctrl\x01\x02\x1b\x7f",
		"nul\x00byte",
		"nul\x00",
		"nul",
		"\x00",
		"invalid utf-8 \xff\xfe\xc3\x28",
		"unicode ключ 鍵 🔑",
		"{braces}",
		"{braces}2",
		"a{b}c",
		"%41 percent",
		"http://example.com/path?q=1&r=2#frag",
		strings.Repeat("a", 250) + "1", // differ only after byte 250
		strings.Repeat("a", 250) + "2",
		strings.Repeat("a", 250),
		long(1<<10, "1"),
		long(1<<10, "2"),
		"2" + long(1<<10-1, ""),
		long(10<<10, "1"),
		long(10<<10, "2"),
	}
}

func (s *suite) testKeys(t *testing.T) {
	keys := oddKeys()
	value := func(i int) []byte { return []byte(fmt.Sprintf("value %d", i)) }
	st := s.newStore(t)
	for i, k := range keys {
		mustSet(t, st, k, value(i), longTTL)
	}
	// Each key holds its own value: no two keys were merged.
	for i, k := range keys {
		expectValue(t, st, k, value(i))
	}
	// Deleting one key leaves its neighbours alone.
	for i, k := range keys {
		if i%2 == 0 {
			mustDelete(t, st, k)
		}
	}
	for i, k := range keys {
		if i%2 == 0 {
			expectMiss(t, st, k)
		} else {
			expectValue(t, st, k, value(i))
		}
	}
}
