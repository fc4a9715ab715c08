package entry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/seedcache/httpcache/internal/rfc9111"
)

// t0 is the time sample entries were fetched.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func sampleEntry() *Entry {
	return &Entry{
		Kind:   KindResponse,
		Status: 200,
		Header: HeaderOf(http.Header{
			"Content-Type":  {"text/html; charset=utf-8"},
			"Cache-Control": {"max-age=60"},
			"X-Multi":       {"a", "b"},
			"X-Empty":       {""},
		}),
		Body:                 []byte("<p>hello</p>"),
		RequestTime:          t0.UnixNano(),
		ResponseTime:         t0.Add(time.Millisecond).UnixNano(),
		InitialAge:           3 * time.Second,
		Lifetime:             time.Minute,
		Expires:              t0.Add(time.Minute).UnixNano(),
		StaleWhileRevalidate: 10 * time.Second,
		StaleIfError:         time.Hour,
		Flags:                rfc9111.FlagMustRevalidate,
		URL:                  []byte("G\x04http\x0bexample.com\x01/e"),
		Epoch:                0xdeadbeefcafe,
		Seq:                  42,
		VaryNames:            []string{"Accept-Encoding", "Accept-Language"},
		VaryKey:              []byte("\x0faccept-encoding\x01\x04gzip"),
		Tags:                 []string{"article:42", "author:7"},
	}
}

// TestEntryRoundTrip: a response entry, a Vary index and a bodiless
// response decode to what was encoded.
func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []*Entry{
		sampleEntry(),
		{Kind: KindIndex, URL: []byte("u"), VaryNames: []string{"Cookie"}, Epoch: 1, Header: nil},
		{Kind: KindResponse, Status: 204, Header: nil},
	} {
		got, err := Decode(e.Encode())
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
		}
	}
}

// TestEncodeSharedIsWhatDecodeGives: an entry encoded with EncodeShared is
// then what Decode returns from the same bytes (the engine shares it in
// place of decoding its own encoding), its byte strings within the
// encoding, capped, its strings in one copy of their part of it (as
// Decode's are), and nothing of it shared with what it was built from.
func TestEncodeSharedIsWhatDecodeGives(t *testing.T) {
	for _, mk := range []func() *Entry{
		sampleEntry,
		func() *Entry {
			return &Entry{Kind: KindIndex, URL: []byte("u"), VaryNames: []string{"Cookie"}, Epoch: 1, Header: nil}
		},
		func() *Entry { return &Entry{Kind: KindResponse, Status: 204, Header: nil} },
	} {
		e := mk()
		body, names, tags := e.Body, e.VaryNames, e.Tags
		raw, err := e.EncodeShared()
		if err != nil {
			t.Fatalf("EncodeShared: %v", err)
		}
		want, err := Decode(raw)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(want), normalize(mk())) {
			t.Fatalf("EncodeShared's bytes decode to\n%+v\nwant %+v", want, mk())
		}
		if !reflect.DeepEqual(normalize(e), normalize(want)) {
			t.Fatalf("shared:\n got %+v\nwant %+v", e, want)
		}
		for _, b := range [][]byte{e.URL, e.VaryKey, e.Body} {
			if len(b) == 0 {
				continue
			}
			if cap(b) != len(b) || !within(b, raw) {
				t.Fatalf("%q: not a capped slice of the encoding", b)
			}
		}
		if len(body) > 0 && &body[0] == &e.Body[0] ||
			len(names) > 0 && &names[0] == &e.VaryNames[0] || len(tags) > 0 && &tags[0] == &e.Tags[0] {
			t.Fatalf("shares a slice with what it was built from")
		}
		if s, ok := stringOutside(e, raw); ok {
			t.Fatalf("shared entry's %q is not in one copy of its part of the encoding", s)
		}
		if s, ok := stringOutside(want, raw); ok {
			t.Fatalf("decoded entry's %q is not in one copy of its part of the encoding", s)
		}
	}
}

// stringOutside returns a non-empty string of e's header, Vary names or
// tags that lies within buf (its encoding), or when they do not all lie
// within one block no larger than buf, one of them, if there is such a
// string: a decoded or shared entry's strings are substrings of one copy
// of their part of the encoding, so that a store full of entries gives the
// garbage collector one string to mark per entry instead of every one, and
// a string kept by a caller keeps that copy alive, not the stored value
// with its body.
func stringOutside(e *Entry, buf []byte) (string, bool) {
	ss := slices.Concat(e.VaryNames, e.Tags)
	for _, f := range e.Header {
		ss = append(slices.Concat(ss, f.Values), f.Name)
	}
	var lo, hi uintptr
	for _, s := range ss {
		if s == "" {
			continue
		}
		if within(unsafe.Slice(unsafe.StringData(s), len(s)), buf) {
			return s, true
		}
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		if lo == 0 || p < lo {
			lo = p
		}
		hi = max(hi, p+uintptr(len(s)))
		if hi-lo > uintptr(len(buf)) {
			return s, true
		}
	}
	return "", false
}

// TestEncodeSharedRefusesWhatDecodeRejects: an entry whose encoding would
// not decode is not turned into a shared one.
func TestEncodeSharedRefusesWhatDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Entry)
	}{
		{"unknown kind", func(e *Entry) { e.Kind = 9 }},
		{"status out of range", func(e *Entry) { e.Status = 1000 }},
		{"status below 100", func(e *Entry) { e.Status = 42 }},
		{"invalid Vary name", func(e *Entry) { e.VaryNames = []string{"Bad Name"} }},
		{"CRLF in a header value", func(e *Entry) { e.Header = HeaderOf(http.Header{"X-A": {"a\r\nSet-Cookie: x=y"}}) }},
		{"NUL in a header value", func(e *Entry) { e.Header = HeaderOf(http.Header{"X-A": {"a\x00b"}}) }},
		{"invalid header name", func(e *Entry) { e.Header = HeaderOf(http.Header{"Bad Name": {"v"}}) }},
		{"non-canonical header name", func(e *Entry) { e.Header = HeaderOf(http.Header{"x-lower": {"v"}}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := sampleEntry()
			tc.edit(e)
			if _, err := Decode(e.Encode()); !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("Decode accepts it: %v", err)
			}
			body := e.Body
			if _, err := e.EncodeShared(); !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("EncodeShared = %v; want ErrCorruptEntry", err)
			}
			if &e.Body[0] != &body[0] {
				t.Fatalf("refused, yet changed")
			}
		})
	}
}

// within reports whether b lies in buf.
func within(b, buf []byte) bool {
	for i := range len(buf) - len(b) + 1 {
		if &buf[i] == &b[0] {
			return true
		}
	}
	return false
}

// TestEntryDecodeRejects: values that are not entries (empty, short,
// text, another magic or version, a flipped bit, truncated, trailing
// garbage, an unknown kind, a CRLF in a header value) fail to decode
// instead of being served.
func TestEntryDecodeRejects(t *testing.T) {
	good := sampleEntry().Encode()
	reseal := func(b []byte) []byte { // fix the checksum after tampering
		b = bytes.Clone(b[:len(b)-checksumLen])
		return appendChecksum(b)
	}
	withHeader := func(hd http.Header) []byte {
		e := sampleEntry()
		e.Header = HeaderOf(hd)
		return e.Encode()
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:entryHeaderLen]},
		{"text", []byte("HTTP/1.1 200 OK\r\n\r\nhello, this is not an entry")},
		{"bad magic", append([]byte{0}, good[1:]...)},
		{"other version", reseal(append(append([]byte{}, good[:4]...), append([]byte{entryVersion + 1}, good[5:]...)...))},
		{"flipped bit", func() []byte { b := bytes.Clone(good); b[len(b)/2] ^= 0x10; return b }()},
		{"truncated", good[:len(good)-1]},
		{"trailing garbage", reseal(append(bytes.Clone(good[:len(good)-checksumLen]), 0, 0, 0, 0, 1))},
		{"unknown kind", reseal(append(append(bytes.Clone(good[:5]), 9), good[6:]...))},
		{"CRLF in a header value", withHeader(http.Header{"X-A": {"a\r\nSet-Cookie: x=y"}})},
		{"NUL in a header value", withHeader(http.Header{"X-A": {"a\x00b"}})},
		{"invalid header name", withHeader(http.Header{"Bad Name": {"v"}})},
		{"non-canonical header name", withHeader(http.Header{"x-lower": {"v"}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode(tc.b)
			if !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("decodeEntry = %v, %v; want ErrCorruptEntry", e, err)
			}
		})
	}
	// Every truncation of a good entry is rejected.
	for n := range len(good) {
		if _, err := Decode(good[:n]); !errors.Is(err, ErrCorruptEntry) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
}

// appendChecksum seals b as encode does.
func appendChecksum(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, checksum(b))
}

// FuzzDecodeEntry feeds the decoder arbitrary bytes, and arbitrary bytes
// sealed with a valid checksum so that the fuzzer gets past it. Nothing may
// panic, and whatever decodes must re-encode to an equal entry.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(sampleEntry().Encode(), false)
	f.Add((&Entry{Kind: KindIndex, VaryNames: []string{"Accept"}, Header: nil}).Encode(), false)
	f.Add([]byte{0x89, 'H', 'C', 'E', 1, 1, 0, 0, 200}, true)
	f.Add([]byte("not an entry"), false)
	f.Fuzz(func(t *testing.T, b []byte, seal bool) {
		if seal {
			b = appendChecksum(bytes.Clone(b))
		}
		e, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("error does not wrap ErrCorruptEntry: %v", err)
			}
			return
		}
		again, err := Decode(e.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(e)) {
			t.Fatalf("unstable round trip:\n%+v\n%+v", e, again)
		}
		// What decodes, EncodeShared takes, and gives what Decode does.
		if _, err := again.EncodeShared(); err != nil {
			t.Fatalf("EncodeShared refuses a decoded entry: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(e)) {
			t.Fatalf("EncodeShared changed it:\n%+v\n%+v", e, again)
		}
	})
}

// normalize maps empty slices to nil, which the encoding does not tell
// apart, and sorts the header's fields by name (HeaderOf takes a map's
// order).
func normalize(e *Entry) *Entry {
	c := *e
	m := http.Header{}
	e.Header.CopyTo(m)
	c.Header = HeaderOf(m)
	slices.SortFunc(c.Header, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	if len(c.Body) == 0 {
		c.Body = nil
	}
	if len(c.URL) == 0 {
		c.URL = nil
	}
	if len(c.VaryKey) == 0 {
		c.VaryKey = nil
	}
	return &c
}

// TestDecodedEntrySize checks that Size covers what a decoded entry really
// holds on the heap besides its encoded value, without overstating it much,
// for responses with few and many header fields.
func TestDecodedEntrySize(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap; skipped in -short mode")
	}
	for _, fields := range []int{0, 1, 6, 20, 50} {
		h := http.Header{}
		for i := range fields {
			h["X-Field-"+strconv.Itoa(i)] = []string{"value of a header field"}
		}
		raw := (&Entry{Kind: KindResponse, Status: 200, Header: HeaderOf(h), Body: make([]byte, 100), URL: make([]byte, 40), Tags: []string{"article:1"}}).Encode()
		const n = 10000
		keep := make([]*Entry, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i], _ = Decode(raw)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		measured := float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(keep)
		size := float64(keep[0].Size())
		t.Logf("%d fields: %.0f bytes measured, Size %.0f", fields, measured, size)
		if size < measured*0.95 || size > measured*1.4 {
			t.Errorf("%d fields: Size %.0f for %.0f bytes measured", fields, size, measured)
		}
	}
}
