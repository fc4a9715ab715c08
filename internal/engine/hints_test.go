package engine

import (
	"strconv"
	"strings"
	"testing"

	"github.com/seedcache/httpcache/internal/entry"
)

// indexFor encodes and decodes a Vary index for a URL of the given length.
func indexFor(t *testing.T, urlLen int, epoch uint64) ([]byte, *entry.Entry) {
	t.Helper()
	raw := (&entry.Entry{Kind: entry.KindIndex, URL: []byte(strings.Repeat("u", urlLen)), VaryNames: []string{"Accept-Language"}, Epoch: epoch}).Encode()
	e, err := entry.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, e
}

// TestVaryHintsBoundedInBytes: however many URLs with long queries a client
// requests, the Vary hints hold at most hintBudget bytes, and an index too
// large to be worth a hint is not kept.
func TestVaryHintsBoundedInBytes(t *testing.T) {
	var h hints
	h.init()
	for i := range 20000 {
		raw, e := indexFor(t, 1500, uint64(i))
		h.learn("k"+strconv.Itoa(i), raw, e)
		if b := h.bytes.Load(); b > hintBudget {
			t.Fatalf("after %d indexes the hints hold %d bytes, over the %d budget", i+1, b, hintBudget)
		}
	}
	if n := h.cache.Len(); n == 0 || n >= 20000 {
		t.Fatalf("%d hints kept", n)
	}
	var sum int64
	for _, k := range h.cache.Keys() {
		v, _ := h.cache.Peek(k)
		sum += v.cost
	}
	if sum != h.bytes.Load() {
		t.Fatalf("hints cost %d, counted %d", sum, h.bytes.Load())
	}

	raw, e := indexFor(t, 8000, 1)
	h.learn("large", raw, e)
	if _, ok := h.get("large"); ok {
		t.Fatal("an index over maxHintIndex was hinted")
	}
}

// TestVaryHintReplacedAndForgotten: learning a key again replaces its hint
// (counted once), a non-index forgets it, and the hint matches only the
// value it was learnt from.
func TestVaryHintReplacedAndForgotten(t *testing.T) {
	var h hints
	h.init()
	raw1, e1 := indexFor(t, 100, 1)
	raw2, e2 := indexFor(t, 100, 2)
	h.learn("k", raw1, e1)
	one := h.bytes.Load()
	h.learn("k", raw2, e2)
	if h.bytes.Load() != one || h.cache.Len() != 1 {
		t.Fatalf("replaced: %d bytes (want %d), %d hints", h.bytes.Load(), one, h.cache.Len())
	}
	got, ok := h.get("k")
	if !ok || got.index != e2 || !h.matches(got, raw2) || h.matches(got, raw1) {
		t.Fatal("the hint does not match exactly the value it was learnt from")
	}
	h.learn("k", nil, nil)
	if _, ok := h.get("k"); ok || h.bytes.Load() != 0 {
		t.Fatalf("forgotten: still hinted, or %d bytes counted", h.bytes.Load())
	}
}
