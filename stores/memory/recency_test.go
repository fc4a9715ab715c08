package memory

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// collidingHash gives 64 keys four hashes, so that most keys share theirs
// with others: the recency must tell them apart by the keys themselves.
func collidingHash(key string) uint64 { return uint64(key[len(key)-1] % 4) }

// TestRecencyKeepsLeastRecentlyUsedOrder runs random operations on a
// recency and on a plain slice model of an LRU list, with keys whose hashes
// collide, and checks after each that both hold the same entries in the
// same order, and that freed slots are reused rather than the array grown.
func TestRecencyKeepsLeastRecentlyUsedOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := newRecency()
	var model []string // least to most recently used
	sizes := map[string]int64{}
	touch := func(key string) {
		i := slices.Index(model, key)
		model = append(slices.Delete(model, i, i+1), key)
	}
	maxLen := 0
	for op := range 20_000 {
		key := "k" + strconv.Itoa(rng.IntN(64))
		_, inModel := sizes[key]
		switch rng.IntN(5) {
		case 0, 1: // Add
			size := int64(op)
			l.Add(collidingHash(key), key, entry{size: size})
			if inModel {
				touch(key)
			} else {
				model = append(model, key)
			}
			sizes[key] = size
		case 2: // Get
			e, ok := l.Get(collidingHash(key), key)
			if ok != inModel || ok && e.size != sizes[key] {
				t.Fatalf("op %d: Get(%q) = %v, %v; model has %v, %d", op, key, e.size, ok, inModel, sizes[key])
			}
			if ok {
				touch(key)
			}
		case 3: // Remove
			if got := l.Remove(collidingHash(key), key); got != inModel {
				t.Fatalf("op %d: Remove(%q) = %v, want %v", op, key, got, inModel)
			}
			if inModel {
				i := slices.Index(model, key)
				model = slices.Delete(model, i, i+1)
				delete(sizes, key)
			}
		case 4: // RemoveOldest
			k, e, ok := l.RemoveOldest()
			if ok != (len(model) > 0) || ok && (k != model[0] || e.size != sizes[k]) {
				t.Fatalf("op %d: RemoveOldest = %q, %v; model's oldest of %d: %v", op, k, ok, len(model), model)
			}
			if ok {
				model = model[1:]
				delete(sizes, k)
			}
		}
		if !slices.Equal(l.Keys(), model) || l.Len() != len(model) {
			t.Fatalf("op %d: keys %v, want %v", op, l.Keys(), model)
		}
		for k, size := range sizes {
			if e, ok := l.Peek(collidingHash(k), k); !ok || e.size != size {
				t.Fatalf("op %d: Peek(%q) = %d, %v; want %d", op, k, e.size, ok, size)
			}
		}
		if l.Contains(collidingHash("k99"), "k99") {
			t.Fatalf("op %d: holds a key never added", op)
		}
		maxLen = max(maxLen, len(model))
		if len(l.slots) > maxLen+1 {
			t.Fatalf("op %d: %d slots for at most %d entries at once", op, len(l.slots), maxLen)
		}
	}
	l.Purge()
	if l.Len() != 0 || len(l.Keys()) != 0 || len(l.slots) != 1 || len(l.index) != 0 {
		t.Fatalf("after Purge: %d entries, %d slots", l.Len(), len(l.slots))
	}
}

// TestRecencyForgetsRemovedValues: a removed entry's slot keeps no
// reference to its key or value, so that the garbage collector can take
// them while the slot waits to be reused.
func TestRecencyForgetsRemovedValues(t *testing.T) {
	l := newRecency()
	l.Add(1, "a", entry{value: []byte("x"), obj: 1})
	l.Add(1, "b", entry{value: []byte("y")})
	l.Remove(1, "a")
	l.RemoveOldest()
	for i, s := range l.slots[1:] {
		if s.key != "" || s.e.value != nil || s.e.obj != nil || s.chain != 0 {
			t.Fatalf("slot %d still holds %q, %q, %v", i+1, s.key, s.e.value, s.e.obj)
		}
	}
	if len(l.index) != 0 {
		t.Fatalf("index still holds %v", l.index)
	}
}

// TestRecencyGivesBackRoomWhenItShrinks: once most entries have gone, the
// array and index are made anew at the size of what is left, in the same
// order, so that a shard that held many entries once does not keep their
// room for good.
func TestRecencyGivesBackRoomWhenItShrinks(t *testing.T) {
	l := newRecency()
	const n = 10 * minCompact
	for i := range n {
		key := "k" + strconv.Itoa(i)
		l.Add(collidingHash(key), key, entry{size: int64(i)})
	}
	for range n - 100 {
		l.RemoveOldest()
	}
	if l.Len() != 100 || cap(l.slots) > minCompact {
		t.Fatalf("%d entries left in an array of %d slots", l.Len(), cap(l.slots))
	}
	keys := l.Keys()
	for i, k := range keys {
		if want := "k" + strconv.Itoa(n-100+i); k != want {
			t.Fatalf("key %d is %q, want %q: the order changed", i, k, want)
		}
		if e, ok := l.Get(collidingHash(k), k); !ok || e.size != int64(n-100+i) {
			t.Fatalf("Get(%q) = %d, %v after compaction", k, e.size, ok)
		}
	}
}

// TestRecencyKeepsOrderAndKeysThroughCompactions: a recency that grows past
// minCompact and shrinks again, over and over, with keys whose hashes
// collide, holds after every compaction exactly the entries of a model, in
// the same order, each found under its own key.
func TestRecencyKeepsOrderAndKeysThroughCompactions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hash := func(key string) uint64 { return uint64(len(key)*31+int(key[len(key)-1])) % 5 }
	l := newRecency()
	var model []string
	sizes := map[string]int64{}
	check := func(op int) {
		t.Helper()
		if !slices.Equal(l.Keys(), model) || l.Len() != len(model) {
			t.Fatalf("op %d: %d keys, model %d; order differs", op, l.Len(), len(model))
		}
		for k, size := range sizes {
			if e, ok := l.Peek(hash(k), k); !ok || e.size != size {
				t.Fatalf("op %d: Peek(%q) = %d, %v; want %d", op, k, e.size, ok, size)
			}
		}
		chained := 0
		for _, first := range l.index {
			for i := first; i != 0; i = l.slots[i].chain {
				chained++
			}
		}
		if chained != len(model) {
			t.Fatalf("op %d: %d slots on chains, want %d", op, chained, len(model))
		}
	}
	next, compactions := 0, 0
	for op := range 60_000 {
		before := cap(l.slots)
		phase := (op / 6000) % 2 // grow, then shrink
		switch r := rng.IntN(10); {
		case phase == 0 && r < 7 || phase == 1 && r < 2:
			var key string
			if len(model) > 0 && rng.IntN(4) == 0 { // overwrite
				key = model[rng.IntN(len(model))]
				i := slices.Index(model, key)
				model = append(slices.Delete(model, i, i+1), key)
			} else {
				key = "k" + strconv.Itoa(next)
				next++
				model = append(model, key)
			}
			sizes[key] = int64(op)
			l.Add(hash(key), key, entry{size: int64(op)})
		case r < 6 && len(model) > 0: // Remove a random key
			key := model[rng.IntN(len(model))]
			if !l.Remove(hash(key), key) {
				t.Fatalf("op %d: Remove(%q) found nothing", op, key)
			}
			i := slices.Index(model, key)
			model = slices.Delete(model, i, i+1)
			delete(sizes, key)
		case len(model) > 0: // RemoveOldest
			key, e, ok := l.RemoveOldest()
			if !ok || key != model[0] || e.size != sizes[key] {
				t.Fatalf("op %d: RemoveOldest = %q, %d, %v; want %q, %d", op, key, e.size, ok, model[0], sizes[model[0]])
			}
			model = model[1:]
			delete(sizes, key)
		}
		if cap(l.slots) < before {
			compactions++
			check(op)
		} else if op%500 == 0 {
			check(op)
		}
	}
	check(-1)
	if compactions < 3 {
		t.Fatalf("%d compactions; the test wants several", compactions)
	}
	t.Logf("%d compactions", compactions)
}
