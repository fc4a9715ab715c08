package keys

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestVariantMemoBounds: a memo keeps at most maxMemoVariants records, and
// none larger than maxMemoBytes — request values are the client's to
// choose, and must not be held outside the store's budget.
func TestVariantMemoBounds(t *testing.T) {
	var m Memo
	small := Variant{VaryKey: []byte("en"), Key: "k"}
	big := bytes.Repeat([]byte("x"), maxMemoBytes)
	m.Add(big, small)
	if _, ok := m.Get(big); ok {
		t.Fatal("a record over maxMemoBytes was kept")
	}
	m.Add([]byte("en"), Variant{VaryKey: big, Key: "k"})
	if _, ok := m.Get([]byte("en")); ok {
		t.Fatal("a record whose material is over maxMemoBytes was kept")
	}
	for i := range 2 * maxMemoVariants {
		m.Add([]byte("v"+strconv.Itoa(i)), small)
	}
	if len(m.m) != maxMemoVariants {
		t.Fatalf("%d records, want %d", len(m.m), maxMemoVariants)
	}
	if v, ok := m.Get([]byte("v0")); !ok || v.Key != "k" {
		t.Fatalf("get v0 = %+v, %v", v, ok)
	}
}

// TestVariantMemoBudget: memos share one process-wide budget; a memo's
// share comes back once its index is collected. (No test in this package
// runs in parallel with it, so the count moves only by its own memos and
// the collection of earlier tests'.)
func TestVariantMemoBudget(t *testing.T) {
	defer func(b int64) { memoBudget = b }(memoBudget)
	small := Variant{VaryKey: []byte("en"), Key: "k"}
	cost := memoCost([]byte("v00"), small)
	fill := func() (*Memo, int) {
		m := &Memo{}
		for i := range 20 {
			m.Add(fmt.Appendf(nil, "v%02d", i), small)
		}
		return m, len(m.m)
	}
	start := memoBytes.Load()
	memoBudget = start + 10*cost
	m, n := fill()
	if n != 10 {
		t.Fatalf("%d records kept, want the budget's 10", n)
	}
	if _, n2 := fill(); n2 != 0 {
		t.Fatalf("a second memo kept %d records past the budget", n2)
	}
	runtime.KeepAlive(m)
	m = nil
	for i := 0; i < 100 && memoBytes.Load() > start; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := memoBytes.Load(); got > start {
		t.Fatalf("memo bytes %d after the memos were collected, want at most %d", got, start)
	}
	memoBudget = memoBytes.Load() + 10*cost
	if _, n := fill(); n != 10 {
		t.Fatalf("%d records kept once the budget came back, want 10", n)
	}
}

// TestVariantMemoAnswersEachValuesOwnVariant: the record a Get found last,
// which answers the next Get with the same values, never answers other
// values, however requests alternate and race.
func TestVariantMemoAnswersEachValuesOwnVariant(t *testing.T) {
	var m Memo
	values := []string{"gzip", "gzip, br", "", "br"}
	for _, v := range values {
		m.Add([]byte(v), Variant{VaryKey: []byte(v), Key: "k:" + v})
	}
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := range 1000 {
				v := values[(i+g)%len(values)]
				if i%3 == 0 {
					v = values[g] // runs of one value too
				}
				got, found := m.Get([]byte(v))
				if !found || got.Key != "k:"+v || string(got.VaryKey) != v {
					t.Errorf("Get(%q) = %+v, %v", v, got, found)
					ok = false
					break
				}
				if _, found := m.Get([]byte(v + "x")); found {
					t.Errorf("Get(%q) found a record", v+"x")
					ok = false
					break
				}
			}
			done <- ok
		}()
	}
	for range 4 {
		<-done
	}
}
