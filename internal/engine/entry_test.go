package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/rfc9111"
)

// t0 is the time sample entries were fetched.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func sampleEntry() *entry {
	return &entry{
		kind:   kindResponse,
		status: 200,
		header: http.Header{
			"Content-Type":  {"text/html; charset=utf-8"},
			"Cache-Control": {"max-age=60"},
			"X-Multi":       {"a", "b"},
			"X-Empty":       {""},
		},
		body:                 []byte("<p>hello</p>"),
		requestTime:          t0.UnixNano(),
		responseTime:         t0.Add(time.Millisecond).UnixNano(),
		initialAge:           3 * time.Second,
		lifetime:             time.Minute,
		expires:              t0.Add(time.Minute).UnixNano(),
		staleWhileRevalidate: 10 * time.Second,
		staleIfError:         time.Hour,
		flags:                rfc9111.FlagMustRevalidate,
		url:                  []byte("G\x04http\x0bexample.com\x01/e"),
		epoch:                0xdeadbeefcafe,
		seq:                  42,
		varyNames:            []string{"Accept-Encoding", "Accept-Language"},
		varyKey:              []byte("\x0faccept-encoding\x01\x04gzip"),
		tags:                 []string{"article:42", "author:7"},
	}
}

// TestEntryRoundTrip: a response entry, a Vary index and a bodiless
// response decode to what was encoded.
func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []*entry{
		sampleEntry(),
		{kind: kindIndex, url: []byte("u"), varyNames: []string{"Cookie"}, epoch: 1, header: http.Header{}},
		{kind: kindResponse, status: 204, header: http.Header{}},
	} {
		got, err := decodeEntry(e.encode())
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
		}
	}
}

// TestEntryDecodeRejects: values that are not entries (empty, short,
// text, another magic or version, a flipped bit, truncated, trailing
// garbage, an unknown kind, a CRLF in a header value) fail to decode
// instead of being served.
func TestEntryDecodeRejects(t *testing.T) {
	good := sampleEntry().encode()
	reseal := func(b []byte) []byte { // fix the checksum after tampering
		b = bytes.Clone(b[:len(b)-checksumLen])
		return appendChecksum(b)
	}
	withHeader := func(hd http.Header) []byte {
		e := sampleEntry()
		e.header = hd
		return e.encode()
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
			e, err := decodeEntry(tc.b)
			if !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("decodeEntry = %v, %v; want ErrCorruptEntry", e, err)
			}
		})
	}
	// Every truncation of a good entry is rejected.
	for n := range len(good) {
		if _, err := decodeEntry(good[:n]); !errors.Is(err, ErrCorruptEntry) {
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
	f.Add(sampleEntry().encode(), false)
	f.Add((&entry{kind: kindIndex, varyNames: []string{"Accept"}, header: http.Header{}}).encode(), false)
	f.Add([]byte{0x89, 'H', 'C', 'E', 1, 1, 0, 0, 200}, true)
	f.Add([]byte("not an entry"), false)
	f.Fuzz(func(t *testing.T, b []byte, seal bool) {
		if seal {
			b = appendChecksum(bytes.Clone(b))
		}
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("error does not wrap ErrCorruptEntry: %v", err)
			}
			return
		}
		again, err := decodeEntry(e.encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(e)) {
			t.Fatalf("unstable round trip:\n%+v\n%+v", e, again)
		}
	})
}

// normalize maps empty slices to nil, which the encoding does not tell apart.
func normalize(e *entry) *entry {
	c := *e
	if len(c.body) == 0 {
		c.body = nil
	}
	if len(c.url) == 0 {
		c.url = nil
	}
	if len(c.varyKey) == 0 {
		c.varyKey = nil
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
		raw := (&entry{kind: kindResponse, status: 200, header: h, body: make([]byte, 100), url: make([]byte, 40), tags: []string{"article:1"}}).encode()
		const n = 10000
		keep := make([]*entry, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i], _ = decodeEntry(raw)
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
