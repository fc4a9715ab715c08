package memcached

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// hashed returns the hashed form of key under prefix, computed here
// independently of mapKey.
func hashed(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + "h:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// keyCases are store keys and the memcached keys they must map to under
// the prefix "p:" (and, with the prefix trimmed, under no prefix).
func keyCases() []struct{ name, key, want string } {
	const p = "p:"
	long := strings.Repeat("a", 250)
	fits := strings.Repeat("b", maxKeyLen-len(p)-len(plainTag)) // exactly 250 bytes mapped
	return []struct{ name, key, want string }{
		{"plain", "plain", p + "k:plain"},
		{"empty", "", p + "k:"},
		{"case matters", "Plain", p + "k:Plain"},
		{"punctuation and braces", "v1:{0123abcd}?q=1&r=%41#f", p + "k:v1:{0123abcd}?q=1&r=%41#f"},
		{"bytes from 0x80 stay readable", "ключ\xff\xfe\xc3\x28", p + "k:ключ\xff\xfe\xc3\x28"},
		{"looks hashed", "h:abc", p + "k:h:abc"},
		{"a hashed key's text", hashed("", "with space"), p + "k:" + hashed("", "with space")},
		{"longest readable", fits, p + "k:" + fits},
		{"one byte too long", fits + "b", hashed(p, fits+"b")},
		{"250 bytes", long, hashed(p, long)},
		{"differs after byte 250 (1)", long + "1", hashed(p, long+"1")},
		{"differs after byte 250 (2)", long + "2", hashed(p, long+"2")},
		{"10 KiB", strings.Repeat("c", 10<<10), hashed(p, strings.Repeat("c", 10<<10))},
		{"space", "with space", hashed(p, "with space")},
		{"newline", "new\nline", hashed(p, "new\nline")},
		{"crlf injection", "k\r\nflush_all", hashed(p, "k\r\nflush_all")},
		{"tab", "tab\there", hashed(p, "tab\there")},
		{"control byte", "ctrl\x01", hashed(p, "ctrl\x01")},
		{"escape", "esc\x1b", hashed(p, "esc\x1b")},
		{"DEL", "del\x7f", hashed(p, "del\x7f")},
		{"NUL", "nul\x00byte", hashed(p, "nul\x00byte")},
		{"NUL alone", "\x00", hashed(p, "\x00")},
		{"unicode with spaces", "unicode ключ 鍵 🔑", hashed(p, "unicode ключ 鍵 🔑")},
	}
}

func TestMapKey(t *testing.T) {
	seen := map[string]string{}
	for _, tt := range keyCases() {
		t.Run(tt.name, func(t *testing.T) {
			got := mapKey("p:", tt.key)
			if got != tt.want {
				t.Errorf("mapKey(%.40q) = %q; want %q", tt.key, got, tt.want)
			}
			if !legalKey(got) {
				t.Errorf("mapKey(%.40q) = %q (%d bytes) is not a legal memcached key", tt.key, got, len(got))
			}
			if other, ok := seen[got]; ok {
				t.Errorf("mapKey(%.40q) = mapKey(%.40q) = %q", tt.key, other, got)
			}
			seen[got] = tt.key
		})
	}
}

func TestMapKeyLongestPrefix(t *testing.T) {
	prefix := strings.Repeat("p", MaxKeyPrefixLen)
	for _, key := range []string{"", "k", "with space", strings.Repeat("x", 300)} {
		got := mapKey(prefix, key)
		if !legalKey(got) || !strings.HasPrefix(got, prefix) {
			t.Errorf("mapKey(%d-byte prefix, %.20q) = %d bytes %q; want a legal key with the prefix", len(prefix), key, len(got), got)
		}
	}
	if got := mapKey(prefix, "with space"); len(got) != maxKeyLen {
		t.Errorf("a hashed key under a %d-byte prefix is %d bytes; want exactly %d", len(prefix), len(got), maxKeyLen)
	}
}

// TestKeysOnServer stores every case on a real server: each key gets its
// own value, stored under exactly the memcached key the mapping says.
func TestKeysOnServer(t *testing.T) {
	s, c := newStore(t, Options{})
	ctx := context.Background()
	cases := keyCases()
	for i, tt := range cases {
		mustSet(t, s, tt.key, []byte(fmt.Sprint(i)), longTTL)
	}
	for i, tt := range cases {
		expectValue(t, s, tt.key, []byte(fmt.Sprint(i)))
		// The store's prefix is longer than "p:", so the border between
		// readable and hashed keys moves: work out which form applies.
		raw := s.prefix + "k:" + tt.key
		if !legalKey(raw) {
			raw = hashed(s.prefix, tt.key)
		}
		it, err := c.Get(raw)
		if err != nil || string(it.Value) != fmt.Sprint(i) {
			t.Errorf("%s: raw Get(%q) = %v, %v; want value %d", tt.name, raw, it, err, i)
		}
	}
	for i, tt := range cases {
		if i%2 == 0 {
			if err := s.Delete(ctx, tt.key); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, tt := range cases {
		if i%2 == 0 {
			expectMiss(t, s, tt.key)
		} else {
			expectValue(t, s, tt.key, []byte(fmt.Sprint(i)))
		}
	}
}

// FuzzKey checks that the mapping is legal and injective on pairs of keys,
// with and without a prefix.
func FuzzKey(f *testing.F) {
	for _, tt := range keyCases() {
		f.Add(tt.key, "plain")
		f.Add(tt.key, tt.want)
		f.Add(tt.key, strings.TrimPrefix(tt.want, "p:k:"))
	}
	f.Add("h:"+strings.Repeat("A", hashLen), "with space")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, prefix := range []string{"", "p:", strings.Repeat("z", MaxKeyPrefixLen)} {
			ka, kb := mapKey(prefix, a), mapKey(prefix, b)
			for _, k := range []string{ka, kb} {
				if !legalKey(k) || !strings.HasPrefix(k, prefix) {
					t.Fatalf("prefix %q: mapped key %q (%d bytes) is not legal or lost the prefix", prefix, k, len(k))
				}
			}
			if (a == b) != (ka == kb) {
				t.Fatalf("prefix %q: keys %q and %q map to %q and %q", prefix, a, b, ka, kb)
			}
			if legalKey(prefix+"k:"+a) && ka != prefix+"k:"+a {
				t.Fatalf("prefix %q: legal key %q was hashed to %q", prefix, a, ka)
			}
		}
	})
}

// legalKey reports whether s is a key memcached accepts.
func legalKey(s string) bool {
	return len(s) <= maxKeyLen && legalBytes(s)
}
