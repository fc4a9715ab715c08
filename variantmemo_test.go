package httpcache

import (
	"bytes"
	"strconv"
	"testing"
)

// TestVariantMemoBounds: a memo keeps at most maxMemoVariants records, and
// none larger than maxMemoBytes — request values are the client's to
// choose, and must not be held outside the store's budget.
func TestVariantMemoBounds(t *testing.T) {
	var m variantMemo
	small := memoVariant{varyKey: []byte("en"), key: "k"}
	big := bytes.Repeat([]byte("x"), maxMemoBytes)
	m.add(big, small)
	if _, ok := m.get(big); ok {
		t.Fatal("a record over maxMemoBytes was kept")
	}
	m.add([]byte("en"), memoVariant{varyKey: big, key: "k"})
	if _, ok := m.get([]byte("en")); ok {
		t.Fatal("a record whose material is over maxMemoBytes was kept")
	}
	for i := range 2 * maxMemoVariants {
		m.add([]byte("v"+strconv.Itoa(i)), small)
	}
	if len(m.m) != maxMemoVariants {
		t.Fatalf("%d records, want %d", len(m.m), maxMemoVariants)
	}
	if v, ok := m.get([]byte("v0")); !ok || v.key != "k" {
		t.Fatalf("get v0 = %+v, %v", v, ok)
	}
}
