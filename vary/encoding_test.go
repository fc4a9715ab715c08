package vary

import (
	"slices"
	"strings"
	"testing"
)

func TestAcceptsEncoding(t *testing.T) {
	none := []string(nil)
	tests := []struct {
		name string
		ae   []string // Accept-Encoding field lines; nil: no field
		ce   []string // Content-Encoding field lines; nil: no coding
		want bool
	}{
		{"no field accepts any coding", none, []string{"compress"}, true},
		{"no field accepts identity", none, none, true},
		{"listed", []string{"compress, gzip"}, []string{"compress"}, true},
		{"not listed", []string{"gzip"}, []string{"compress"}, false},
		{"listed with q=0", []string{"gzip, compress;q=0"}, []string{"compress"}, false},
		{"listed twice, once with q=0", []string{"compress, gzip, compress;q=0"}, []string{"compress"}, false},
		{"listed with a low q", []string{"compress;q=0.001"}, []string{"compress"}, true},
		{"star", []string{"gzip, *"}, []string{"br"}, true},
		{"star with q=0", []string{"gzip, *;q=0"}, []string{"br"}, false},
		{"listed beats star;q=0", []string{"br, *;q=0"}, []string{"br"}, true},
		{"q=0 beats star", []string{"br;q=0, *"}, []string{"br"}, false},
		{"case", []string{"GZip"}, []string{"gZIP"}, true},
		{"x-gzip in the request", []string{"x-gzip"}, []string{"gzip"}, true},
		{"x-gzip in the response", []string{"gzip"}, []string{"X-Gzip"}, true},
		{"x-compress", []string{"compress"}, []string{"x-compress"}, true},
		{"field lines", []string{"gzip", "compress"}, []string{"compress"}, true},
		{"every coding applied must be accepted", []string{"gzip"}, []string{"gzip, br"}, false},
		{"every coding applied, accepted", []string{"gzip, br"}, []string{"gzip", "br"}, true},
		{"identity unlisted", []string{"gzip"}, none, true},
		{"identity spelled out", []string{"gzip"}, []string{"identity"}, true},
		{"identity;q=0", []string{"gzip, identity;q=0"}, none, false},
		{"star;q=0 excludes identity", []string{"gzip, *;q=0"}, none, false},
		{"star;q=0 with identity listed", []string{"identity, *;q=0"}, none, true},
		{"empty field: identity alone", []string{""}, none, true},
		{"empty field: no coding", []string{""}, []string{"gzip"}, false},
		{"malformed field: keyed by its text", []string{"gzip;q=2"}, []string{"br"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AcceptsEncoding(tt.ae, tt.ce); got != tt.want {
				t.Errorf("AcceptsEncoding(%q, %q) = %v, want %v", tt.ae, tt.ce, got, tt.want)
			}
		})
	}
}

// TestAcceptsEncodingAgreesWithTheKey: for the configured codings, a request
// accepts a coding exactly when its normalised Accept-Encoding lists it, so
// the serve-time check never refuses what the variant key promised.
func TestAcceptsEncodingAgreesWithTheKey(t *testing.T) {
	n := New(Config{})
	for _, ae := range []string{"", "gzip", "gzip, br;q=0", "*", "*;q=0", "identity;q=0, *", "x-gzip, deflate;q=0.5", "zstd;q=0, *"} {
		h := map[string][]string{"Accept-Encoding": {ae}}
		key, _ := n.Value("Accept-Encoding", h)
		for _, c := range n.codings {
			ce := []string{c}
			if c == "identity" {
				ce = nil
			}
			inKey := slices.Contains(strings.Split(key, ","), c)
			if got := AcceptsEncoding(h["Accept-Encoding"], ce); got != inKey {
				t.Errorf("Accept-Encoding %q, coding %s: AcceptsEncoding %v, key %q", ae, c, got, key)
			}
		}
	}
}

func TestAcceptsEncodingAllocs(t *testing.T) {
	ae := hotHeaders()["Accept-Encoding"]
	ce := []string{"br"}
	if n := testing.AllocsPerRun(1000, func() { AcceptsEncoding(ae, ce) }); n != 0 {
		t.Errorf("AcceptsEncoding allocates %v times per run, want 0", n)
	}
}

// TestKeysCodings: a Content-Encoding of candidate codings (or none) is one
// whose acceptability the key decides; any other coding is not.
func TestKeysCodings(t *testing.T) {
	n := New(Config{})
	for _, tc := range []struct {
		ce   []string
		want bool
	}{
		{nil, true},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"identity"}, true},
		{[]string{"gzip, br"}, true},
		{[]string{"compress"}, false},
		{[]string{"gzip", "compress"}, false},
		{[]string{"aes128gcm"}, false},
	} {
		if got := n.KeysCodings(tc.ce); got != tc.want {
			t.Errorf("KeysCodings(%q) = %v, want %v", tc.ce, got, tc.want)
		}
	}
	if got := New(Config{Codings: []string{"identity"}}).KeysCodings([]string{"gzip"}); got {
		t.Error("gzip keyed by a normaliser for an application that never compresses")
	}
	custom := New(Config{Normalizers: map[string]func([]string) string{"accept-encoding": func([]string) string { return "" }}})
	if custom.KeysCodings(nil) || custom.KeysCodings([]string{"gzip"}) {
		t.Error("a custom Accept-Encoding normaliser's key taken to decide the coding")
	}
	ce := []string{"br"}
	if a := testing.AllocsPerRun(1000, func() { n.KeysCodings(ce) }); a != 0 {
		t.Errorf("KeysCodings allocates %v times", a)
	}
}
