package httpcache

import (
	"crypto/sha256"
	"testing"
)

// TestBearerTokenComparedByDigest: the purge token is checked by comparing
// digests of equal size, so that a refusal takes as long whatever the
// length of the token sent: a token of the right length, a prefix of the
// token and a longer one are all refused, and only the token is accepted.
func TestBearerTokenComparedByDigest(t *testing.T) {
	want := sha256.Sum256([]byte("s3cret-token"))
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{"Bearer s3cret-token", true},
		{"bearer s3cret-token", true},
		{"Bearer s3cret-tokem", false},
		{"Bearer s3cret", false},
		{"Bearer s3cret-token-and-more", false},
		{"Bearer ", false},
		{"Basic s3cret-token", false},
		{"s3cret-token", false},
	} {
		if got := bearerMatches(tc.header, want); got != tc.ok {
			t.Errorf("%q: %v, want %v", tc.header, got, tc.ok)
		}
	}
}
