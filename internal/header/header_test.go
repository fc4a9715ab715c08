package header

import (
	"net/http"
	"testing"
)

// canonicalTokenSpec is what CanonicalToken stands for.
func canonicalTokenSpec(s string) bool {
	return ValidToken(s) && http.CanonicalHeaderKey(s) == s
}

// TestCanonicalTokenAgreesWithNetHTTP: CanonicalToken says of a field name
// what ValidToken and http.CanonicalHeaderKey say together, for canonical
// names, names in other cases, non-tokens, and every short string over an
// alphabet of the characters that matter.
func TestCanonicalTokenAgreesWithNetHTTP(t *testing.T) {
	for _, s := range []string{
		"", "Content-Type", "content-type", "CONTENT-TYPE", "Content-type", "X-A", "X-a", "x-A",
		"Etag", "ETag", "WWW-Authenticate", "Www-Authenticate", "A--B", "A--b", "-A", "-a", "A-",
		"X_Foo", "X_foo", "X.Foo", "X.foo", "1a", "1A", "A1a", "Bad Name", "Bad\tName", "Ünï",
		"X-Foo:", "Caché", "A~b", "A~B", "A|B", "A'b",
	} {
		if got, want := CanonicalToken(s), canonicalTokenSpec(s); got != want {
			t.Errorf("CanonicalToken(%q) = %v, want %v", s, got, want)
		}
	}
	alphabet := "aAzZ-_0 .:\x80"
	var walk func(prefix string, n int)
	walk = func(prefix string, n int) {
		if got, want := CanonicalToken(prefix), canonicalTokenSpec(prefix); got != want {
			t.Fatalf("CanonicalToken(%q) = %v, want %v", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			walk(prefix+alphabet[i:i+1], n-1)
		}
	}
	walk("", 4)
}

func FuzzCanonicalToken(f *testing.F) {
	f.Add("Content-Type")
	f.Add("x-lower")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := CanonicalToken(s), canonicalTokenSpec(s); got != want {
			t.Fatalf("CanonicalToken(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestValidFieldValueRejectsExactlyCRLFNUL: of all bytes, CR, LF and NUL
// alone make a field value invalid, wherever they are in it.
func TestValidFieldValueRejectsExactlyCRLFNUL(t *testing.T) {
	for c := range 256 {
		bad := c == '\r' || c == '\n' || c == 0
		for _, v := range []string{string(rune(c)), "ab" + string([]byte{byte(c)}) + "cd"} {
			if got := ValidFieldValue(v); got == bad && (c < 0x80 || len(v) > 2) {
				t.Errorf("ValidFieldValue(%q) = %v", v, got)
			}
		}
	}
}

// TestValidFieldValueAtEveryPosition: a CR, LF or NUL is found wherever it
// is in values of every length up to past two words, and bytes next to
// them in value (0x0c, 0x0e, 0x09, 0x0b, 0x01, 0x80, 0xff) are not taken
// for them.
func TestValidFieldValueAtEveryPosition(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for _, fill := range []byte{'a', 0x0c, 0x0e, 0x09, 0x0b, 0x01, 0x80, 0xff, ' '} {
			b := make([]byte, n)
			for i := range b {
				b[i] = fill
			}
			if !ValidFieldValue(string(b)) {
				t.Fatalf("ValidFieldValue(%q) = false", b)
			}
			for i := range n {
				for _, bad := range []byte{'\r', '\n', 0} {
					c := append([]byte(nil), b...)
					c[i] = bad
					if ValidFieldValue(string(c)) {
						t.Fatalf("ValidFieldValue(%q) = true", c)
					}
				}
			}
		}
	}
}
