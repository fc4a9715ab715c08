package tiered

import (
	"slices"
	"strings"
	"testing"
)

func TestInvalidationRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		keys []string
	}{
		{"one key", []string{"k"}},
		{"several keys", []string{"a", "b", "c"}},
		{"no keys", nil},
		{"empty key", []string{""}},
		{"binary keys", []string{"nul\x00byte", "new\nline", "\xff\xfe", "{tag}x"}},
		{"long key", []string{strings.Repeat("k", 10<<10)}},
		{"key like a message", []string{messagePrefix + "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, keys, err := decodeInvalidation(encodeInvalidation("instance-1", tt.keys))
			if err != nil || id != "instance-1" || !slices.Equal(keys, tt.keys) {
				t.Fatalf("decode(encode) = %q, %q, %v; want %q, %q", id, keys, err, "instance-1", tt.keys)
			}
		})
	}
}

func TestInvalidationMalformed(t *testing.T) {
	good := encodeInvalidation("id", []string{"key"})
	tests := []struct {
		name string
		msg  string
	}{
		{"empty", ""},
		{"foreign", "flush everything"},
		{"other version", strings.Replace(good, "/1\n", "/2\n", 1)},
		{"prefix only", messagePrefix},
		{"empty id", messagePrefix + "\x00"},
		{"truncated key", good[:len(good)-1]},
		{"length past the end", messagePrefix + "\x02id\x09key"},
		{"unterminated length", messagePrefix + "\x02id\x80"},
		{"overlong length", messagePrefix + "\x02id" + strings.Repeat("\xff", 11)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, keys, err := decodeInvalidation(tt.msg); err == nil {
				t.Fatalf("decode(%q) = %q, %q, nil; want an error", tt.msg, id, keys)
			}
		})
	}
}

func TestDropAllRoundTrip(t *testing.T) {
	msg := encodeDropAll("instance-1", "ack-id")
	id, ackID, err := decodeDropAll(msg)
	if err != nil || id != "instance-1" || ackID != "ack-id" {
		t.Fatalf("decodeDropAll(encodeDropAll) = %q, %q, %v", id, ackID, err)
	}
	// An instance that knows only invalidations takes it for a malformed
	// one, and so clears its L1.
	if _, _, err := decodeInvalidation(msg); err == nil {
		t.Fatal("a drop-all message decodes as an invalidation")
	}
	for _, bad := range []string{
		dropAllPrefix,
		dropAllPrefix + "\x00",
		encodeDropAll("id", ""),
		encodeDropAll("", "ack"),
		msg + "x",
		msg[:len(msg)-1],
		encodeInvalidation("id", []string{"ack"}),
	} {
		if id, ackID, err := decodeDropAll(bad); err == nil {
			t.Errorf("decodeDropAll(%q) = %q, %q, nil; want an error", bad, id, ackID)
		}
	}
}
